package analysis

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// Attrition is the response to a wave by group and the test of
// differential attrition.
type Attrition struct {
	N0         int     `json:"n0"`
	Responded0 int     `json:"responded0"`
	N1         int     `json:"n1"`
	Responded1 int     `json:"responded1"`
	Rate0      float64 `json:"rate0"`
	Rate1      float64 `json:"rate1"`
	Test       Result  `json:"test"` // difference in response rates, Welch
}

// AttritionTest compares response rates (responded: 1 or 0) between the
// groups: the difference in means of the response indicator.
func AttritionTest(responded, z []float64) (Attrition, error) {
	var a Attrition
	if len(responded) != len(z) {
		return a, ErrLength
	}
	for i, r := range responded {
		if r != 0 && r != 1 {
			return a, fmt.Errorf("analysis: responded[%d] = %v is not 0 or 1", i, r)
		}
		if z[i] == 1 {
			a.N1++
			a.Responded1 += int(r)
		} else {
			a.N0++
			a.Responded0 += int(r)
		}
	}
	if a.N0 == 0 || a.N1 == 0 {
		return a, fmt.Errorf("%w: an empty group", ErrTooFew)
	}
	a.Rate0, a.Rate1 = float64(a.Responded0)/float64(a.N0), float64(a.Responded1)/float64(a.N1)
	if (a.Rate0 == 0 || a.Rate0 == 1) && (a.Rate1 == 0 || a.Rate1 == 1) {
		a.Test = Result{Term: "z", Estimate: a.Rate1 - a.Rate0, PValue: 1}
		if a.Rate0 != a.Rate1 {
			a.Test.PValue = 0
		}
		return a, nil
	}
	t, err := DifferenceInMeans(responded, z, nil, 0.05)
	a.Test = t
	return a, err
}

// LeeBounds are Lee's (2009) sharp bounds on the effect among units that
// would respond whatever their arm, under monotone selection.
type LeeBounds struct {
	Lower   float64 `json:"lower"`
	Upper   float64 `json:"upper"`
	Trim    float64 `json:"trim"`    // share trimmed from the respondents of the arm that responds more
	Trimmed string  `json:"trimmed"` // "treatment" or "control"
	Q0      float64 `json:"response_rate0"`
	Q1      float64 `json:"response_rate1"`
}

// Lee computes Lee bounds. y is NaN where the outcome is missing (the unit
// did not respond). The arm with the higher response rate q has its
// respondents trimmed by p = (q_high − q_low)/q_high from the top (lower
// bound) or the bottom (upper bound) of its outcome distribution;
// trimming is fractional (a boundary observation keeps part of its
// weight), which also serves binary outcomes.
func Lee(y, z []float64) (LeeBounds, error) {
	if len(y) != len(z) {
		return LeeBounds{}, ErrLength
	}
	var w leeWork
	var n [2]float64
	for i, v := range y {
		a := int(z[i])
		if a != 0 && a != 1 {
			return LeeBounds{}, fmt.Errorf("analysis: z[%d] = %v is not 0 or 1", i, z[i])
		}
		n[a]++
		if !math.IsNaN(v) {
			w.r[a] = append(w.r[a], v)
		}
	}
	return w.bounds(n)
}

// leeWork holds Lee's respondents by arm and its sorting, reused from one
// bootstrap resample to the next.
type leeWork struct {
	r      [2][]float64 // the respondents' outcomes by arm, in unit order
	sorted []float64
	count  []int
}

// bounds are the Lee bounds of w.r, n units in each arm.
func (w *leeWork) bounds(n [2]float64) (LeeBounds, error) {
	r := w.r
	if len(r[0]) == 0 || len(r[1]) == 0 {
		return LeeBounds{}, fmt.Errorf("%w: no respondents in a group", ErrTooFew)
	}
	b := LeeBounds{Q0: float64(len(r[0])) / n[0], Q1: float64(len(r[1])) / n[1]}
	m0, m1 := mean(r[0]), mean(r[1])
	if b.Q1 >= b.Q0 {
		b.Trim, b.Trimmed = (b.Q1-b.Q0)/b.Q1, "treatment"
		lo, hi := w.trimmedMeans(r[1], b.Trim)
		b.Lower, b.Upper = lo-m0, hi-m0
	} else {
		b.Trim, b.Trimmed = (b.Q0-b.Q1)/b.Q0, "control"
		lo, hi := w.trimmedMeans(r[0], b.Trim)
		b.Lower, b.Upper = m1-hi, m1-lo
	}
	return b, nil
}

