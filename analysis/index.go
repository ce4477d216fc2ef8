package analysis

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// AndersonIndex is the summary index of Anderson (2008) over a family of
// outcomes: each outcome is standardised by the control group's mean and
// standard deviation (and sign-flipped where lower is better, flip[k]),
// and the standardised outcomes are averaged with weights equal to the row
// sums of the inverse of their covariance matrix (computed on complete
// rows), so that highly correlated outcomes count less. A unit with some
// outcomes missing gets the weighted mean of those it has; with none, NaN.
func AndersonIndex(outcomes []Column, flip []bool, z []float64) ([]float64, error) {
	K := len(outcomes)
	if K == 0 {
		return nil, fmt.Errorf("%w: no outcomes", ErrTooFew)
	}
	n := len(z)
	std := make([][]float64, K)
	for k, c := range outcomes {
		if len(c.Values) != n {
			return nil, fmt.Errorf("%w: %s", ErrLength, c.Name)
		}
		var ctrl []float64
		for i, v := range c.Values {
			if z[i] == 0 && !math.IsNaN(v) {
				ctrl = append(ctrl, v)
			}
		}
		if len(ctrl) < 2 {
			return nil, fmt.Errorf("%w: %s has fewer than two control values", ErrTooFew, c.Name)
		}
		m, s := mean(ctrl), sd(ctrl)
		if s == 0 {
			return nil, fmt.Errorf("%w: %s does not vary in the control group", ErrNoVar, c.Name)
		}
		std[k] = make([]float64, n)
		for i, v := range c.Values {
			std[k][i] = (v - m) / s
			if flip != nil && flip[k] {
				std[k][i] = -std[k][i]
			}
		}
	}
	// Covariance on complete rows.
	var rows []int
	for i := 0; i < n; i++ {
		ok := true
		for k := 0; k < K; k++ {
			ok = ok && !math.IsNaN(std[k][i])
		}
		if ok {
			rows = append(rows, i)
		}
	}
	if len(rows) <= K {
		return nil, fmt.Errorf("%w: %d complete rows for %d outcomes", ErrTooFew, len(rows), K)
	}
	S := mat.NewSymDense(K, nil)
	for a := 0; a < K; a++ {
		ma := 0.0
		for _, i := range rows {
			ma += std[a][i]
		}
		ma /= float64(len(rows))
		for b := a; b < K; b++ {
			mb := 0.0
			for _, i := range rows {
				mb += std[b][i]
			}
			mb /= float64(len(rows))
			c := 0.0
			for _, i := range rows {
				c += (std[a][i] - ma) * (std[b][i] - mb)
			}
			S.SetSym(a, b, c/float64(len(rows)-1))
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(S) {
		return nil, fmt.Errorf("%w: the outcomes' covariance matrix is singular", ErrCollinear)
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, err
	}
	w := make([]float64, K)
	for a := 0; a < K; a++ {
		for b := 0; b < K; b++ {
			w[a] += inv.At(a, b)
		}
	}
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		num, den := 0.0, 0.0
		for k := 0; k < K; k++ {
			if !math.IsNaN(std[k][i]) {
				num += w[k] * std[k][i]
				den += w[k]
			}
		}
		out[i] = math.NaN()
		if den != 0 {
			out[i] = num / den
		}
	}
	return out, nil
}

// SharpenedQ returns the sharpened two-stage q-values of Benjamini,
// Krieger and Yekutieli (2006) as computed by Anderson's (2008) code: for
// q from 1 down to 0.001 in steps of 0.001, the two-stage procedure at
// level q (first stage BH at q/(1+q), second stage at that level times
// m/(m − r₁)); a hypothesis' q-value is the smallest q at which it is
// rejected. Ranks are average ranks, as Stata's egen rank.
func SharpenedQ(p []float64) ([]float64, error) {
	m := len(p)
	for i, v := range p {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return nil, fmt.Errorf("analysis: p[%d] = %v is not a probability", i, v)
		}
	}
	rank := averageRanks(p)
	out := make([]float64, m)
	for i := range out {
		out[i] = 1
	}
	fm := float64(m)
	for step := 1000; step >= 1; step-- {
		q := float64(step) / 1000
		q1 := q / (1 + q)
		r1 := 0.0
		for i := range p {
			if q1*rank[i]/fm >= p[i] {
				r1 = math.Max(r1, rank[i])
			}
		}
		q2 := q1 * fm / (fm - r1)
		r2 := 0.0
		for i := range p {
			if q2*rank[i]/fm >= p[i] {
				r2 = math.Max(r2, rank[i])
			}
		}
		for i := range p {
			if rank[i] <= r2 {
				out[i] = q
			}
		}
	}
	return out, nil
}

func averageRanks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}
