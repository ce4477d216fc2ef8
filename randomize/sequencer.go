package randomize

import (
	"errors"
	"fmt"
)

// Allocation is the outcome for one unit.
type Allocation struct {
	Group int
	// Deterministic is true when the group was forced by the history (the
	// last places of a block, the big stick's bound, the last group left of
	// a complete design, minimization with p = 1 and one best group).
	Deterministic bool
}

// ErrSampleSizeReached is returned by a complete design past its size.
var ErrSampleSizeReached = errors.New("randomize: the planned sample size is reached")

// Sequencer allocates units one at a time, in arrival order. Given the
// same design, seed and sequence of profiles it gives the same
// allocations: replaying the recorded order re-derives every allocation.
type Sequencer struct {
	d      Design
	seed   [32]byte
	counts []int // per group

	src   *Source // simple, complete, blocks, minimization, big stick
	list  []int   // complete: the shuffled list; blocks: the current block
	pos   int     // position in list
	strat map[string]*blockState
	// replay (a Replayer's): the allocations leave Deterministic false
	// instead of scanning what is left of the block (or, for complete
	// randomization, of the whole list) at each unit. The groups are the same.
	replay bool
	// minimization: margins[f][level][group]
	margins [][][]int
	blocks  blockMaker // blocks, stratified blocks
}

type blockState struct {
	src   *Source
	block []int
	pos   int
	n     []int // per-stratum group counts
}

// New returns a sequencer for d seeded with seed.
func New(d Design, seed [32]byte) (*Sequencer, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	s := &Sequencer{d: d, seed: seed, counts: make([]int, len(d.Ratio)), blocks: newBlockMaker(d)}
	switch d.Method {
	case Complete:
		s.src = NewSource(seed, Complete)
		sum := d.ratioSum()
		for g, r := range d.Ratio {
			for i := 0; i < d.SampleSize/sum*r; i++ {
				s.list = append(s.list, g)
			}
		}
		s.src.Shuffle(s.list)
	case StratifiedBlocks:
		s.strat = map[string]*blockState{}
	case Minimization:
		s.src = NewSource(seed, Minimization)
		s.margins = make([][][]int, len(d.Levels))
		for f, l := range d.Levels {
			s.margins[f] = make([][]int, l)
			for v := range s.margins[f] {
				s.margins[f][v] = make([]int, len(d.Ratio))
			}
		}
	default:
		s.src = NewSource(seed, d.Method)
	}
	return s, nil
}

// Design returns the sequencer's design.
func (s *Sequencer) Design() Design { return s.d }

// Counts returns the number of units allocated to each group so far.
func (s *Sequencer) Counts() []int { return append([]int(nil), s.counts...) }

func (s *Sequencer) checkProfile(p []int) error { return s.d.CheckProfile(p) }

// CheckProfile says whether p is a profile of the design: one level in
// range per factor.
func (d Design) CheckProfile(p []int) error {
	if len(p) != len(d.Levels) {
		return fmt.Errorf("randomize: profile has %d factors, the design %d", len(p), len(d.Levels))
	}
	for f, v := range p {
		if v < 0 || v >= d.Levels[f] {
			return fmt.Errorf("randomize: level %d of factor %d is out of range", v, f)
		}
	}
	return nil
}

// Next allocates the next unit, whose factor levels are profile (one level
// per factor of the design; ignored by methods without factors).
func (s *Sequencer) Next(profile []int) (Allocation, error) {
	if err := s.checkProfile(profile); err != nil {
		return Allocation{}, err
	}
	key := ""
	if s.d.Method == StratifiedBlocks {
		key = StratumKey(profile)
	}
	return s.next(profile, key)
}

// next is Next for a checked profile and its stratum's key (stratified
// blocks only).
func (s *Sequencer) next(profile []int, key string) (Allocation, error) {
	var a Allocation
	switch s.d.Method {
	case Simple:
		a.Group = s.byRatio(s.src)
	case Complete:
		if s.pos >= len(s.list) {
			return Allocation{}, ErrSampleSizeReached
		}
		a.Group = s.list[s.pos]
		a.Deterministic = !s.replay && allSame(s.list[s.pos:])
		s.pos++
	case Blocks:
		if s.pos >= len(s.list) {
			s.list, s.pos = drawBlock(s.src, s.blocks, s.list[:0]), 0
		}
		a.Group = s.list[s.pos]
		a.Deterministic = !s.replay && allSame(s.list[s.pos:])
		s.pos++
	case StratifiedBlocks:
		st := s.stratum(key)
		if st.pos >= len(st.block) {
			st.block, st.pos = drawBlock(st.src, s.blocks, st.block[:0]), 0
		}
		a.Group = st.block[st.pos]
		a.Deterministic = !s.replay && allSame(st.block[st.pos:])
		st.pos++
		st.n[a.Group]++
	case Minimization:
		best, all := s.bestGroups(profile)
		switch {
		case all:
			a.Group = s.byRatio(s.src)
		case s.src.Float64() < s.d.P:
			a.Group = best[s.src.IntN(len(best))]
			a.Deterministic = s.d.P == 1 && len(best) == 1
		default:
			rest := others(len(s.d.Ratio), best)
			a.Group = rest[s.src.IntN(len(rest))]
		}
		for f, v := range profile {
			s.margins[f][v][a.Group]++
		}
	case BigStick:
		diff := s.counts[0] - s.counts[1]
		switch {
		case diff >= s.d.MaxImbalance:
			a.Group, a.Deterministic = 1, true
		case -diff >= s.d.MaxImbalance:
			a.Group, a.Deterministic = 0, true
		default:
			a.Group = s.src.IntN(2)
		}
	}
	s.counts[a.Group]++
	return a, nil
}

