package analysis

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// BenchmarkOLS: an ANCOVA with HC2 standard errors, n = 1,000,000 and
// k = 12 (intercept, treatment, baseline, 9 covariates), the figure
// BENCHMARKS.md compares with R estimatr (bench/estimatr_ols.R).
func BenchmarkOLS(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		rng := rand.New(rand.NewPCG(1, 2))
		const k = 12
		X := mat.NewDense(n, k, nil)
		y := make([]float64, n)
		for i := 0; i < n; i++ {
			X.Set(i, 0, 1)
			X.Set(i, 1, float64(rng.IntN(2)))
			s := 0.3*X.At(i, 1) + rng.NormFloat64()
			for j := 2; j < k; j++ {
				v := rng.NormFloat64()
				X.Set(i, j, v)
				s += 0.1 * v
			}
			y[i] = s
		}
		names := make([]string, k)
		for j := range names {
			names[j] = string(rune('a' + j))
		}
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := OLS(y, X, names, OLSOptions{SE: HC2}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJointBalanceStatistic: one draw of the joint balance test's
// randomization inference at 80,000 families with baseline covariates of
// a few levels (a few hundred patterns), from z and from the draw's bits.
func BenchmarkJointBalanceStatistic(b *testing.B) {
	const n = 80_000
	rng := rand.New(rand.NewPCG(1, 2))
	covs := make([]Column, 5)
	for j := range covs {
		covs[j] = Column{Name: string(rune('a' + j)), Values: make([]float64, n)}
		for i := range covs[j].Values {
			covs[j].Values[i] = float64(rng.IntN(2 + j))
		}
	}
	z := make([]float64, n)
	words := make([]uint64, (n+63)/64)
	for i := range z {
		if rng.IntN(2) == 1 {
			z[i] = 1
			words[i/64] |= 1 << (i % 64)
		}
	}
	ofZ, ofBits := JointBalanceStatistics(covs, HC2)
	b.Run("z", func(b *testing.B) {
		for b.Loop() {
			if _, err := ofZ(z); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bits", func(b *testing.B) {
		for b.Loop() {
			if _, err := ofBits(words, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
