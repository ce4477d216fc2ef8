package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestSortedCopy: counting whole numbers gives what sorting gives, and
// other values (fractions, wide ranges, infinities) are sorted; x is left
// as it was.
func TestSortedCopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := map[string]func(i int) float64{
		"0/1":         func(int) float64 { return float64(rng.IntN(2)) },
		"counts":      func(int) float64 { return float64(rng.IntN(40) - 5) },
		"wide":        func(int) float64 { return float64(rng.IntN(1 << 30)) },
		"fractions":   func(int) float64 { return rng.NormFloat64() },
		"one inf":     func(i int) float64 { return map[bool]float64{true: math.Inf(1), false: 3}[i == 2] },
		"negative 0s": func(i int) float64 { return map[bool]float64{true: math.Copysign(0, -1), false: 1}[i%3 == 0] },
	}
	for name, gen := range cases {
		for _, n := range []int{0, 1, 7, 1000} {
			x := make([]float64, n)
			for i := range x {
				x[i] = gen(i)
			}
			before := slices.Clone(x)
			want := slices.Clone(x)
			sort.Float64s(want)
			got := new(leeWork).sortedCopy(x)
			if !slices.Equal(got, want) || !slices.Equal(x, before) {
				t.Fatalf("%s, n = %d: %v, want %v", name, n, got, want)
			}
		}
	}
}

// TestCountedSum: the trimmed sums of counted whole numbers are the bits
// of the sums over the sorted values, a unit at a time, for trims that
// end on a whole unit, inside one, or on nothing, at either end; and
// whole numbers whose sums would pass 2^53 are not counted.
func TestCountedSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	gens := map[string]func() float64{
		"0/1":      func() float64 { return float64(rng.IntN(2)) },
		"counts":   func() float64 { return float64(rng.IntN(40) - 5) },
		"negative": func() float64 { return -float64(rng.IntN(7)) },
		"large":    func() float64 { return 1e9 + float64(rng.IntN(50)) },
	}
	var w leeWork
	for name, gen := range gens {
		for _, n := range []int{1, 2, 7, 100, 1001} {
			x := make([]float64, n)
			for i := range x {
				x[i] = gen()
			}
			s := slices.Clone(x)
			sort.Float64s(s)
			for _, p := range []float64{0, 1e-13, 0.1, 1.0 / 3, 0.5, 2.0 / 7, 0.999, 1} {
				keep := float64(n) * (1 - p)
				lo, count, ok := w.counted(x)
				if !ok {
					t.Fatalf("%s, n = %d: not counted", name, n)
				}
				for _, top := range []bool{false, true} {
					got, want := countedSum(lo, count, keep, top), sortedSum(s, keep, top)
					if math.Float64bits(got) != math.Float64bits(want) {
						t.Fatalf("%s, n = %d, p = %v, top %v: %v, want %v", name, n, p, top, got, want)
					}
				}
			}
		}
	}
	if _, _, ok := w.counted([]float64{1 << 50, 1<<50 + 1, 1<<50 + 2, 1<<50 + 3, 1<<50 + 4, 1<<50 + 5, 1<<50 + 6, 1<<50 + 7, 1<<50 + 8}); ok {
		t.Fatal("whole numbers whose sum passes 2^53 were counted")
	}
}