// trimmedMeans returns the mean of x without its top share p (low) and
// without its bottom share p (high), trimming fractionally.
func (w *leeWork) trimmedMeans(x []float64, p float64) (low, high float64) {
	keep := float64(len(x)) * (1 - p)
	if lo, count, ok := w.counted(x); ok {
		return countedSum(lo, count, keep, false) / keep, countedSum(lo, count, keep, true) / keep
	}
	s := w.sortedCopy(x)
	return sortedSum(s, keep, false) / keep, sortedSum(s, keep, true) / keep
}

// sortedSum is the sum of the first keep values of sorted s (the last,
// top), the boundary one weighted by what is left of keep.
func sortedSum(s []float64, keep float64, top bool) float64 {
	t, left := 0.0, keep
	for i := 0; i < len(s) && left > 1e-12; i++ {
		v := s[i]
		if top {
			v = s[len(s)-1-i]
		}
		f := math.Min(1, left)
		t += f * v
		left -= f
	}
	return t
}

// counted counts whole numbers in a range no wider than 4n + 64 whose
// every partial sum is a whole number below 2^53 (so exact, in any order):
// count[d] is how many are lo + d. ok is false for any other x.
func (w *leeWork) counted(x []float64) (lo float64, count []int, ok bool) {
	lo, count, ok = w.countWhole(x)
	if ok && max(math.Abs(lo), math.Abs(lo+float64(len(count)-1)))*float64(len(x)) >= 1<<53 {
		return 0, nil, false
	}
	return lo, count, ok
}

// countWhole counts whole numbers in a range no wider than 4n + 64 (0/1
// outcomes, counts: what Lee bounds mostly trim, 500 times over in the
// bootstrap): count[d] is how many are lo + d. ok is false for any other
// x, and for none.
func (w *leeWork) countWhole(x []float64) (lo float64, count []int, ok bool) {
	if len(x) == 0 {
		return 0, nil, false
	}
	lo, hi := x[0], x[0]
	for _, v := range x {
		if v != math.Trunc(v) || math.IsInf(v, 0) {
			return 0, nil, false
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo > float64(4*len(x)+64) {
		return 0, nil, false
	}
	count = w.count[:0]
	for range int(hi-lo) + 1 {
		count = append(count, 0)
	}
	w.count = count
	for _, v := range x {
		count[int(v-lo)]++
	}
	return lo, count, true
}

// countedSum is sortedSum of the values count holds, a value at a time:
// the same bits, since every whole step adds a whole number exactly and
// takes a whole number off keep exactly, as one step per unit does.
func countedSum(lo float64, count []int, keep float64, top bool) float64 {
	t, left := 0.0, keep
	for k := range count {
		d := k
		if top {
			d = len(count) - 1 - k
		}
		c := float64(count[d])
		if c == 0 {
			continue
		}
		if !(left > 1e-12) {
			break
		}
		v := lo + float64(d)
		if left >= c { // c steps of weight 1
			t += c * v
			left -= c
			continue
		}
		m := math.Floor(left) // whole steps, then the boundary's share
		t += m * v
		left -= m
		if left > 1e-12 {
			t += left * v
		}
		break
	}
	return t
}

// sortedCopy returns x sorted, in w's storage: whole numbers in a narrow
// range counted into order (countWhole), the same sorted values in O(n);
// others sorted.
func (w *leeWork) sortedCopy(x []float64) []float64 {
	s := append(w.sorted[:0], x...)
	w.sorted = s
	lo, count, ok := w.countWhole(x)
	if !ok {
		sort.Float64s(s)
		return s
	}
	k := 0
	for d, c := range count {
		for range c {
			s[k] = lo + float64(d)
			k++
		}
	}
	return s
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// LeeBootstrap returns the standard errors of the Lee bounds from B
// resamples of units within arms, draw b from PCG(seed, b).
func LeeBootstrap(y, z []float64, B int, seed uint64) (seLower, seUpper float64, err error) {
	if len(y) != len(z) {
		return 0, 0, ErrLength
	}
	var idx [2][]int
	for i := range z {
		a := int(z[i])
		if a != 0 && a != 1 {
			return 0, 0, fmt.Errorf("analysis: z[%d] = %v is not 0 or 1", i, z[i])
		}
		idx[a] = append(idx[a], i)
	}
	n := [2]float64{float64(len(idx[0])), float64(len(idx[1]))}
	// Each arm's outcomes laid side by side: a resample draws from them
	// directly, one random read a draw instead of two (idx, then y).
	var arm [2][]float64
	for a := range arm {
		arm[a] = make([]float64, len(idx[a]))
		for k, i := range idx[a] {
			arm[a][k] = y[i]
		}
	}
	// Resample b draws from its own stream, PCG(seed, b): the resamples
	// are spread over the cores and gathered in order, the same for any
	// number of cores.
	lo, hi, ok := make([]float64, B), make([]float64, B), make([]bool, B)
	workers := min(runtime.GOMAXPROCS(0), max(B, 1))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A resample is arm 0's units then arm 1's: Lee of it sees
			// each arm's respondents in the order drawn.
			var lw leeWork
			for b := w; b < B; b += workers {
				src := DrawSource(seed, b)
				for a := 0; a < 2; a++ {
					r := lw.r[a][:0]
					for range arm[a] {
						if v := arm[a][src.IntN(len(arm[a]))]; !math.IsNaN(v) {
							r = append(r, v)
						}
					}
					lw.r[a] = r
				}
				lb, err := lw.bounds(n)
				if err != nil {
					continue // a resample without respondents in an arm
				}
				lo[b], hi[b], ok[b] = lb.Lower, lb.Upper, true
			}
		}()
	}
	wg.Wait()
	lows, highs := make([]float64, 0, B), make([]float64, 0, B)
	for b := range B {
		if ok[b] {
			lows, highs = append(lows, lo[b]), append(highs, hi[b])
		}
	}
	if len(lows) < B/2 {
		return 0, 0, fmt.Errorf("%w: most bootstrap resamples lack respondents", ErrTooFew)
	}
	return sd(lows), sd(highs), nil
}

func sd(x []float64) float64 {
	m := mean(x)
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(x)-1))
}

