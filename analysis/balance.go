package analysis

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// BalanceRow compares one baseline covariate between the groups.
type BalanceRow struct {
	Variable string  `json:"variable"`
	N0       int     `json:"n0"`
	Mean0    float64 `json:"mean0"`
	SD0      float64 `json:"sd0"`
	N1       int     `json:"n1"`
	Mean1    float64 `json:"mean1"`
	SD1      float64 `json:"sd1"`
	Diff     float64 `json:"difference"`            // mean1 − mean0
	NormDiff float64 `json:"normalized_difference"` // (mean1 − mean0)/√((sd1² + sd0²)/2), Imbens and Rubin (2015)
	PValue   float64 `json:"p_value"`               // Welch t test
	// Binary: every value is 0 or 1; Count0 and Count1 are then the number
	// of ones in each group (shown as n (%)).
	Binary bool `json:"binary"`
	Count0 int  `json:"count0"`
	Count1 int  `json:"count1"`
}

// Balance describes each covariate by group (rows with a missing value,
// NaN, are left out of that covariate's row).
func Balance(z []float64, covs []Column) ([]BalanceRow, error) {
	var out []BalanceRow
	for _, c := range covs {
		if len(c.Values) != len(z) {
			return nil, fmt.Errorf("%w: %s", ErrLength, c.Name)
		}
		var y, zz []float64
		for i, v := range c.Values {
			if !math.IsNaN(v) {
				y = append(y, v)
				zz = append(zz, z[i])
			}
		}
		d, v, n1, n0, err := armDiff(y, zz, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		r := BalanceRow{Variable: c.Name, N0: int(n0), N1: int(n1), SD0: math.Sqrt(v[0]), SD1: math.Sqrt(v[1]), Diff: d, Binary: true}
		for i, val := range y {
			if zz[i] == 1 {
				r.Mean1 += val / n1
			} else {
				r.Mean0 += val / n0
			}
			switch {
			case val != 0 && val != 1:
				r.Binary = false
			case val == 1 && zz[i] == 1:
				r.Count1++
			case val == 1:
				r.Count0++
			}
		}
		if s := math.Sqrt((v[0] + v[1]) / 2); s > 0 {
			r.NormDiff = d / s
		}
		if v[0]/n0+v[1]/n1 > 0 {
			w, _ := DifferenceInMeans(y, zz, nil, 0.05)
			r.PValue = w.PValue
		} else {
			r.PValue = 1
		}
		out = append(out, r)
	}
	return out, nil
}

// WaldTest is a joint test that several coefficients are zero.
type WaldTest struct {
	F      float64 `json:"f"`
	DF1    float64 `json:"df1"`
	DF2    float64 `json:"df2"`
	PValue float64 `json:"p_value"`
}

// JointBalance regresses the treatment on the covariates (with an
// intercept) with se-type standard errors and tests that every covariate's
// coefficient is zero: F = b'V⁻¹b/q on (q, n − k) degrees of freedom, as
// estimatr's summary(lm_robust(z ~ covariates))$fstatistic.
func JointBalance(z []float64, covs []Column, se string) (WaldTest, error) {
	X, names, err := Matrix(true, covs...)
	if err != nil {
		return WaldTest{}, err
	}
	f, err := OLS(z, X, names, OLSOptions{SE: se})
	if err != nil {
		return WaldTest{}, err
	}
	return wald(f, 1)
}

// wald tests coefficients from index `from` on.
func wald(f *Fit, from int) (WaldTest, error) {
	q := f.K - from
	b := mat.NewVecDense(q, f.Coef[from:])
	V := mat.NewSymDense(q, nil)
	for i := 0; i < q; i++ {
		for j := i; j < q; j++ {
			V.SetSym(i, j, f.Vcov.At(from+i, from+j))
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(V) {
		return WaldTest{}, fmt.Errorf("%w: the covariance of the tested coefficients is singular", ErrCollinear)
	}
	var x mat.VecDense
	if err := ch.SolveVecTo(&x, b); err != nil {
		return WaldTest{}, err
	}
	F := mat.Dot(b, &x) / float64(q)
	df2 := float64(f.N - f.K)
	p := distuv.F{D1: float64(q), D2: df2}.Survival(F)
	return WaldTest{F: F, DF1: float64(q), DF2: df2, PValue: p}, nil
}

// JointBalanceStatistic is the joint F statistic as a function of the
// assignment, for its randomization-inference version.
func JointBalanceStatistic(covs []Column, se string) Statistic {
	return func(z []float64) (float64, error) {
		w, err := JointBalance(z, covs, se)
		return w.F, err
	}
}
