package plan

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/randomize"
	"github.com/rct-trials/rct/trial"
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
		// Outcomes 0-4 share their respondents: 1 is 0/1, 2 counts
		// (some negative), 0, 3 and 4 are not whole numbers (summed in
		// pairs, then alone); 5 holds large whole numbers, 6 is not whole.
		ys := make([][]float64, 7)
		for j := range ys {
			ys[j] = make([]float64, n)
			for i := range ys[j] {
				switch j {
				case 1:
					ys[j][i] = float64(rng.IntN(2))
				case 2:
					ys[j][i] = float64(rng.IntN(44) - 3)
				case 5:
					ys[j][i] = float64(rng.IntN(1<<30) - 1<<29)
				default:
					ys[j][i] = rng.NormFloat64() * 100
				}
				if (j < 5 && i%7 == 0) || (j >= 5 && rng.Float64() < 0.2) {
					ys[j][i] = math.NaN()
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
			// g as bits, as the design's warming keeps a draw: set where g
			// is 1, or (inverted) where it is 0, with the tail's bits set.
			bits, inverted := make([]uint64, (n+63)/64), make([]uint64, (n+63)/64)
			for k := range inverted {
				inverted[k] = ^uint64(0)
			}
			for i, v := range g {
				bits[i/64] |= uint64(v) << (i % 64)
				inverted[i/64] &^= uint64(v) << (i % 64)
			}
			out := make([]float64, len(ys))
			for run := range 4 { // later runs reuse the first's storage
				var err error
				switch run {
				case 2:
					err = b.run(g, out, bits, false)
				case 3:
					err = b.run(g, out, inverted, true)
				default:
					err = b.run(g, out, nil, false)
				}
				if err != nil {
					t.Fatal(err)
				}
				for j, y := range ys {
					want, _ := riStatistic(y, 1, 0, false)(g)
					if out[j] != want {
						t.Fatalf("trial %d outcome %d (binary %v, run %d): batch %v, statistic %v", trial, j, binary, run, out[j], want)
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

// TestRunDrawsShared: the outcomes' tests and the joint balance tests run
// on one set of draws get what each gets on draws of its own, and a
// balance test that fails ends with a note of its own (its first failing
// draw's error, as its own test would stop on one core) while the others
// go on.
func TestRunDrawsShared(t *testing.T) {
	const n = 80
	design := randomize.Design{Method: randomize.StratifiedBlocks, Ratio: []int{1, 1}, BlockSizes: []int{2, 4, 6}, Levels: []int{2, 2}}
	draw, err := PlannedDraw(design, n, 7)
	if err != nil {
		t.Fatal(err)
	}
	d := &Data{Groups: make([]trial.Group, 2), Draw: draw, G: make([]int, n)}
	z := make([]float64, n)
	if err := draw(analysis.DrawSource(99, 0), z); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b := &riBatch{binary: true}
	var ys [][]float64
	for j := range 3 {
		y := make([]float64, n)
		for i := range y {
			d.G[i] = int(z[i])
			y[i] = rng.NormFloat64() + float64(j)*z[i]
			if j == 2 && i%5 == 0 {
				y[i] = math.NaN()
			}
		}
		ys = append(ys, y)
		b.add(y, 1, 0)
	}
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	balanceStat := analysis.JointBalanceStatistic([]analysis.Column{{Name: "x", Values: x}}, analysis.HC2)
	errDraw := errors.New("unit 1 and unit 2 both treated")
	failing := func(g []float64) (float64, error) {
		if g[0] == 1 && g[1] == 1 {
			return 0, errDraw
		}
		return g[2], nil
	}
	errObserved := errors.New("fails on every assignment")
	broken := func([]float64) (float64, error) { return 0, errObserved }

	got := make([]string, 3)
	var soft []softTest
	for k, st := range []analysis.Statistic{balanceStat, failing, broken} {
		soft = append(soft, softTest{stat: st,
			set:  func(p float64) { got[k] = fmt.Sprint(p) },
			note: func(err error) { got[k] = err.Error() }})
	}
	s := Settings{Draws: 500, Seed: 3}
	res, err := runDraws(d, s, "test", b, soft)
	if err != nil {
		t.Fatal(err)
	}
	g := d.groupValues()
	o := analysis.RIOptions{Draws: s.Draws, Seed: s.Seed}
	for j, y := range ys {
		own, err := analysis.RandomizationTest(n, riStatistic(y, 1, 0, false), d.Draw, g, o)
		if err != nil {
			t.Fatal(err)
		}
		if res[j].PValue != own.PValue || !slices.Equal(res[j].Null, own.Null) {
			t.Errorf("outcome %d: p %v shared, %v on its own draws", j, res[j].PValue, own.PValue)
		}
	}
	own, err := analysis.RandomizationTest(n, balanceStat, d.Draw, g, o)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != fmt.Sprint(own.PValue) {
		t.Errorf("joint balance: %s shared, p %v on its own draws", got[0], own.PValue)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if _, err := analysis.RandomizationTest(n, failing, d.Draw, g, o); err == nil || got[1] != err.Error() {
		t.Errorf("failing test: %q shared, %v on its own", got[1], err)
	} else if !strings.HasPrefix(got[1], "draw ") || strings.HasPrefix(got[1], "draw 0:") {
		t.Errorf("failing test: %q: want a later draw's error", got[1])
	}
	if got[2] != errObserved.Error() {
		t.Errorf("broken test: %q, want %q", got[2], errObserved)
	}
}