// ImbensManski is the confidence interval for the effect (not for the
// identified set) of Imbens and Manski (2004): [L − c·seL, U + c·seU] with
// c solving Φ(c + (U − L)/max(seL, seU)) − Φ(−c) = 1 − alpha.
func ImbensManski(lower, upper, seLower, seUpper, alpha float64) (float64, float64, error) {
	if upper < lower || seLower <= 0 || seUpper <= 0 {
		return 0, 0, fmt.Errorf("analysis: bounds [%v, %v] with standard errors %v, %v", lower, upper, seLower, seUpper)
	}
	delta := (upper - lower) / math.Max(seLower, seUpper)
	f := func(c float64) float64 { return stdNormal.CDF(c+delta) - stdNormal.CDF(-c) - (1 - alpha) }
	hiC := stdNormal.Quantile(1-alpha/2) + 1e-9
	c := zeroin(0, hiC, f(0), f(hiC), f, 1e-14, 1000)
	return lower - c*seLower, upper + c*seUpper, nil
}

// RiskRatio is p1/p0 for binary outcomes with a delta-method interval on
// the log scale: se(log RR) = √((1 − p1)/(n1 p1) + (1 − p0)/(n0 p0)),
// normal quantiles; the p-value tests log RR = 0.
func RiskRatio(y, z []float64, alpha float64) (Result, error) {
	var c, n [2]float64
	if len(y) != len(z) {
		return Result{}, ErrLength
	}
	for i, v := range y {
		if v != 0 && v != 1 {
			return Result{}, fmt.Errorf("analysis: y[%d] = %v is not 0 or 1", i, v)
		}
		a := int(z[i])
		c[a] += v
		n[a]++
	}
	if c[0] == 0 || c[1] == 0 {
		return Result{}, fmt.Errorf("%w: no events in a group: the risk ratio is not defined", ErrTooFew)
	}
	alpha, err := checkAlpha(alpha)
	if err != nil {
		return Result{}, err
	}
	p1, p0 := c[1]/n[1], c[0]/n[0]
	l := math.Log(p1 / p0)
	se := math.Sqrt((1-p1)/(n[1]*p1) + (1-p0)/(n[0]*p0))
	q := stdNormal.Quantile(1 - alpha/2)
	return Result{Term: "risk_ratio", Estimate: p1 / p0, StdError: se, Statistic: l / se, DF: 0,
		PValue: 2 * stdNormal.Survival(math.Abs(l/se)), ConfLow: math.Exp(l - q*se), ConfHigh: math.Exp(l + q*se)}, nil
}
