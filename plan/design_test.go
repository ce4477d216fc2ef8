package plan

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/randomize"
	"github.com/rct-trials/rct/trial"
)

func trialDesign(n int) (randomize.Design, [][]int) {
	d := randomize.Design{Method: randomize.StratifiedBlocks, Ratio: []int{1, 1}, BlockSizes: []int{2, 4, 6}, Levels: []int{2, 2}}
	src := rand.New(rand.NewPCG(1, 1))
	profiles := make([][]int, n)
	for i := range profiles {
		profiles[i] = []int{src.IntN(2), src.IntN(2)}
	}
	return d, profiles
}

// TestDesignDrawKeepsTheDesign: every drawn assignment is balanced within
// each stratum up to half the largest block, as the design guarantees.
func TestDesignDrawKeepsTheDesign(t *testing.T) {
	d, profiles := trialDesign(112)
	draw, err := DesignDraw(d, profiles, []float64{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	z := make([]float64, 112)
	for b := 0; b < 200; b++ {
		if err := draw(rand.New(rand.NewPCG(3, uint64(b))), z); err != nil {
			t.Fatal(err)
		}
		diff := map[string]float64{}
		for i, p := range profiles {
			diff[randomize.StratumKey(p)] += 2*z[i] - 1
		}
		for k, v := range diff {
			if math.Abs(v) > 3 {
				t.Fatalf("draw %d: stratum %s imbalance %v", b, k, v)
			}
		}
	}
}

// TestWarmDrawsSame: a draw replayed ahead (warm) and taken by the tests
// is the draw they would replay themselves, for two groups (one bit a
// unit), three (two bits), a count of units that fills no whole word, and
// minimization (no blocks); whether the tests take the kept draws after
// the warming ends, or race it from the start.
func TestWarmDrawsSame(t *testing.T) {
	two, profiles := trialDesign(131)
	three := randomize.Design{Method: randomize.StratifiedBlocks, Ratio: []int{2, 1, 1}, BlockSizes: []int{4, 8}, Levels: []int{2, 2}}
	mini := randomize.Design{Method: randomize.Minimization, Ratio: []int{1, 1}, Levels: []int{2, 2}, P: 0.8, Imbalance: "range"}
	cases := []struct {
		name   string
		d      randomize.Design
		values []float64
	}{
		{"two groups", two, []float64{1, 0}},
		{"three groups", three, []float64{0, 1, 2}},
		{"minimization", mini, []float64{0, 1}},
	}
	const seed, draws = 7, 300
	for _, c := range cases {
		cold, err := newDesignDraws(c.d, profiles)
		if err != nil {
			t.Fatal(err)
		}
		if err := cold.setValues(c.values); err != nil {
			t.Fatal(err)
		}
		want := make([][]float64, draws)
		for b := range want {
			want[b] = make([]float64, len(profiles))
			// The Replayer's own Assign, written for floats: what a
			// draw is, whether kept or replayed into bytes.
			if err := cold.r.Assign(seedOf(analysis.DrawSource(seed, b)), c.values, want[b]); err != nil {
				t.Fatal(err)
			}
		}
		for _, race := range []bool{false, true} {
			dd, _ := newDesignDraws(c.d, profiles)
			dd.setValues(c.values)
			stop := dd.warm(seed, draws-50) // the last 50 are not kept
			if !race {
				dd.warming.Wait()
				if len(dd.kept) != draws-50 {
					t.Fatalf("%s: %d draws kept, want %d", c.name, len(dd.kept), draws-50)
				}
			}
			var wg sync.WaitGroup
			var withBits atomic.Int64
			for w := 0; w < 2; w++ {
				wg.Go(func() {
					z := make([]float64, len(profiles))
					for b := w; b < draws; b += 2 {
						if err := dd.draw(analysis.DrawSource(seed, b), z); err != nil {
							t.Error(err)
							return
						}
						if !slices.Equal(z, want[b]) {
							t.Errorf("%s (race %v): draw %d differs from its replay", c.name, race, b)
							return
						}
						// A two-group draw, kept or replayed here, is
						// also handed over as bits.
						words, invert := dd.drawBits(z)
						if words != nil {
							withBits.Add(1)
							for i, v := range z {
								if bit := words[i/64]>>(i%64)&1 == 1; (v == 1) != (bit != invert) {
									t.Errorf("%s: draw %d, family %d: z %v, bit %v (invert %v)", c.name, b, i, v, bit, invert)
									return
								}
							}
						}
					}
				})
			}
			wg.Wait()
			wantBits := int64(draws)
			if c.name == "three groups" {
				wantBits = 0
			}
			if got := withBits.Load(); got != wantBits {
				t.Errorf("%s (race %v): %d draws with bits, want %d", c.name, race, got, wantBits)
			}
			stop()
			if dd.kept != nil {
				t.Fatalf("%s: stop kept %d draws", c.name, len(dd.kept))
			}
			if !race && !dd.stopped {
				t.Fatalf("%s: the tests went past the kept draws and the warming was not stopped", c.name)
			}
		}
	}
}

// BenchmarkRI: 10,000 draws of stratified blocks × 30 outcomes, n = 112
// (BENCHMARKS.md; target < 1 s).
func BenchmarkRI(b *testing.B) {
	n := 112
	d, profiles := trialDesign(n)
	draw, _ := DesignDraw(d, profiles, []float64{0, 1})
	z := make([]float64, n)
	draw(rand.New(rand.NewPCG(0, 0)), z)
	src := rand.New(rand.NewPCG(2, 2))
	var stats []analysis.Statistic
	for k := 0; k < 30; k++ {
		y := make([]float64, n)
		for i := range y {
			y[i] = src.NormFloat64()
		}
		stats = append(stats, func(z []float64) (float64, error) {
			var s, c [2]float64
			for i, v := range y {
				s[int(z[i])] += v
				c[int(z[i])]++
			}
			return s[1]/c[1] - s[0]/c[0], nil
		})
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := analysis.RandomizationTests(n, stats, draw, z, analysis.RIOptions{Draws: 10_000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBalanceGroupOfOne: a small trial can leave a group with one family;
// balance then reports why there is no table and no joint test instead of
// failing.
func TestBalanceGroupOfOne(t *testing.T) {
	c := Contrast{ID: "B-A", Names: [2]string{"group A", "group B"}, Arm: 1}
	d := &Data{G: []int{1, 0, 0, 0, 0, 0, 0, 0}, Groups: []trial.Group{{Code: "A"}, {Code: "B", Index: 1}}, Contrasts: []Contrast{c}}
	d.setView(c)
	// As many covariates as families, as in a trial of eight.
	src := rand.New(rand.NewPCG(1, 2))
	for j := 0; j < 8; j++ {
		c := analysis.Column{Name: "x" + string(rune('a'+j)), Values: make([]float64, 8)}
		for i := range c.Values {
			c.Values[i] = src.NormFloat64()
		}
		d.Balance = append(d.Balance, c)
	}
	res, err := Balance(d, Settings{Draws: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Contrasts[0]
	if len(b.Rows) != 0 || !strings.Contains(b.RowsNote, "too few observations") || !strings.Contains(b.JointNote, "no joint test: analysis: too few observations") {
		t.Errorf("%+v", b)
	}
}

// TestJointBalanceOnBits: the joint balance test's randomization p-value
// is the same whether each draw reaches it as z or as the design's bits,
// with the contrast's arm drawn as 1 or as 0 (the bits then inverted),
// and on draws kept by the warming or replayed in place. (The joint F of
// z and of 1 − z are the same, so this holds the count on bits, not the
// inversion: TestJointBalanceStatisticFast holds that.)
func TestJointBalanceOnBits(t *testing.T) {
	const n, draws = 150, 400
	design, profiles := trialDesign(n)
	src := rand.New(rand.NewPCG(3, 4))
	covs := make([]analysis.Column, 3)
	for j := range covs {
		covs[j] = analysis.Column{Name: "x" + string(rune('a'+j)), Values: make([]float64, n)}
		for i := range covs[j].Values {
			covs[j].Values[i] = float64(src.IntN(2 + j))
		}
	}
	g := make([]int, n)
	for i := range g {
		g[i] = src.IntN(2)
	}
	s := Settings{Draws: draws, Seed: 5}
	for _, c := range []Contrast{
		{ID: "B-A", Names: [2]string{"group A", "group B"}, Ref: 0, Arm: 1},
		{ID: "A-B", Names: [2]string{"group B", "group A"}, Ref: 1, Arm: 0},
	} {
		var ps []float64
		for _, how := range []string{"z", "bits", "bits, half kept"} {
			d := &Data{G: g, Groups: []trial.Group{{Code: "A"}, {Code: "B", Index: 1, Ratio: 1}}, Contrasts: []Contrast{c}, Balance: covs, JointSkip: map[string]string{}}
			d.setView(c)
			dd, err := newDesignDraws(design, profiles)
			if err != nil {
				t.Fatal(err)
			}
			if err := dd.setValues(d.codes()); err != nil {
				t.Fatal(err)
			}
			d.Draw = dd.draw
			if how != "z" {
				d.drawBits = dd.drawBits
			}
			if how == "bits, half kept" {
				stop := dd.warm(s.Seed, draws/2)
				dd.warming.Wait()
				defer stop()
			}
			res, err := Balance(d, s)
			if err != nil {
				t.Fatal(err)
			}
			b := res.Contrasts[0]
			if b.JointRI == nil {
				t.Fatalf("%s, %s: no joint p-value: %s", c.ID, how, b.JointNote)
			}
			ps = append(ps, *b.JointRI)
		}
		if ps[0] != ps[1] || ps[0] != ps[2] {
			t.Errorf("%s: joint RI p-value on z, bits, half kept: %v", c.ID, ps)
		}
		t.Logf("%s: %v", c.ID, ps)
	}
}
