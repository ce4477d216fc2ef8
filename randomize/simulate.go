package randomize

import (
	"encoding/binary"
	"math"
	"runtime"
	"sort"
	"sync"
)

// Summary describes a design's behaviour over simulated trials.
type Summary struct {
	Method string `json:"method"`
	Units  int    `json:"units"`
	Reps   int    `json:"reps"`
	// Final imbalance: max − min over groups of n_g − n·r_g/R (|n0 − n1|
	// for two groups 1:1), over the reps.
	ImbalanceMean float64 `json:"imbalance_mean"`
	ImbalanceP50  float64 `json:"imbalance_p50"`
	ImbalanceP95  float64 `json:"imbalance_p95"`
	ImbalanceMax  float64 `json:"imbalance_max"`
	// Imbalance within strata (all factors crossed): the mean over reps of
	// the largest stratum imbalance, and the largest seen.
	StratumImbalanceMean float64 `json:"stratum_imbalance_mean"`
	StratumImbalanceMax  float64 `json:"stratum_imbalance_max"`
	// Expected share of allocations guessed right by someone who knows the
	// past allocations (convergence strategy; ties guessed at random).
	CorrectGuess float64 `json:"correct_guess"`
	// Share of allocations forced by the history.
	Deterministic float64 `json:"deterministic"`
}

// Simulate runs reps trials of n units through d. Each unit's factor
// levels are drawn uniformly. Rep i draws from streams labelled by i, and
// reps run on every core: the result is the same for a given seed
// whatever the number of cores.
func Simulate(d Design, n, reps int, seed [32]byte) (Summary, error) {
	if err := d.Validate(); err != nil {
		return Summary{}, err
	}
	if d.Method == Complete {
		// A complete design is planned for the simulated size.
		sum := d.ratioSum()
		d.SampleSize = (n + sum - 1) / sum * sum
	}
	type rep struct {
		imb, stratMax, guess, det float64
	}
	out := make([]rep, reps)
	workers := min(runtime.GOMAXPROCS(0), reps)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			profile := make([]int, len(d.Levels))
			for i := w; i < reps; i += workers {
				var lab [8]byte
				binary.BigEndian.PutUint64(lab[:], uint64(i))
				repSeed := deriveSeed(seed, "rep:"+string(lab[:]))
				s, err := New(d, repSeed)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				units := NewSource(repSeed, "units")
				strata := map[string][]int{}
				var guess, det float64
				for u := 0; u < n; u++ {
					for f, l := range d.Levels {
						profile[f] = units.IntN(l)
					}
					g := s.Guess(profile)
					a, err := s.Next(profile)
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					for _, x := range g {
						if x == a.Group {
							guess += 1 / float64(len(g))
						}
					}
					if a.Deterministic {
						det++
					}
					k := StratumKey(profile)
					if strata[k] == nil {
						strata[k] = make([]int, len(d.Ratio))
					}
					strata[k][a.Group]++
				}
				r := rep{imb: Imbalance(s.counts, d.Ratio), guess: guess / float64(n), det: det / float64(n)}
				for _, c := range strata {
					r.stratMax = math.Max(r.stratMax, Imbalance(c, d.Ratio))
				}
				out[i] = r
			}
		}(w)
	}
	wg.Wait()
	if firstErr != nil {
		return Summary{}, firstErr
	}
	sum := Summary{Method: d.Method, Units: n, Reps: reps}
	imbs := make([]float64, reps)
	for i, r := range out {
		imbs[i] = r.imb
		sum.ImbalanceMean += r.imb
		sum.StratumImbalanceMean += r.stratMax
		sum.StratumImbalanceMax = math.Max(sum.StratumImbalanceMax, r.stratMax)
		sum.CorrectGuess += r.guess
		sum.Deterministic += r.det
	}
	f := float64(reps)
	sum.ImbalanceMean /= f
	sum.StratumImbalanceMean /= f
	sum.CorrectGuess /= f
	sum.Deterministic /= f
	sort.Float64s(imbs)
	sum.ImbalanceP50 = quantile(imbs, 0.5)
	sum.ImbalanceP95 = quantile(imbs, 0.95)
	sum.ImbalanceMax = imbs[len(imbs)-1]
	return sum, nil
}

// Imbalance is max − min over groups of n_g − n·r_g/R: how far the counts
// are from the ratio (|n0 − n1| for two groups 1:1).
func Imbalance(n, ratio []int) float64 {
	total, rs := 0, 0
	for g := range n {
		total += n[g]
		rs += ratio[g]
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for g := range n {
		dev := float64(n[g]) - float64(total)*float64(ratio[g])/float64(rs)
		lo, hi = math.Min(lo, dev), math.Max(hi, dev)
	}
	return hi - lo
}

// quantile of sorted x (type 7, as R's default).
func quantile(x []float64, p float64) float64 {
	h := (float64(len(x)) - 1) * p
	lo := math.Floor(h)
	if int(lo)+1 >= len(x) {
		return x[len(x)-1]
	}
	return x[int(lo)] + (h-lo)*(x[int(lo)+1]-x[int(lo)])
}

func deriveSeed(seed [32]byte, label string) [32]byte {
	s := NewSource(seed, label)
	var out [32]byte
	for i := 0; i < 4; i++ {
		binary.BigEndian.PutUint64(out[i*8:], s.Uint64())
	}
	return out
}
