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
			got := sortedCopy(x)
			if !slices.Equal(got, want) || !slices.Equal(x, before) {
				t.Fatalf("%s, n = %d: %v, want %v", name, n, got, want)
			}
		}
	}
}
