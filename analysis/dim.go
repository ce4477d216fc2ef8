package analysis

import (
	"fmt"
	"math"
	"sort"
)

// DifferenceInMeans estimates mean(y | z = 1) − mean(y | z = 0) as
// estimatr's difference_in_means does.
//
// Without blocks: the Welch standard error sqrt(s₁²/n₁ + s₀²/n₀) with
// Welch-Satterthwaite degrees of freedom.
// With blocks: the within-block differences weighted by N_j/N, standard
// error sqrt(Σ (N_j/N)² (s₁ⱼ²/n₁ⱼ + s₀ⱼ²/n₀ⱼ)), degrees of freedom N − 2J.
// Every block needs at least two units in each arm.
func DifferenceInMeans(y, z []float64, blocks []string, alpha float64) (Result, error) {
	if len(y) != len(z) || (blocks != nil && len(blocks) != len(y)) {
		return Result{}, ErrLength
	}
	if err := checkFinite("y", y); err != nil {
		return Result{}, err
	}
	alpha, err := checkAlpha(alpha)
	if err != nil {
		return Result{}, err
	}
	for i, v := range z {
		if v != 0 && v != 1 {
			return Result{}, fmt.Errorf("analysis: treatment z[%d] = %v is not 0 or 1", i, v)
		}
	}
	if blocks == nil {
		d, v, n1, n0, err := armDiff(y, z, nil)
		if err != nil {
			return Result{}, err
		}
		a, b := v[1]/n1, v[0]/n0
		df := (a + b) * (a + b) / (a*a/(n1-1) + b*b/(n0-1))
		return tInference("z", d, math.Sqrt(a+b), df, alpha), nil
	}
	rows := map[string][]int{}
	for i, b := range blocks {
		rows[b] = append(rows[b], i)
	}
	names := make([]string, 0, len(rows))
	for b := range rows {
		names = append(names, b)
	}
	sort.Strings(names)
	N := float64(len(y))
	est, varSum := 0.0, 0.0
	for _, b := range names {
		d, v, n1, n0, err := armDiff(y, z, rows[b])
		if err != nil {
			return Result{}, fmt.Errorf("block %q: %w", b, err)
		}
		w := float64(len(rows[b])) / N
		est += w * d
		varSum += w * w * (v[1]/n1 + v[0]/n0)
	}
	return tInference("z", est, math.Sqrt(varSum), N-2*float64(len(names)), alpha), nil
}

// armDiff returns the difference in means of the rows (all when nil), the
// sample variance in each arm, and the arm sizes.
func armDiff(y, z []float64, rows []int) (float64, [2]float64, float64, float64, error) {
	var sum, sq [2]float64
	var n [2]float64
	each := func(i int) {
		a := int(z[i])
		sum[a] += y[i]
		n[a]++
	}
	if rows == nil {
		for i := range y {
			each(i)
		}
	} else {
		for _, i := range rows {
			each(i)
		}
	}
	if n[0] < 2 || n[1] < 2 {
		return 0, [2]float64{}, 0, 0, fmt.Errorf("%w: each arm needs at least two units (have %v and %v)", ErrTooFew, n[1], n[0])
	}
	mean := [2]float64{sum[0] / n[0], sum[1] / n[1]}
	acc := func(i int) {
		a := int(z[i])
		d := y[i] - mean[a]
		sq[a] += d * d
	}
	if rows == nil {
		for i := range y {
			acc(i)
		}
	} else {
		for _, i := range rows {
			acc(i)
		}
	}
	v := [2]float64{sq[0] / (n[0] - 1), sq[1] / (n[1] - 1)}
	return mean[1] - mean[0], v, n[1], n[0], nil
}

// WelchT is R's t.test(y ~ z): the statistic mean(z = 0) − mean(z = 1) over
// the Welch standard error, Welch-Satterthwaite df and two-sided p-value.
func WelchT(y, z []float64) (Result, error) {
	r, err := DifferenceInMeans(y, z, nil, 0.05)
	if err != nil {
		return r, err
	}
	r.Estimate, r.Statistic = -r.Estimate, -r.Statistic
	r.ConfLow, r.ConfHigh = -r.ConfHigh, -r.ConfLow
	r.Term = "t"
	return r, nil
}
