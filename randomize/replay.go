package randomize

import (
	"fmt"
	"math/bits"
)

// Replayer re-runs a design over fixed units in their arrival order, as
// randomization inference does thousands of times. The groups are those a
// Sequencer seeded alike gives the same profiles (TestReplayerSameAsSequencer).
// For block designs each stratum's stream runs over its own units at once,
// without the per-unit bookkeeping of a Sequencer.
type Replayer struct {
	d        Design
	profiles [][]int
	blocks   blockMaker
	// block designs: each stream's label and its units, in order.
	labels  []string
	members [][]int32
	// small, for a block design whose blocks all hold 64 units or fewer,
	// is each block's groups in an array (blockGroups); nil else.
	small []smallBlock
}

// smallBlock is a block's groups whole in an array: taking one is a few
// wide moves, not a call to memmove (1.1 s of 8.3 in keyed analyze's
// profile).
type smallBlock struct {
	v [64]uint8
	n int
	// shuffled, for a block of maxTabled units or fewer, is the block
	// after each sequence of shuffle draws, byte k its k-th group:
	// shuffled[Σ j_i·i!] for the draws j_i ∈ [0, i] of i = n-1 … 1. The
	// draws do not wait on each other's swaps, and the block is one load.
	// draws is n-1 then; a larger block has -1 and a table of one value,
	// never taken.
	shuffled []uint64
	draws    int
}

// tabled is the block shuffled by the draws of vals (its n-1 shuffle
// draws, in order), from its table; false when it has none, or when a
// value is one the draw would reject (then the draws are made one by one).
// It stays small enough to inline (cost 69 of 80): a call per block took
// back what the table gave.
func (b *smallBlock) tabled(vals []uint64) (uint64, bool) {
	var idx uint64
	ok := b.draws >= 0
	for k := range b.draws {
		m := uint64(b.n - k)
		j, lo := bits.Mul64(vals[k&maxTabled], m)
		ok = ok && lo >= m
		idx += j * factorial[(b.n-1-k)&maxTabled]
	}
	return b.shuffled[idx], ok
}

// maxTabled is the largest block whose shuffles are tabled: 7! = 5,040
// of them, 40 KB.
const maxTabled = 7

// factorial[i] is i!.
var factorial = [maxTabled + 1]uint64{1, 1, 2, 6, 24, 120, 720, 5040}

// tableShuffles returns, for each sequence of shuffle draws (numbered
// Σ j_i·i!), what Fisher-Yates makes of block: the same swaps, in the
// same order, as shuffle.
func tableShuffles(block []uint8) []uint64 {
	n := len(block)
	out := make([]uint64, factorial[n])
	buf := make([]uint8, n)
	for idx := range out {
		copy(buf, block)
		for i := n - 1; i > 0; i-- {
			j := uint64(idx) / factorial[i] % uint64(i+1)
			buf[i], buf[j] = buf[j], buf[i]
		}
		for k, v := range buf {
			out[idx] |= uint64(v) << (8 * k)
		}
	}
	return out
}

// NewReplayer checks the units' profiles and returns a Replayer for them.
func NewReplayer(d Design, profiles [][]int) (*Replayer, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	r := &Replayer{d: d, profiles: profiles, blocks: newBlockMaker(d)}
	index := map[string]int{}
	for i, p := range profiles {
		if err := d.CheckProfile(p); err != nil {
			return nil, fmt.Errorf("unit %d: %w", i+1, err)
		}
		var label string
		switch d.Method {
		case Blocks:
			label = Blocks
		case StratifiedBlocks:
			label = stratumStream(StratumKey(p))
		default:
			continue
		}
		k, ok := index[label]
		if !ok {
			k = len(r.labels)
			index[label] = k
			r.labels = append(r.labels, label)
			r.members = append(r.members, nil)
		}
		r.members[k] = append(r.members[k], int32(i))
	}
	if (d.Method == Blocks || d.Method == StratifiedBlocks) && len(d.Ratio) <= 256 {
		r.small = make([]smallBlock, len(r.blocks))
		for k, b := range r.blocks {
			if len(b) > 64 {
				r.small = nil
				break
			}
			r.small[k].n = len(b)
			for j, v := range b {
				r.small[k].v[j] = uint8(v)
			}
			r.small[k].shuffled, r.small[k].draws = []uint64{0}, -1
			if len(b) <= maxTabled {
				r.small[k].shuffled = tableShuffles(r.small[k].v[:len(b)])
				r.small[k].draws = len(b) - 1
			}
		}
	}
	return r, nil
}

