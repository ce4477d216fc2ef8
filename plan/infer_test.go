package plan

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rct-trials/rct/analysis"
)

// TestRIStatisticExact: the allocation-free statistic is, to the last bit,
// the difference in means and analysis.WelchT of the respondents in the
// contrast's two groups (missing values and other groups left out).
func TestRIStatisticExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		n := 20 + rng.IntN(200)
		y, g := make([]float64, n), make([]float64, n)
		for i := range y {
			y[i] = 1400 + 450*rng.NormFloat64()
			if rng.Float64() < 0.15 {
				y[i] = math.NaN()
			}
			g[i] = float64(rng.IntN(3))
		}
		arm, ref := 2.0, 0.0
		if trial%2 == 1 { // two groups: the draw writes z
			arm, ref = 1, 0
			for i := range g {
				g[i] = float64(rng.IntN(2))
			}
		}
		var yr, zr []float64
		for i, v := range y {
			if !math.IsNaN(v) && (g[i] == arm || g[i] == ref) {
				yr = append(yr, v)
				zr = append(zr, map[bool]float64{true: 1, false: 0}[g[i] == arm])
			}
		}
		var s, c [2]float64
		for k, v := range yr {
			s[int(zr[k])] += v
			c[int(zr[k])]++
		}
		want := s[1]/c[1] - s[0]/c[0]
		got, err := riStatistic(y, arm, ref, false)(g)
		if err != nil || got != want {
			t.Fatalf("trial %d: difference %v, want %v (%v)", trial, got, want, err)
		}
		w, err := analysis.WelchT(yr, zr)
		if err != nil {
			t.Fatal(err)
		}
		got, err = riStatistic(y, arm, ref, true)(g)
		if err != nil || got != w.Statistic {
			t.Fatalf("trial %d: Welch t %v, want %v (%v)", trial, got, w.Statistic, err)
		}
	}
	// The batch of two-group tests gives riStatistic's numbers to the bit,
	// outcomes sharing their respondents or not.
	for trial := range 20 {
		n := 50 + rng.IntN(300)
		g := make([]float64, n)
		for i := range g {
			g[i] = float64(rng.IntN(2))
		}
		ys := make([][]float64, 5)
		for j := range ys {
			ys[j] = make([]float64, n)
			for i := range ys[j] {
				ys[j][i] = rng.NormFloat64() * 100
				if (j < 3 && i%7 == 0) || (j >= 3 && rng.Float64() < 0.2) {
					ys[j][i] = math.NaN() // outcomes 0-2 share their respondents
				}
			}
		}
		for _, binary := range []bool{true, false} {
			b := &riBatch{binary: binary}
			for _, y := range ys {
				b.add(y, 1, 0)
			}
			if binary && len(b.shared) != 3 || !binary && len(b.single) != len(ys) {
				t.Errorf("binary %v: %d respondent sets, %d single tests", binary, len(b.shared), len(b.single))
			}
			out := make([]float64, len(ys))
			for range 2 { // the second run reuses the first's storage
				if err := b.run(g, out); err != nil {
					t.Fatal(err)
				}
				for j, y := range ys {
					want, _ := riStatistic(y, 1, 0, false)(g)
					if out[j] != want {
						t.Fatalf("trial %d outcome %d (binary %v): batch %v, statistic %v", trial, j, binary, out[j], want)
					}
				}
			}
		}
	}
	for _, studentized := range []bool{false, true} {
		st, g := riStatistic([]float64{1, 2, 3, 4, math.NaN()}, 1, 0, studentized), []float64{0, 1, 0, 1, 1}
		if allocs := testing.AllocsPerRun(100, func() { st(g) }); allocs != 0 {
			t.Errorf("%v allocations per draw", allocs)
		}
	}
}
