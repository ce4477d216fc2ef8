package chacha8

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSameAsStandard: the stream is math/rand/v2's ChaCha8 of the same
// seed, value for value, over many seeds' worth of values (each seed's
// 124 and the reseeding between them), with the sixteen-block path where
// the machine has it and with the standard library's blocks.
func TestSameAsStandard(t *testing.T) {
	if !avx512 {
		t.Log("no AVX-512 here: the standard library's path alone")
	}
	for _, fast := range []bool{false, true} {
		if fast && !avx512 {
			continue
		}
		for s := range 20 {
			var seed [32]byte
			for i := range seed {
				seed[i] = byte(s*31 + i*7)
			}
			want := rand.NewChaCha8(seed)
			r := newRand(seed, fast)
			for i := range 5000 {
				if g, w := r.Uint64(), want.Uint64(); g != w {
					t.Fatalf("fast %v, seed %d, value %d: %#x, want %#x", fast, s, i, g, w)
				}
			}
		}
	}
}

// TestPeekSkip: values taken through Peek and Skip are the stream's, in
// order, whatever the mix with Uint64 and across reseeding, on both paths.
func TestPeekSkip(t *testing.T) {
	pick := rand.New(rand.NewPCG(3, 4))
	for _, fast := range []bool{false, true} {
		if fast && !avx512 {
			continue
		}
		var seed [32]byte
		seed[0] = 9
		want := rand.NewChaCha8(seed)
		r := newRand(seed, fast)
		for i := 0; i < 5000; {
			if pick.IntN(2) == 0 {
				if g, w := r.Uint64(), want.Uint64(); g != w {
					t.Fatalf("fast %v, value %d (Uint64): %#x, want %#x", fast, i, g, w)
				}
				i++
				continue
			}
			vals := r.Peek()
			if len(vals) == 0 || len(vals) > out {
				t.Fatalf("fast %v, value %d: Peek gave %d values", fast, i, len(vals))
			}
			n := pick.IntN(min(len(vals), 9) + 1)
			for k, g := range vals[:n] {
				if w := want.Uint64(); g != w {
					t.Fatalf("fast %v, value %d (Peek): %#x, want %#x", fast, i+k, g, w)
				}
			}
			r.Skip(n)
			i += n
		}
	}
}

func BenchmarkUint64(b *testing.B) {
	var seed [32]byte
	b.Run("chacha8", func(b *testing.B) {
		r := New(seed)
		var x uint64
		for b.Loop() {
			x += r.Uint64()
		}
		_ = x
	})
	b.Run("math/rand/v2", func(b *testing.B) {
		r := rand.NewChaCha8(seed)
		var x uint64
		for b.Loop() {
			x += r.Uint64()
		}
		_ = x
	})
}

func BenchmarkBlock16(b *testing.B) {
	if !avx512 {
		b.Skip("no AVX-512")
	}
	var seed [4]uint64
	var buf [128]uint64
	for b.Loop() {
		block16(&seed, &buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/out, "ns/value")
}

// TestGenerated: chacha8_amd64.s is what gen.go writes.
func TestGenerated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "block.s")
	if out, err := exec.Command("go", "run", "gen.go", path).CombinedOutput(); err != nil {
		t.Fatalf("go run gen.go: %v\n%s", err, out)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile("chacha8_amd64.s"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("chacha8_amd64.s is not what gen.go writes (%v): go generate ./internal/chacha8", err)
	}
}
