package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
)

// Draw fills z with a fresh assignment of the trial's own design (the same
// method, strata, blocks or minimization) using only the random source it
// is given: the same source gives the same assignment.
type Draw func(src *rand.Rand, z []float64) error

// Statistic is the test statistic of the outcome under assignment z, e.g.
// the difference in means, or its t statistic for a studentized test.
type Statistic func(z []float64) (float64, error)

// RIOptions configure a randomization test.
type RIOptions struct {
	Draws int    // B, default 10,000
	Seed  uint64 // draws b uses PCG(Seed, b): results do not depend on the number of cores
	// Tick, when set, is called after each draw, from the workers (it must
	// be safe to call concurrently): a command's progress.
	Tick func()
}

// RIResult is a randomization test of the sharp null of no effect for any
// unit.
type RIResult struct {
	Observed float64   `json:"observed"`
	Draws    int       `json:"draws"`
	Count    int       `json:"count"`   // draws with |t_b| ≥ |t_obs|
	PValue   float64   `json:"p_value"` // (count + 1) / (B + 1), two-sided on |t|
	Null     []float64 `json:"-"`       // the B statistics under the null
}

// DrawSource is the random source of draw b (from 0) of the
// randomization tests, or resample b of the bootstrap, seeded with seed:
// PCG(seed, b). Drawing with it again gives what that draw used, on any
// number of cores.
func DrawSource(seed uint64, b int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(b)))
}

