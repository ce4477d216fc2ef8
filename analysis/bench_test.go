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
