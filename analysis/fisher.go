package analysis

import (
	"fmt"
	"math"
)

// Fisher is the result of Fisher's exact test on a 2×2 table.
type Fisher struct {
	PValue    float64 `json:"p_value"`    // two-sided
	OddsRatio float64 `json:"odds_ratio"` // conditional maximum-likelihood estimate
	ConfLow   float64 `json:"conf_low"`
	ConfHigh  float64 `json:"conf_high"`
}

// FisherExact tests independence in the 2×2 table [[n00, n01], [n10, n11]]
// (rows: treatment 0/1; columns: outcome 0/1), as R's fisher.test(table(z,
// y)): the two-sided p-value sums the hypergeometric probabilities not
// larger than the observed one (with R's relative tolerance 1e-7); the odds
// ratio is the conditional MLE under the noncentral hypergeometric
// distribution; the interval inverts the one-sided tests at level
// (1 − conf)/2, the roots found with R's uniroot.
func FisherExact(n00, n01, n10, n11 int, conf float64) (Fisher, error) {
	if n00 < 0 || n01 < 0 || n10 < 0 || n11 < 0 {
		return Fisher{}, fmt.Errorf("analysis: negative count in a 2×2 table")
	}
	if conf == 0 {
		conf = 0.95
	}
	m := n00 + n10 // first column total
	n := n01 + n11 // second column total
	k := n00 + n01 // first row total
	x := n00
	if m+n == 0 {
		return Fisher{}, fmt.Errorf("%w: an empty table", ErrTooFew)
	}
	lo, hi := max(0, k-n), min(k, m)
	support := make([]float64, 0, hi-lo+1)
	logdc := make([]float64, 0, hi-lo+1)
	for s := lo; s <= hi; s++ {
		support = append(support, float64(s))
		logdc = append(logdc, lchoose(m, s)+lchoose(n, k-s)-lchoose(m+n, k))
	}
	dn := func(ncp float64) []float64 {
		d := make([]float64, len(support))
		mx := math.Inf(-1)
		for i := range d {
			d[i] = logdc[i] + math.Log(ncp)*support[i]
			mx = math.Max(mx, d[i])
		}
		sum := 0.0
		for i := range d {
			d[i] = math.Exp(d[i] - mx)
			sum += d[i]
		}
		for i := range d {
			d[i] /= sum
		}
		return d
	}
	mean := func(ncp float64) float64 {
		if ncp == 0 {
			return float64(lo)
		}
		if math.IsInf(ncp, 1) {
			return float64(hi)
		}
		s := 0.0
		for i, p := range dn(ncp) {
			s += support[i] * p
		}
		return s
	}
	pn := func(q float64, ncp float64, upper bool) float64 {
		b2f := func(b bool) float64 {
			if b {
				return 1
			}
			return 0
		}
		switch {
		case ncp == 0 && upper:
			return b2f(q <= float64(lo))
		case ncp == 0:
			return b2f(q >= float64(lo))
		case math.IsInf(ncp, 1) && upper:
			return b2f(q <= float64(hi))
		case math.IsInf(ncp, 1):
			return b2f(q >= float64(hi))
		}
		s := 0.0
		for i, p := range dn(ncp) {
			if (upper && support[i] >= q) || (!upper && support[i] <= q) {
				s += p
			}
		}
		return s
	}
	fx := float64(x)
	var out Fisher
	d := dn(1)
	obs := d[x-lo] * (1 + 1e-7)
	for _, p := range d {
		if p <= obs {
			out.PValue += p
		}
	}
	out.PValue = math.Min(1, out.PValue)
	const tiny = 2.220446049250313e-16
	switch {
	case x == lo:
		out.OddsRatio = 0
	case x == hi:
		out.OddsRatio = math.Inf(1)
	default:
		mu := mean(1)
		switch {
		case mu > fx:
			out.OddsRatio = uniroot(func(t float64) float64 { return mean(t) - fx }, 0, 1)
		case mu < fx:
			out.OddsRatio = 1 / uniroot(func(t float64) float64 { return mean(1/t) - fx }, tiny, 1)
		default:
			out.OddsRatio = 1
		}
	}
	alpha := (1 - conf) / 2
	// upper limit
	if x == hi {
		out.ConfHigh = math.Inf(1)
	} else {
		p := pn(fx, 1, false)
		switch {
		case p < alpha:
			out.ConfHigh = uniroot(func(t float64) float64 { return pn(fx, t, false) - alpha }, 0, 1)
		case p > alpha:
			out.ConfHigh = 1 / uniroot(func(t float64) float64 { return pn(fx, 1/t, false) - alpha }, tiny, 1)
		default:
			out.ConfHigh = 1
		}
	}
	if x == lo {
		out.ConfLow = 0
	} else {
		p := pn(fx, 1, true)
		switch {
		case p > alpha:
			out.ConfLow = uniroot(func(t float64) float64 { return pn(fx, t, true) - alpha }, 0, 1)
		case p < alpha:
			out.ConfLow = 1 / uniroot(func(t float64) float64 { return pn(fx, 1/t, true) - alpha }, tiny, 1)
		default:
			out.ConfLow = 1
		}
	}
	return out, nil
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