func (s *Sequencer) stratum(k string) *blockState {
	st, ok := s.strat[k]
	if !ok {
		st = &blockState{src: NewSource(s.seed, stratumStream(k)), n: make([]int, len(s.d.Ratio))}
		s.strat[k] = st
	}
	return st
}

// stratumStream names the random stream of the stratum whose key is k:
// every stratum draws its blocks from a stream of its own.
func stratumStream(k string) string { return "stratum:" + k }

// byRatio draws a group with probability ratio/sum.
func (s *Sequencer) byRatio(src *Source) int {
	u := src.IntN(s.d.ratioSum())
	for g, r := range s.d.Ratio {
		if u < r {
			return g
		}
		u -= r
	}
	return len(s.d.Ratio) - 1
}

// blockMaker holds the blocks of a block design before shuffling, one for
// each block size, holding each group size/sum × ratio times: drawBlock
// draws from them.
type blockMaker [][]int

func newBlockMaker(d Design) blockMaker {
	m := make(blockMaker, len(d.BlockSizes))
	sum := d.ratioSum()
	for k, size := range d.BlockSizes {
		for g, r := range d.Ratio {
			for i := 0; i < size/sum*r; i++ {
				m[k] = append(m[k], g)
			}
		}
	}
	return m
}

// drawBlock draws one of the blocks (unshuffled) at random and returns it
// shuffled, in buf's storage: the group indices of a blockMaker, or the
// values a Replayer writes for them (the same draws, the same order).
func drawBlock[T any](src *Source, blocks [][]T, buf []T) []T {
	b := blocks[src.below(uint64(len(blocks)))]
	if cap(buf) < len(b) {
		buf = make([]T, len(b))
	}
	buf = buf[:len(b)]
	for j, v := range b { // a few values: a loop beats a call to memmove
		buf[j] = v
	}
	shuffle(src, buf)
	return buf
}

// bestGroups returns the groups that minimise the weighted imbalance
// (Pocock and Simon 1975) if the unit were given to them, and whether all
// groups tie. Counts are divided by the ratio, so that a 2:1 design is
// balanced when the counts are 2:1.
func (s *Sequencer) bestGroups(profile []int) ([]int, bool) {
	k := len(s.d.Ratio)
	scores := make([]float64, k)
	adj := make([]float64, k)
	for g := 0; g < k; g++ {
		total := 0.0
		for f, v := range profile {
			for h := 0; h < k; h++ {
				n := s.margins[f][v][h]
				if h == g {
					n++
				}
				adj[h] = float64(n) / float64(s.d.Ratio[h])
			}
			w := 1.0
			if s.d.Weights != nil {
				w = s.d.Weights[f]
			}
			total += w * spread(adj, s.d.Imbalance)
		}
		scores[g] = total
	}
	min := scores[0]
	for _, v := range scores[1:] {
		if v < min {
			min = v
		}
	}
	var best []int
	for g, v := range scores {
		if v-min <= 1e-12*(1+min) {
			best = append(best, g)
		}
	}
	return best, len(best) == k
}

// spread is the range or the (population) variance of x.
func spread(x []float64, measure string) float64 {
	if measure == "variance" {
		m := 0.0
		for _, v := range x {
			m += v
		}
		m /= float64(len(x))
		s := 0.0
		for _, v := range x {
			s += (v - m) * (v - m)
		}
		return s / float64(len(x))
	}
	lo, hi := x[0], x[0]
	for _, v := range x[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return hi - lo
}

func others(k int, best []int) []int {
	in := make([]bool, k)
	for _, g := range best {
		in[g] = true
	}
	var out []int
	for g := 0; g < k; g++ {
		if !in[g] {
			out = append(out, g)
		}
	}
	return out
}

func allSame(x []int) bool {
	for _, v := range x[1:] {
		if v != x[0] {
			return false
		}
	}
	return len(x) > 0
}

// Guess returns the groups a person who knows every past allocation (and
// the unit's factor levels) would guess next, by the convergence strategy:
// the groups furthest behind their share — within the current block (of the
// unit's stratum) for block designs, overall for simple, complete and big
// stick designs — and the groups minimization favours. Several groups mean
// a tie, broken by a random guess.
func (s *Sequencer) Guess(profile []int) []int {
	switch s.d.Method {
	case Blocks:
		return behind(blockCounts(s.list, s.pos, len(s.d.Ratio)), s.d.Ratio)
	case StratifiedBlocks:
		st := s.stratum(StratumKey(profile))
		return behind(blockCounts(st.block, st.pos, len(s.d.Ratio)), s.d.Ratio)
	case Minimization:
		best, _ := s.bestGroups(profile)
		return best
	}
	return behind(s.counts, s.d.Ratio)
}

// blockCounts counts the groups already given in the current block; a
// finished block counts as a fresh one.
func blockCounts(block []int, pos, k int) []int {
	n := make([]int, k)
	if pos >= len(block) {
		return n
	}
	for _, g := range block[:pos] {
		n[g]++
	}
	return n
}

// behind returns the groups with the smallest count/ratio.
func behind(n, ratio []int) []int {
	var out []int
	for g := range n {
		switch {
		case len(out) == 0:
			out = []int{g}
		case n[g]*ratio[out[0]] < n[out[0]]*ratio[g]:
			out = []int{g}
		case n[g]*ratio[out[0]] == n[out[0]]*ratio[g]:
			out = append(out, g)
		}
	}
	return out
}
