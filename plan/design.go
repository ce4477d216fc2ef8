package plan

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/randomize"
)

// DesignDraw returns the trial's own design as an analysis.Draw: each call
// re-runs the allocation algorithm (same method, ratio, strata, blocks or
// minimization) on the units' profiles in their recorded order, with a seed
// taken from the source it is given, and sets z[i] to values[g] for the
// group g unit i is given: {0, 1} for a two-group assignment, the group
// indices for a draw of k groups.
func DesignDraw(d randomize.Design, profiles [][]int, values []float64) (analysis.Draw, error) {
	dd, err := newDesignDraws(d, profiles)
	if err != nil {
		return nil, err
	}
	if err := dd.setValues(values); err != nil {
		return nil, err
	}
	return dd.draw, nil
}

// designDraws is DesignDraw's draw, with draws replayed ahead of time
// (warm) while the rest of the analysis set is read on one core: the
// randomization tests then take them instead of replaying them. A draw is
// the same whoever replays it, so the results are too.
type designDraws struct {
	r      *randomize.Replayer
	groups int
	values []float64 // setValues'
	n      int
	width  uint // bits a unit's group takes in a kept draw: 1, 2, 4 or 8
	// eights, with two groups, are the values of eight units whose groups
	// are a byte's bits: a kept draw is unpacked a byte at a time.
	eights *[256][8]float64

	// zs holds, for each z a draw is written into (by &z[0]), its
	// zState: the packed groups of the draw last written into it, which a
	// statistic of 0/1 draws takes (drawBits) instead of packing z again.
	// bits: two groups written as 0 and 1, inverted when group 0 writes 1
	// (setValues).
	zs           sync.Map // *float64 → *zState
	bits, invert bool

	mu      sync.Mutex
	ready   *sync.Cond         // signalled when a kept draw is replayed
	kept    map[[32]byte]*kept // by the draw's seed
	stopped bool               // the warming ends after its current draw
	warming sync.WaitGroup
}

// kept is a draw replayed ahead: each unit's group, width bits each.
type kept struct {
	groups []uint64
	done   bool
	err    error
}

// newDesignDraws is the design's draws; setValues says what they write
// before the first is drawn (the warming needs only the groups).
func newDesignDraws(d randomize.Design, profiles [][]int) (*designDraws, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	// The units are fixed: their profiles are checked and their strata
	// found once, not on each of the thousands of draws.
	r, err := randomize.NewReplayer(d, profiles)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	dd := &designDraws{r: r, groups: len(d.Ratio), n: len(profiles), width: 8}
	for w := uint(1); w < 8; w *= 2 {
		if dd.groups <= 1<<w {
			dd.width = w
			break
		}
	}
	dd.ready = sync.NewCond(&dd.mu)
	return dd, nil
}

// setValues sets what a draw writes for each group: values[g].
func (dd *designDraws) setValues(values []float64) error {
	if len(values) != dd.groups {
		return fmt.Errorf("plan: %d groups in the design, %d values", dd.groups, len(values))
	}
	dd.values, dd.eights = values, nil
	dd.bits = dd.width == 1 && len(values) == 2 && (values[0] == 0 && values[1] == 1 || values[0] == 1 && values[1] == 0)
	dd.invert = dd.bits && values[0] == 1
	if dd.width == 1 {
		dd.eights = new([256][8]float64)
		for b := range dd.eights {
			for j := range 8 {
				dd.eights[b][j] = values[b>>j&1]
			}
		}
	}
	return nil
}

// seedOf reads a draw's seed from its source: what the Replayer is given.
func seedOf(src *rand.Rand) [32]byte {
	var seed [32]byte
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(seed[8*i:], src.Uint64())
	}
	return seed
}

// draw is the analysis.Draw: a kept draw when the warming replayed (or is
// replaying) it, else replayed here. A draw asked for that the warming has
// not reached ends the warming: the tests have caught up with it.
func (dd *designDraws) draw(src *rand.Rand, z []float64) error {
	if len(z) != dd.n {
		return analysis.ErrLength
	}
	seed := seedOf(src)
	dd.mu.Lock()
	k := dd.kept[seed]
	if k == nil {
		dd.stopped = true
	}
	for k != nil && !k.done {
		dd.ready.Wait()
	}
	delete(dd.kept, seed)
	dd.mu.Unlock()
	v, _ := dd.zs.Load(&z[0])
	st, _ := v.(*zState)
	if st == nil {
		st = &zState{}
		dd.zs.Store(&z[0], st)
	}
	st.last = nil
	switch {
	case k != nil && k.err == nil:
		st.last = k.groups
	case k == nil:
		// Replayed here as the warming replays, into z's own buffers.
		if st.g == nil {
			st.g, st.own = make([]uint8, dd.n), make([]uint64, dd.words())
		}
		if dd.replay(seed, st.g, st.own) == nil {
			st.last = st.own
		}
	}
	if st.last == nil {
		// The warming's error or this replay's, found again by the float
		// path (which also takes groups that a byte cannot hold).
		return dd.r.Assign(seed, dd.values, z)
	}
	dd.unpack(st.last, z)
	return nil
}

