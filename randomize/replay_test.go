package randomize

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestReplayerSameAsSequencer: re-running a design with a Replayer gives,
// for every method, ratio and seed, the groups a Sequencer gives the same
// units one by one.
func TestReplayerSameAsSequencer(t *testing.T) {
	units := rand.New(rand.NewPCG(1, 2))
	for _, ratio := range [][]int{{1, 1}, {2, 1}, {2, 1, 1}} {
		sum := 0
		for _, r := range ratio {
			sum += r
		}
		// Large blocks too: AssignGroups holds blocks of up to 64 units
		// on the stack and replays larger ones as Assign does.
		large := []Design{
			{Method: StratifiedBlocks, Ratio: ratio, Levels: []int{2, 3}, BlockSizes: []int{sum * (64 / sum)}},
			{Method: Blocks, Ratio: ratio, Levels: []int{2, 3}, BlockSizes: []int{sum, sum * (64/sum + 1)}},
		}
		for _, d := range append(designs(ratio), large...) {
			n := 997
			profiles := make([][]int, n)
			for i := range profiles {
				profiles[i] = []int{units.IntN(2), units.IntN(3)}
			}
			r, err := NewReplayer(d, profiles)
			if err != nil {
				t.Fatal(err)
			}
			values := make([]float64, len(ratio))
			for g := range values {
				values[g] = float64(10 + g)
			}
			z, g := make([]float64, n), make([]uint8, n)
			for b := range 5 {
				seed := testSeed
				seed[31] = byte(b)
				if err := r.Assign(seed, values, z); err != nil {
					t.Fatal(err)
				}
				if err := r.AssignGroups(seed, g); err != nil {
					t.Fatal(err)
				}
				s, _ := New(d, seed)
				for i, p := range profiles {
					a, err := s.Next(p)
					if err != nil {
						t.Fatal(err)
					}
					if z[i] != values[a.Group] || int(g[i]) != a.Group {
						t.Fatalf("%s %v seed %d: unit %d in group %v (AssignGroups: %d), the sequencer says %d", name(d), ratio, b, i, z[i]-10, g[i], a.Group)
					}
				}
			}
		}
	}
	if _, err := NewReplayer(designs([]int{1, 1})[3], [][]int{{0, 3}}); err == nil {
		t.Error("a profile out of range was taken")
	}
}

// TestTabledShuffle: a block's table gives, for every sequence of shuffle
// values, what Fisher-Yates makes of the block with them, and refuses a
// sequence holding a value the draws would reject (0 is one: its low
// product is 0).
func TestTabledShuffle(t *testing.T) {
	vals := rand.New(rand.NewPCG(5, 6))
	for n := 1; n <= 9; n++ {
		var b smallBlock
		b.n = n
		for k := range n {
			b.v[k] = uint8(k*7%5 + k%2) // not sorted, with repeats
		}
		b.shuffled, b.draws = []uint64{0}, -1
		if n <= maxTabled {
			b.shuffled, b.draws = tableShuffles(b.v[:n]), n-1
		}
		for range 2000 {
			draws := make([]uint64, 8)
			for k := range draws {
				draws[k] = vals.Uint64()
			}
			buf := b.v
			for i, k := n-1, 0; i > 0; i, k = i-1, k+1 {
				j, _ := bits.Mul64(draws[k], uint64(i+1))
				buf[i], buf[j] = buf[j], buf[i]
			}
			var want uint64
			for k := range min(n, 8) {
				want |= uint64(buf[k]) << (8 * k)
			}
			got, ok := b.tabled(draws)
			if n > maxTabled {
				if ok {
					t.Fatalf("%d units: a block without a table was shuffled", n)
				}
				continue
			}
			if !ok || got != want {
				t.Fatalf("%d units, draws %x: %x (%v), Fisher-Yates gives %x", n, draws[:n-1], got, ok, want)
			}
			if n > 1 {
				draws[vals.IntN(n-1)] = 0
				if _, ok := b.tabled(draws); ok {
					t.Fatalf("%d units, draws %x: a draw to reject was taken", n, draws[:n-1])
				}
			}
		}
	}
}

// BenchmarkReplayer re-runs a stratified block design over 80,000 units
// in 8 strata, as randomization inference does once per draw: writing
// values (Assign), group indices (AssignGroups, as the analysis's warming
// does) and through a Sequencer.
// go test -run '^$' -bench Replayer -count 3 ./randomize/
func BenchmarkReplayer(b *testing.B) {
	d := Design{Method: StratifiedBlocks, Ratio: []int{1, 1}, Levels: []int{2, 4}, BlockSizes: []int{2, 4, 6}}
	units := rand.New(rand.NewPCG(1, 2))
	profiles := make([][]int, 80000)
	for i := range profiles {
		profiles[i] = []int{units.IntN(2), units.IntN(4)}
	}
	z := make([]float64, len(profiles))
	g := make([]uint8, len(profiles))
	for _, how := range []string{"replayer", "groups", "sequencer"} {
		b.Run(how, func(b *testing.B) {
			r, _ := NewReplayer(d, profiles)
			for i := 0; b.Loop(); i++ {
				seed := testSeed
				seed[0] = byte(i)
				switch how {
				case "replayer":
					r.Assign(seed, []float64{0, 1}, z)
					continue
				case "groups": // as the analysis's warming replays them
					r.AssignGroups(seed, g)
					continue
				}
				s, _ := New(d, seed)
				s.replay = true
				for j, p := range profiles {
					a, _ := s.Next(p)
					z[j] = float64(a.Group)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(profiles)), "ns/unit")
		})
	}
}
