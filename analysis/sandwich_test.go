package analysis

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestSandwichBlocksExact: the HC sandwich taken hcBlock rows at a time
// is, to the bit, the sandwich of the whole n×k weighted matrix at once
// (the way it was computed before it went by blocks), at sizes below, at
// and across the block.
func TestSandwichBlocksExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{30, hcBlock, hcBlock + 1, 3*hcBlock + 17} {
		k := 5
		X := mat.NewDense(n, k, nil)
		e := make([]float64, n)
		for i := 0; i < n; i++ {
			X.Set(i, 0, 1)
			for j := 1; j < k; j++ {
				X.Set(i, j, rng.NormFloat64()*float64(j))
			}
			e[i] = rng.NormFloat64() * 3
		}
		var xtx mat.SymDense
		xtx.SymOuterK(1, X.T())
		var ch mat.Cholesky
		if !ch.Factorize(&xtx) {
			t.Fatal("singular")
		}
		var bread mat.SymDense
		if err := ch.InverseTo(&bread); err != nil {
			t.Fatal(err)
		}
		for _, se := range []string{HC0, HC1, HC2, HC3} {
			got, _, _, err := sandwich(X, &bread, e, se, nil)
			if err != nil {
				t.Fatal(err)
			}
			// The whole matrix at once.
			var XA mat.Dense
			XA.Mul(X, &bread)
			w := mat.NewDense(n, k, nil)
			for i := 0; i < n; i++ {
				h := 0.0
				for j := 0; j < k; j++ {
					h += XA.At(i, j) * X.At(i, j)
				}
				wi := e[i] * e[i]
				switch se {
				case HC2:
					wi /= 1 - h
				case HC3:
					wi /= (1 - h) * (1 - h)
				}
				s := math.Sqrt(wi)
				for j := 0; j < k; j++ {
					w.Set(i, j, X.At(i, j)*s)
				}
			}
			var meat mat.SymDense
			meat.SymOuterK(1, w.T())
			want := mat.NewDense(k, k, nil)
			want.Product(&bread, &meat, &bread)
			if se == HC1 {
				want.Scale(float64(n)/float64(n-k), want)
			}
			if !mat.Equal(got, want) {
				t.Errorf("n = %d, %s: blocks %v, whole %v", n, se, mat.Formatted(got), mat.Formatted(want))
			}
		}
	}
}

// TestCheckFiniteColumns: the column named is the first column (not the
// first row) holding a value that is not finite, with its first such row,
// as checking the columns one by one would name it.
func TestCheckFiniteColumns(t *testing.T) {
	X := mat.NewDense(6, 4, nil)
	for i := 0; i < 6; i++ {
		for j := 0; j < 4; j++ {
			X.Set(i, j, float64(i+j))
		}
	}
	names := []string{"(Intercept)", "z", "x1", "x2"}
	if err := checkFiniteColumns(X, names); err != nil {
		t.Fatal(err)
	}
	X.Set(1, 3, math.Inf(1))
	X.Set(4, 2, math.NaN())
	X.Set(5, 2, math.NaN())
	err := checkFiniteColumns(X, names)
	if !errors.Is(err, ErrNaN) || !strings.HasSuffix(err.Error(), "x1[4]") {
		t.Errorf("%v, want x1[4]", err)
	}
}
