package randomize

import (
	"crypto/sha256"
	"math/bits"

	"github.com/rct-trials/rct/internal/chacha8"
)

// Version is the version of the allocation algorithms and of the random
// stream they draw from. A trial records it; the same seed, version and
// order of families give the same allocations in every future release.
const Version = 1

// Source is the stable random stream the algorithms draw from: ChaCha8
// (math/rand/v2's stream, computed by internal/chacha8) keyed by
// SHA-256(seed ‖ label), with integer and float draws written out here so
// that they never depend on library internals.
type Source struct {
	c *chacha8.Rand
}

// NewSource returns the stream named label under seed. Streams with other
// labels are independent, so one stratum's sequence does not depend on how
// many families another stratum has.
func NewSource(seed [32]byte, label string) *Source {
	h := sha256.New()
	h.Write(seed[:])
	h.Write([]byte("\x00rct-randomize-v1\x00"))
	h.Write([]byte(label))
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return &Source{c: chacha8.New(k)}
}

// Uint64 returns 64 random bits.
func (s *Source) Uint64() uint64 { return s.c.Uint64() }

// IntN returns a uniform integer in [0, n), n > 0, without bias (Lemire's
// multiply-and-reject method).
func (s *Source) IntN(n int) int {
	if n <= 0 {
		panic("randomize: IntN of a non-positive number")
	}
	return int(s.below(uint64(n)))
}

// below is IntN for n > 0 as a uint64, without IntN's check: what the
// loops that draw blocks call once a unit.
func (s *Source) below(n uint64) uint64 {
	hi, lo := bits.Mul64(s.c.Uint64(), n)
	if lo < n {
		hi = s.reject(hi, lo, n)
	}
	return hi
}

// reject finishes below when the first draw fell in the zone that may be
// rejected (for the small n of blocks, almost never). Not inlined, so
// that below is.
//
//go:noinline
func (s *Source) reject(hi, lo, n uint64) uint64 {
	thresh := -n % n
	for lo < thresh {
		hi, lo = bits.Mul64(s.c.Uint64(), n)
	}
	return hi
}

// Float64 returns a uniform float in [0, 1) with 53 random bits.
func (s *Source) Float64() float64 {
	return float64(s.c.Uint64()>>11) * (1.0 / (1 << 53))
}

// Shuffle permutes x in place (Fisher-Yates).
func (s *Source) Shuffle(x []int) { shuffle(s, x) }

// shuffle is Shuffle for any slice: the same draws, the same permutation.
func shuffle[T any](s *Source, x []T) {
	for i := len(x) - 1; i > 0; i-- {
		j := s.below(uint64(i + 1))
		x[i], x[j] = x[j], x[i]
	}
}