// Assign re-runs the design with seed and sets z[i] to values[g], g the
// group of unit i.
func (r *Replayer) Assign(seed [32]byte, values, z []float64) error {
	return assign(r, seed, values, z)
}

// AssignGroups is Assign writing each unit's group index g itself.
func (r *Replayer) AssignGroups(seed [32]byte, g []uint8) error {
	if len(r.d.Ratio) > 256 {
		return fmt.Errorf("randomize: %d groups do not fit in a byte", len(r.d.Ratio))
	}
	if r.small != nil && len(g) == len(r.profiles) {
		r.blockGroups(seed, g)
		return nil
	}
	values := make([]uint8, len(r.d.Ratio))
	for i := range values {
		values[i] = uint8(i)
	}
	return assign(r, seed, values, g)
}

// blockGroups is assign for the groups of a block design, the hot loop of
// randomization inference (once per unit and draw): the draws of drawBlock
// and shuffle in their order, written out for bytes, on a block held on
// the stack, with below's multiply in the loop (TestReplayerSameAsSequencer
// holds it to the Sequencer). A block of maxTabled units or fewer is
// mostly taken whole from the stream's values and its table (tabled).
func (r *Replayer) blockGroups(seed [32]byte, g []uint8) {
	blocks := r.small
	nb := uint64(len(blocks))
	for k, units := range r.members {
		src := NewSource(seed, r.labels[k])
		c := src.c
		for len(units) > 0 {
			// A block's draws straight from the stream's values, its
			// shuffle from its table, when the values are there and
			// none is one the draws below would reject (odds of n in
			// 2^64); else the draws one by one.
			if vals := c.Peek(); len(vals) > maxTabled {
				hi, lo := bits.Mul64(vals[0], nb)
				if w, ok := blocks[hi].tabled(vals[1:]); ok && lo >= nb {
					n := blocks[hi].n
					c.Skip(n)
					n = min(n, len(units))
					for _, u := range units[:n] {
						g[u] = uint8(w)
						w >>= 8
					}
					units = units[n:]
					continue
				}
			}
			hi, lo := bits.Mul64(c.Uint64(), nb)
			if lo < nb {
				hi = src.reject(hi, lo, nb)
			}
			buf, n := blocks[hi].v, blocks[hi].n
			for i := n - 1; i > 0; i-- {
				m := uint64(i + 1)
				j, lo := bits.Mul64(c.Uint64(), m)
				if lo < m {
					j = src.reject(j, lo, m)
				}
				buf[i], buf[j&63] = buf[j&63], buf[i] // j ≤ i < 64: the mask only spares a bounds check
			}
			n = min(n, len(units))
			for j, u := range units[:n] {
				g[u] = buf[j]
			}
			units = units[n:]
		}
	}
}

// assign is Assign for values of any type: the same draws, the same order.
func assign[T any](r *Replayer, seed [32]byte, values, z []T) error {
	if len(z) != len(r.profiles) {
		return fmt.Errorf("randomize: %d units, %d places to assign", len(r.profiles), len(z))
	}
	if r.d.Method != Blocks && r.d.Method != StratifiedBlocks {
		s, err := New(r.d, seed)
		if err != nil {
			return err
		}
		s.replay = true
		for i, p := range r.profiles {
			a, err := s.next(p, "") // not a block design: no stratum key
			if err != nil {
				return err
			}
			z[i] = values[a.Group]
		}
		return nil
	}
	// The blocks as the values they write: shuffled, the same permutation
	// as the groups'.
	blocks := make([][]T, len(r.blocks))
	for k, b := range r.blocks {
		blocks[k] = make([]T, len(b))
		for j, g := range b {
			blocks[k][j] = values[g]
		}
	}
	var block []T
	for k, units := range r.members {
		src := NewSource(seed, r.labels[k])
		for len(units) > 0 {
			block = drawBlock(src, blocks, block)
			n := min(len(block), len(units))
			for j, u := range units[:n] {
				z[u] = block[j]
			}
			units = units[n:]
		}
	}
	return nil
}