// zState is what a z keeps between its draws: the packed groups of the
// draw last written into it (nil: none), and where a draw not kept is
// replayed.
type zState struct {
	last []uint64
	g    []uint8
	own  []uint64
}

// replay replays the draw of seed into g and packs it into words.
func (dd *designDraws) replay(seed [32]byte, g []uint8, words []uint64) error {
	if err := dd.r.AssignGroups(seed, g); err != nil {
		return err
	}
	dd.pack(g, words)
	return nil
}

// words is the number of words a draw's packed groups take.
func (dd *designDraws) words() int {
	per := int(64 / dd.width)
	return (dd.n + per - 1) / per
}

// drawBits returns the draw last written into z as bits, when it was a
// two-group draw (kept or replayed here): bit i%64 of word i/64 is family
// i's z, the values being 0 and 1. nil otherwise (z holds another
// assignment, or values other than 0 and 1), and then z is all there is.
// When invert, z is 1 where the bit is clear (the values are 1 and 0).
func (dd *designDraws) drawBits(z []float64) (words []uint64, invert bool) {
	if !dd.bits || len(z) != dd.n {
		return nil, false
	}
	v, _ := dd.zs.Load(&z[0])
	st, _ := v.(*zState)
	if st == nil || st.last == nil {
		return nil, false
	}
	return st.last, dd.invert
}

// pack packs each unit's group g[i] into width bits of groups.
func (dd *designDraws) pack(g []uint8, groups []uint64) {
	per := int(64 / dd.width)
	for w := range groups {
		unit := g[w*per : min((w+1)*per, len(g))]
		var x uint64
		if dd.width == 1 && len(unit) == 64 {
			// Eight 0/1 bytes at a time: the multiply gathers byte j's
			// bit into bit j of the top byte.
			for c := range 8 {
				b := binary.LittleEndian.Uint64(unit[8*c:])
				x |= (b * 0x0102040810204080 >> 56) << (8 * c)
			}
		} else {
			for i, v := range unit {
				x |= uint64(v) << (uint(i) * dd.width)
			}
		}
		groups[w] = x
	}
}

// unpack sets z[i] to the value of the group packed for unit i.
func (dd *designDraws) unpack(groups []uint64, z []float64) {
	per := int(64 / dd.width)
	mask := uint64(1)<<dd.width - 1
	for w, x := range groups {
		unit := z[w*per : min((w+1)*per, len(z))]
		if dd.eights != nil && len(unit) == 64 {
			for c := range 8 {
				copy(unit[8*c:8*c+8], dd.eights[x>>(8*c)&0xff][:])
			}
			continue
		}
		for i := range unit {
			unit[i] = dd.values[x&mask]
			x >>= dd.width
		}
	}
}

// warmBytes bounds the memory of the draws kept ahead: 10,000 draws of
// 100,000 families in two groups fit.
const warmBytes = 128 << 20

// warm starts replaying the draws of randomization tests seeded with seed,
// draw 0 first, on a goroutine of its own, until draws are kept, their
// memory reaches warmBytes, or the tests catch up. stop ends it, waits for
// it and lets go of the draws not taken; it may be called more than once.
func (dd *designDraws) warm(seed uint64, draws int) (stop func()) {
	words := dd.words()
	limit := min(draws, warmBytes/(8*max(words, 1)))
	dd.mu.Lock()
	dd.kept, dd.stopped = map[[32]byte]*kept{}, false
	dd.mu.Unlock()
	dd.warming.Add(1)
	go func() {
		defer dd.warming.Done()
		g := make([]uint8, dd.n)
		for b := 0; b < limit; b++ {
			s := seedOf(analysis.DrawSource(seed, b))
			k := &kept{}
			dd.mu.Lock()
			if dd.stopped || dd.kept[s] != nil {
				dd.mu.Unlock()
				return
			}
			dd.kept[s] = k
			dd.mu.Unlock()
			k.groups = make([]uint64, words)
			err := dd.replay(s, g, k.groups)
			dd.mu.Lock()
			k.done, k.err = true, err
			dd.ready.Broadcast()
			dd.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return sync.OnceFunc(func() {
		dd.mu.Lock()
		dd.stopped = true
		dd.mu.Unlock()
		dd.warming.Wait()
		dd.mu.Lock()
		dd.kept = nil
		dd.mu.Unlock()
	})
}

// PlannedDraw is DesignDraw for a trial not yet run: n units whose factor
// levels are drawn uniformly (from a stream fixed by seed), in two groups
// of which the second is treated. For simulating power before launch.
func PlannedDraw(d randomize.Design, n int, seed uint64) (analysis.Draw, error) {
	if len(d.Ratio) != 2 {
		return nil, fmt.Errorf("plan: a planned two-arm draw needs two groups, the design has %d", len(d.Ratio))
	}
	src := rand.New(rand.NewPCG(0x7063_6f77_6572, seed))
	profiles := make([][]int, n)
	for i := range profiles {
		profiles[i] = make([]int, len(d.Levels))
		for j, l := range d.Levels {
			profiles[i][j] = src.IntN(l)
		}
	}
	return DesignDraw(d, profiles, []float64{0, 1})
}
