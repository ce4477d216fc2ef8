package analysis

import (
	"fmt"
	"math"
	"sort"
)

// Multiple-testing adjustments, as R's p.adjust.
const (
	Bonferroni = "bonferroni"
	Holm       = "holm"
	Hochberg   = "hochberg"
	BH         = "BH" // Benjamini-Hochberg false discovery rate
	BY         = "BY" // Benjamini-Yekutieli, under any dependence
)

// PAdjust returns the adjusted p-values of p (in the same order):
// Bonferroni min(1, m·p); Holm's step-down max_{j≤i} min(1, (m−j+1)p_(j));
// Hochberg's step-up min_{j≥i} min(1, (m−j+1)p_(j)); BH min_{j≥i}
// min(1, m/j·p_(j)); BY as BH times Σ_{i≤m} 1/i.
func PAdjust(p []float64, method string) ([]float64, error) {
	m := len(p)
	for i, v := range p {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return nil, fmt.Errorf("analysis: p[%d] = %v is not a probability", i, v)
		}
	}
	out := make([]float64, m)
	if m == 0 {
		return out, nil
	}
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	fm := float64(m)
	switch method {
	case Bonferroni:
		for i, v := range p {
			out[i] = math.Min(1, fm*v)
		}
	case Holm:
		run := 0.0
		for r, i := range idx {
			run = math.Max(run, math.Min(1, (fm-float64(r))*p[i]))
			out[i] = run
		}
	case Hochberg, BH, BY:
		q := 1.0
		if method == BY {
			q = 0
			for i := 1; i <= m; i++ {
				q += 1 / float64(i)
			}
		}
		run := math.Inf(1)
		for r := m - 1; r >= 0; r-- {
			i := idx[r]
			var v float64
			if method == Hochberg {
				v = (fm - float64(r)) * p[i]
			} else {
				v = q * fm / float64(r+1) * p[i]
			}
			run = math.Min(run, v)
			out[i] = math.Min(1, run)
		}
	default:
		return nil, fmt.Errorf("analysis: unknown adjustment %q", method)
	}
	return out, nil
}
