package analysis

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestJointBalanceStatisticFast: the statistic prepared once gives, draw
// after draw, JointBalance's F (a whole regression each time) to 1e-9
// relative, for every SE type it takes.
func TestJointBalanceStatisticFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n := 300
	covs := []Column{{Name: "a", Values: make([]float64, n)}, {Name: "b", Values: make([]float64, n)}, {Name: "c", Values: make([]float64, n)}}
	for i := 0; i < n; i++ {
		covs[0].Values[i] = rng.NormFloat64()
		covs[1].Values[i] = float64(rng.IntN(2))
		covs[2].Values[i] = 1400 + 450*rng.NormFloat64()
	}
	// Binary covariates: a few patterns shared by many rows.
	bin := []Column{{Name: "d1", Values: make([]float64, n)}, {Name: "d2", Values: make([]float64, n)}, {Name: "k", Values: make([]float64, n)}}
	for i := 0; i < n; i++ {
		bin[0].Values[i], bin[1].Values[i] = float64(rng.IntN(2)), float64(rng.IntN(2))
		bin[2].Values[i] = bin[0].Values[i] + float64(rng.IntN(3))
	}
	for _, se := range []string{Classical, HC0, HC1, HC2, HC3} {
		for set, covs := range [][]Column{covs, bin} {
			st, ofBits := JointBalanceStatistics(covs, se)
			if ofBits == nil {
				t.Fatalf("%s covariates %d: no statistic of bits", se, set)
			}
			for d := 0; d < 20; d++ {
				z := make([]float64, n)
				for i := range z {
					z[i] = float64(rng.IntN(2))
				}
				switch d { // not a 0/1 assignment: the whole regression
				case 18:
					z[n-1] = 2
				case 19:
					z[0] = 0.5
				}
				got, err := st(z)
				if err != nil {
					t.Fatal(err)
				}
				w, err := JointBalance(z, covs, se)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(got-w.F) > 1e-9*math.Abs(w.F) {
					t.Fatalf("%s covariates %d draw %d: F %v, a whole regression %v", se, set, d, got, w.F)
				}
				if d >= 18 {
					continue
				}
				// The same draw as bits (n = 300: the last word is part
				// full), and as the complement of its complement's bits.
				words, flipped := make([]uint64, (n+63)/64), make([]uint64, (n+63)/64)
				for i, v := range z {
					if v == 1 {
						words[i/64] |= 1 << (i % 64)
					} else {
						flipped[i/64] |= 1 << (i % 64)
					}
				}
				for i := n; i < 64*len(words); i++ { // bits past the end are not units
					words[i/64] |= 1 << (i % 64) // flipped's are clear: set once inverted
				}
				for _, c := range []struct {
					words  []uint64
					invert bool
				}{{words, false}, {flipped, true}} {
					b, err := ofBits(c.words, c.invert)
					if err != nil {
						t.Fatal(err)
					}
					if b != got {
						t.Fatalf("%s covariates %d draw %d (invert %v): F of bits %v, of z %v", se, set, d, c.invert, b, got)
					}
				}
			}
		}
	}
}
