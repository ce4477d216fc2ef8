// Package chacha8 is math/rand/v2's ChaCha8 stream (C2SP chacha8rand),
// number for number, computed sixteen blocks at a time where the machine
// has AVX-512. Replaying a trial's design for randomization inference
// draws one number per family and draw (800 million at 80,000 families
// and 10,000 draws); the standard library's SSE2 blocks were 2.8 s of
// keyed analyze's 21.8 s of CPU (BENCHMARKS.md, "Ninth session").
// Elsewhere the numbers come from math/rand/v2's ChaCha8 itself.
package chacha8

import (
	"encoding/binary"
	"math/rand/v2"
)

// out is the number of values one seed gives: 16 blocks of 64 bytes, the
// last 32 bytes of which are the next seed.
const out = 124

// Rand is the ChaCha8 stream of a seed: what rand.NewChaCha8(seed) gives.
// It must be used from one goroutine at a time.
type Rand struct {
	buf  [128]uint64 // the values of one seed; buf[124:] is the next seed
	i    uint32      // the next value of buf
	seed [4]uint64
	std  *rand.ChaCha8 // the standard library's, without AVX-512
}

// New returns the stream of seed.
func New(seed [32]byte) *Rand { return newRand(seed, avx512) }

// newRand is New with the sixteen-block path (fast) or the standard
// library's.
func newRand(seed [32]byte, fast bool) *Rand {
	r := &Rand{}
	if fast {
		for i := range r.seed {
			r.seed[i] = binary.LittleEndian.Uint64(seed[8*i:])
		}
	} else {
		r.std = rand.NewChaCha8(seed)
	}
	r.refill()
	return r
}

// Uint64 returns the next 64 random bits.
func (r *Rand) Uint64() uint64 {
	if r.i == out {
		r.refill() // and i = 0
	}
	r.i++
	return r.buf[(r.i-1)&127] // &127: no bounds check
}

// Peek returns the values of the current seed not yet taken, at least
// one: Uint64 returns them in order. Skip takes some of them.
func (r *Rand) Peek() []uint64 {
	if r.i == out {
		r.refill()
	}
	return r.buf[r.i:out]
}

// Skip takes the first n values Peek returned, as n calls of Uint64 would.
func (r *Rand) Skip(n int) { r.i += uint32(n) }

// refill computes the values of the current seed and takes the next.
func (r *Rand) refill() {
	r.i = 0
	if r.std != nil {
		for i := range out {
			r.buf[i] = r.std.Uint64()
		}
		return
	}
	block16(&r.seed, &r.buf)
	copy(r.seed[:], r.buf[out:])
}
