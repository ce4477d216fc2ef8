package analysis

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Column is a named regressor.
type Column struct {
	Name   string
	Values []float64
}

// Dummies returns one 0/1 column per level of f except the first (in
// sorted order), named name + level, as R's factor coding does.
func Dummies(name string, f []string) []Column {
	levels := map[string]bool{}
	for _, v := range f {
		levels[v] = true
	}
	sorted := make([]string, 0, len(levels))
	for l := range levels {
		sorted = append(sorted, l)
	}
	sort.Strings(sorted)
	var out []Column
	for _, l := range sorted[1:] {
		c := Column{Name: name + l, Values: make([]float64, len(f))}
		for i, v := range f {
			if v == l {
				c.Values[i] = 1
			}
		}
		out = append(out, c)
	}
	return out
}

// Matrix builds X from an intercept (when intercept) and the columns, and
// returns the column names.
func Matrix(intercept bool, cols ...Column) (*mat.Dense, []string, error) {
	n := -1
	for _, c := range cols {
		if n >= 0 && len(c.Values) != n {
			return nil, nil, fmt.Errorf("%w: column %s", ErrLength, c.Name)
		}
		n = len(c.Values)
	}
	if n <= 0 {
		return nil, nil, fmt.Errorf("%w: no data", ErrTooFew)
	}
	k := len(cols)
	var names []string
	if intercept {
		k++
		names = append(names, "(Intercept)")
	}
	X := mat.NewDense(n, k, nil)
	j := 0
	if intercept {
		for i := 0; i < n; i++ {
			X.Set(i, 0, 1)
		}
		j = 1
	}
	for _, c := range cols {
		for i, v := range c.Values {
			X.Set(i, j, v)
		}
		names = append(names, c.Name)
		j++
	}
	return X, names, nil
}

// Lin is Lin's (2013) estimator as estimatr's lm_lin: the covariates are
// centred at their full-sample means and entered with their interactions
// with the treatment; HC2 standard errors by default. The treatment's
// coefficient is the average treatment effect.
func Lin(y, z []float64, covs []Column, o OLSOptions) (*Fit, error) {
	cols := []Column{{Name: "z", Values: z}}
	var inter []Column
	for _, c := range covs {
		if len(c.Values) != len(z) {
			return nil, ErrLength
		}
		m := 0.0
		for _, v := range c.Values {
			m += v
		}
		m /= float64(len(c.Values))
		cc := Column{Name: c.Name + "_c", Values: make([]float64, len(z))}
		ic := Column{Name: "z:" + c.Name + "_c", Values: make([]float64, len(z))}
		for i, v := range c.Values {
			cc.Values[i] = v - m
			ic.Values[i] = z[i] * (v - m)
		}
		cols = append(cols, cc)
		inter = append(inter, ic)
	}
	X, names, err := Matrix(true, append(cols, inter...)...)
	if err != nil {
		return nil, err
	}
	return OLS(y, X, names, o)
}

// CollinearTolerance is the relative size below which a column's part
// outside the span of the columns before it counts as none (R's lm uses
// 1e-7 in its QR decomposition).
const CollinearTolerance = 1e-7

// Independent keeps, in order, the columns that add to the span of an
// intercept (when intercept) and the columns kept before them, and names
// those dropped: constant columns (with an intercept) and linear
// combinations of earlier ones. R's lm and estimatr drop such columns
// (reporting NA); the other coefficients, their standard errors and the
// fit do not depend on which of a collinear set is dropped, so the
// treatment's estimate is the same. A column is measured by its residual
// after projecting it on the kept ones (modified Gram-Schmidt).
func Independent(intercept bool, cols []Column) (kept []Column, dropped []string) {
	var basis [][]float64
	if intercept && len(cols) > 0 {
		n := len(cols[0].Values)
		one := make([]float64, n)
		for i := range one {
			one[i] = 1 / math.Sqrt(float64(n))
		}
		basis = append(basis, one)
	}
	for _, c := range cols {
		r := append([]float64(nil), c.Values...)
		norm := math.Sqrt(dot(r, r))
		for _, b := range basis {
			p := dot(r, b)
			for i := range r {
				r[i] -= p * b[i]
			}
		}
		rn := math.Sqrt(dot(r, r))
		if norm == 0 || rn <= CollinearTolerance*norm {
			dropped = append(dropped, c.Name)
			continue
		}
		for i := range r {
			r[i] /= rn
		}
		basis = append(basis, r)
		kept = append(kept, c)
	}
	return kept, dropped
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
