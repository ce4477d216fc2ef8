package analysis

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// completeDraw is complete randomization of n units, half treated.
func completeDraw(n int) Draw {
	return func(src *rand.Rand, z []float64) error {
		for i := range z {
			z[i] = 0
		}
		for _, i := range src.Perm(n)[:n/2] {
			z[i] = 1
		}
		return nil
	}
}

func dimStat(y []float64) Statistic {
	return func(z []float64) (float64, error) { return meanDiff(y, z), nil }
}

func meanDiff(y, z []float64) float64 {
	var s [2]float64
	var n [2]float64
	for i, v := range y {
		s[int(z[i])] += v
		n[int(z[i])]++
	}
	return s[1]/n[1] - s[0]/n[0]
}

// TestRIExactEnumeration: with n = 10 (252 assignments) the Monte-Carlo
// p-value is within its error of the exact randomization p-value, computed
// by enumerating every assignment.
func TestRIExactEnumeration(t *testing.T) {
	y := []float64{3.1, 4.2, 2.2, 5.9, 6.1, 1.0, 4.4, 7.3, 2.9, 5.5}
	z := []float64{0, 1, 0, 1, 1, 0, 0, 1, 0, 1}
	obs := math.Abs(meanDiff(y, z))
	count, total := 0, 0
	zz := make([]float64, 10)
	for mask := 0; mask < 1<<10; mask++ {
		ones := 0
		for i := 0; i < 10; i++ {
			zz[i] = float64((mask >> i) & 1)
			ones += (mask >> i) & 1
		}
		if ones != 5 {
			continue
		}
		total++
		if math.Abs(meanDiff(y, zz)) >= obs*(1-1e-12) {
			count++
		}
	}
	exact := float64(count) / float64(total)
	r, err := RandomizationTest(10, dimStat(y), completeDraw(10), z, RIOptions{Draws: 20000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	se := math.Sqrt(exact * (1 - exact) / 20000)
	if math.Abs(r.PValue-exact) > 4.5*se+1e-4 {
		t.Errorf("RI p = %.4f, exact %.4f (%d of %d)", r.PValue, exact, count, total)
	}
}

// TestRISameOnAnyCores: a seed gives the same null distribution whatever
// the number of cores.
func TestRISameOnAnyCores(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := 112
	y, z := make([]float64, n), make([]float64, n)
	for i := range y {
		y[i] = rng.NormFloat64()
		z[i] = float64(i % 2)
	}
	prev := runtime.GOMAXPROCS(1)
	a, _ := RandomizationTest(n, dimStat(y), completeDraw(n), z, RIOptions{Draws: 500, Seed: 9})
	runtime.GOMAXPROCS(3)
	b, _ := RandomizationTest(n, dimStat(y), completeDraw(n), z, RIOptions{Draws: 500, Seed: 9})
	runtime.GOMAXPROCS(prev)
	for i := range a.Null {
		if a.Null[i] != b.Null[i] {
			t.Fatalf("draw %d differs across core counts", i)
		}
	}
	if a.PValue != b.PValue {
		t.Error("p-values differ")
	}
}

// TestRITypeIError: under no effect, p ≤ 0.05 in about 5% of trials.
func TestRITypeIError(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	n, trials, rejected := 40, 400, 0
	for k := 0; k < trials; k++ {
		y, z := make([]float64, n), make([]float64, n)
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		completeDraw(n)(rng, z)
		r, _ := RandomizationTest(n, dimStat(y), completeDraw(n), z, RIOptions{Draws: 199, Seed: uint64(k)})
		if r.PValue <= 0.05 {
			rejected++
		}
	}
	rate := float64(rejected) / float64(trials)
	if math.Abs(rate-0.05) > 4*math.Sqrt(0.05*0.95/float64(trials)) {
		t.Errorf("type-I error %.3f", rate)
	}
}

func TestRIIntervalCoversEffect(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	n := 60
	y, z := make([]float64, n), make([]float64, n)
	completeDraw(n)(rng, z)
	for i := range y {
		y[i] = rng.NormFloat64() + 1.5*z[i]
	}
	grid := []float64{}
	for v := -1.0; v <= 4; v += 0.05 {
		grid = append(grid, v)
	}
	lo, hi, err := RIConfidenceInterval(y, func(y, z []float64) (float64, error) { return meanDiff(y, z), nil }, completeDraw(n), z, grid, 0.05, RIOptions{Draws: 999, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	est := meanDiff(y, z)
	if !(lo < est && est < hi) || hi-lo > 2.5 || hi-lo < 0.3 {
		t.Errorf("interval [%v, %v] around %v", lo, hi, est)
	}
}

// TestStepDown: adjusted p-values are never below the raw ones, monotone
// in the raw order, and with one hypothesis equal to the raw p-value.
func TestStepDown(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	n := 80
	z := make([]float64, n)
	completeDraw(n)(rng, z)
	var stats []Statistic
	for k := 0; k < 5; k++ {
		y := make([]float64, n)
		for i := range y {
			y[i] = rng.NormFloat64() + float64(k)*0.25*z[i]
		}
		stats = append(stats, dimStat(y))
	}
	tests, err := RandomizationTests(n, stats, completeDraw(n), z, RIOptions{Draws: 999, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, adjf := range []func([]*RIResult) ([]float64, error){WestfallYoung, RomanoWolf} {
		adj, err := adjf(tests)
		if err != nil {
			t.Fatal(err)
		}
		for k, tr := range tests {
			if adj[k] < tr.PValue-1e-12 {
				t.Errorf("adjusted %v below raw %v", adj[k], tr.PValue)
			}
		}
		one, _ := adjf(tests[:1])
		if math.Abs(one[0]-tests[0].PValue) > 1e-12 {
			t.Errorf("one hypothesis: %v vs %v", one[0], tests[0].PValue)
		}
	}
}

// TestSimulatePowerAgreesWithAnalytic: with complete randomization and no
// attrition the simulated power is within Monte-Carlo error of
// power.t.test's (the Welch test is close to the pooled one at n = 112).
func TestSimulatePowerAgreesWithAnalytic(t *testing.T) {
	p, se, err := SimulatePower(completeDraw(112), PowerSimOptions{N: 112, Effect: 150, SD: 300, Reps: 4000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := PowerT(56, 150, 300, 0.05)
	if math.Abs(p-want) > 4*se+0.005 {
		t.Errorf("simulated power %.3f ± %.3f, analytic %.3f", p, se, want)
	}
	lost, _, _ := SimulatePower(completeDraw(112), PowerSimOptions{N: 112, Effect: 150, SD: 300, Attrition: 0.3, Reps: 4000, Seed: 1})
	if lost >= p {
		t.Errorf("30%% attrition does not lower power: %.3f vs %.3f", lost, p)
	}
}