// RandomizationTest re-runs the design B times under the sharp null (the
// outcomes stay as observed) and compares |statistic| with the observed
// one: p = (c + 1)/(B + 1), c = #{b : |t_b| ≥ |t_obs|}. Draws run on every
// core; draw b always uses the source PCG(Seed, b).
func RandomizationTest(n int, stat Statistic, draw Draw, z []float64, o RIOptions) (*RIResult, error) {
	res, err := RandomizationTests(n, []Statistic{stat}, draw, z, o)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// RandomizationTests runs one set of draws for several statistics (several
// outcomes): the same assignments for all, which step-down adjustments
// need.
func RandomizationTests(n int, stats []Statistic, draw Draw, z []float64, o RIOptions) ([]*RIResult, error) {
	return RandomizationBatch(n, len(stats), func(z, out []float64) error {
		for k, s := range stats {
			v, err := s(z)
			if err != nil {
				return err
			}
			out[k] = v
		}
		return nil
	}, draw, z, o)
}

// Batch computes k statistics of one assignment at once, into out:
// statistics that share work (the same respondents gathered once) run
// as one. It is called from several goroutines at once.
type Batch func(z, out []float64) error

// RandomizationBatch is RandomizationTests for k statistics computed
// together by batch.
func RandomizationBatch(n, k int, batch Batch, draw Draw, z []float64, o RIOptions) ([]*RIResult, error) {
	if len(z) != n {
		return nil, ErrLength
	}
	B := o.Draws
	if B == 0 {
		B = 10_000
	}
	if B < 1 {
		return nil, fmt.Errorf("analysis: %d draws", B)
	}
	if draw == nil {
		return nil, fmt.Errorf("analysis: no design to draw assignments from")
	}
	obs := make([]float64, k)
	if err := batch(z, obs); err != nil {
		return nil, err
	}
	out := make([]*RIResult, k)
	for j := range out {
		out[j] = &RIResult{Observed: obs[j], Draws: B, Null: make([]float64, B)}
	}
	workers := min(runtime.GOMAXPROCS(0), B)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			zb := make([]float64, n)
			vals := make([]float64, k)
			for b := w; b < B; b += workers {
				if err := draw(DrawSource(o.Seed, b), zb); err != nil {
					errs[w] = err
					return
				}
				if err := batch(zb, vals); err != nil {
					errs[w] = fmt.Errorf("draw %d: %w", b, err)
					return
				}
				for j, v := range vals {
					out[j].Null[b] = v
				}
				if o.Tick != nil {
					o.Tick()
				}
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, r := range out {
		a := math.Abs(r.Observed) * (1 - 1e-12) // ties within rounding count as ≥
		for _, v := range r.Null {
			if math.Abs(v) >= a {
				r.Count++
			}
		}
		r.PValue = float64(r.Count+1) / float64(B+1)
	}
	return out, nil
}

// RIConfidenceInterval inverts randomization tests of constant effects τ
// over grid: under H0(τ) every unit's outcome without treatment is
// y − τz, so the test of no effect on y − τz, with the same draws for every
// τ, tests H0(τ). The interval runs from the smallest to the largest τ not
// rejected at alpha. stat computes the statistic from outcomes and an
// assignment.
func RIConfidenceInterval(y []float64, stat func(y, z []float64) (float64, error), draw Draw, z []float64, grid []float64, alpha float64, o RIOptions) (lo, hi float64, err error) {
	n := len(y)
	if len(z) != n {
		return 0, 0, ErrLength
	}
	B := o.Draws
	if B == 0 {
		B = 10_000
	}
	zs := make([][]float64, B)
	for b := range zs {
		zs[b] = make([]float64, n)
		if err := draw(DrawSource(o.Seed, b), zs[b]); err != nil {
			return 0, 0, err
		}
	}
	lo, hi = math.NaN(), math.NaN()
	adj := make([]float64, n)
	for _, tau := range grid {
		for i := range y {
			adj[i] = y[i] - tau*z[i]
		}
		obs, err := stat(adj, z)
		if err != nil {
			return 0, 0, err
		}
		c := 0
		for _, zb := range zs {
			v, err := stat(adj, zb)
			if err != nil {
				return 0, 0, err
			}
			if math.Abs(v) >= math.Abs(obs)*(1-1e-12) {
				c++
			}
		}
		if p := float64(c+1) / float64(B+1); p > alpha {
			if math.IsNaN(lo) {
				lo = tau
			}
			hi = tau
		}
	}
	if math.IsNaN(lo) {
		return lo, hi, fmt.Errorf("analysis: every value of the grid is rejected: widen it")
	}
	return lo, hi, nil
}

// WestfallYoung is the free step-down adjustment (Westfall and Young 1993,
// minP) of several randomization tests that share their draws: for the
// j-th smallest p-value, the share of draws whose smallest per-draw
// p-value over hypotheses j..K is as small, made monotone.
func WestfallYoung(tests []*RIResult) ([]float64, error) {
	return stepDown(tests, true)
}

// RomanoWolf is the step-down adjustment of Romano and Wolf (2005) on the
// |statistics| of tests that share their draws: for the j-th largest
// |t|, the share of draws whose largest |t_b| over hypotheses j..K
// reaches it, made monotone. Statistics should be studentized when the
// outcomes' scales differ.
func RomanoWolf(tests []*RIResult) ([]float64, error) {
	return stepDown(tests, false)
}

func stepDown(tests []*RIResult, minP bool) ([]float64, error) {
	K := len(tests)
	if K == 0 {
		return nil, nil
	}
	B := tests[0].Draws
	for _, t := range tests {
		if t.Draws != B || len(t.Null) != B {
			return nil, fmt.Errorf("analysis: step-down adjustment needs tests that share their draws")
		}
	}
	// score: larger is more extreme. For minP, a draw's per-hypothesis
	// p-value p_b = (#{b' : |t_b'| ≥ |t_b|})/B turned into −p.
	score := make([][]float64, K) // [k][b]
	obs := make([]float64, K)
	for k, t := range tests {
		score[k] = make([]float64, B)
		if minP {
			abs := make([]float64, B)
			for b, v := range t.Null {
				abs[b] = math.Abs(v)
			}
			sorted := append([]float64(nil), abs...)
			sort.Float64s(sorted)
			pOf := func(a float64) float64 {
				i := sort.SearchFloat64s(sorted, a*(1-1e-12))
				return float64(B-i) / float64(B)
			}
			for b := range abs {
				score[k][b] = -pOf(abs[b])
			}
			obs[k] = -t.PValue
		} else {
			for b, v := range t.Null {
				score[k][b] = math.Abs(v)
			}
			obs[k] = math.Abs(t.Observed)
		}
	}
	order := make([]int, K)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return obs[order[a]] > obs[order[b]] })
	adj := make([]float64, K)
	succ := make([]float64, B) // max over the hypotheses from j on
	for i := range succ {
		succ[i] = math.Inf(-1)
	}
	pj := make([]float64, K)
	for j := K - 1; j >= 0; j-- {
		k := order[j]
		c := 0
		for b := 0; b < B; b++ {
			succ[b] = math.Max(succ[b], score[k][b])
			if succ[b] >= obs[k]-1e-12*math.Abs(obs[k]) {
				c++
			}
		}
		pj[j] = float64(c+1) / float64(B+1)
	}
	run := 0.0
	for j := 0; j < K; j++ {
		run = math.Max(run, pj[j])
		adj[order[j]] = math.Min(1, run)
	}
	return adj, nil
}
