package plan

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/rct-trials/rct/analysis"
)

// test is one outcome of one contrast that has an estimate: the tests
// the inference covers.
type test struct {
	contrast, outcome int
}

func (a *Analysis) result(t test) *OutcomeResult {
	return &a.Contrasts[t.contrast].Outcomes[t.outcome]
}

// infer adds randomization inference (one set of draws of the trial's own
// design for every outcome of every contrast, as Westfall-Young and
// Romano-Wolf need, and for the joint balance tests) and the p-values
// adjusted within each outcome family, with sharpened q-values.
// a.Contrasts[c].Outcomes[i] is the result of d.Outcomes[i] in
// d.Contrasts[c].
func (a *Analysis) infer(d *Data, s Settings, joint []softTest) error {
	w := d
	if d.view != nil {
		w = d.view.whole
	}
	b := &riBatch{studentized: s.Studentized, binary: !slices.ContainsFunc(w.codes(), func(v float64) bool { return v != 0 && v != 1 })}
	var which []test
	for c, cr := range a.Contrasts {
		pd := d.Pair(d.Contrasts[c])
		for i := range cr.Outcomes {
			if cr.Outcomes[i].Unadjusted == nil {
				continue
			}
			// Over every family: a draw moves families between groups.
			arm, ref := pd.armRef()
			b.add(d.Outcomes[i].Y, arm, ref)
			which = append(which, test{c, i})
		}
	}
	var tests []*analysis.RIResult
	switch {
	case s.Draws > 0:
		var err error
		tests, err = runDraws(d, s, "randomization inference", b, joint)
		if err != nil {
			return err
		}
		for k, t := range which {
			p := tests[k].PValue
			r := a.result(t)
			r.RIP, r.RI = &p, tests[k]
		}
	case s.Draws == 0:
		a.Notes = append(a.Notes, "no randomization inference: ri_draws is 0")
	}
	return a.adjustP(which, tests)
}

// softTest is a randomization test whose failure is a note of its own, not
// the analysis's error: a joint balance test. set receives its p-value,
// note why it has none.
type softTest struct {
	stat analysis.Statistic
	bits analysis.BitsStatistic // stat of the draw's bits, when it has them (nil: stat alone)
	set  func(p float64)
	note func(err error)
}

// runDraws runs the tests of b and the soft tests on one set of s.Draws
// draws of the trial's own design, drawn once: the same draws each would
// get on its own, so the same p-values. An error of b's is returned; a
// soft test's error ends that test alone, with the error of its first
// failing draw, as a test of its own would stop. It returns b's results.
func runDraws(d *Data, s Settings, step string, b *riBatch, soft []softTest) ([]*analysis.RIResult, error) {
	hard := 0
	if b != nil {
		hard = b.k
	}
	if hard+len(soft) == 0 || s.Draws <= 0 {
		return nil, nil
	}
	failed := make([]atomic.Bool, len(soft))
	batch := func(g, out []float64) error {
		var words []uint64
		var invert bool
		if d.drawBits != nil {
			words, invert = d.drawBits(g)
		}
		if hard > 0 {
			if err := b.run(g, out[:hard], words, invert); err != nil {
				return err
			}
		}
		for j, t := range soft {
			var v float64
			var err error
			if words != nil && t.bits != nil {
				v, err = t.bits(words, invert)
			} else {
				v, err = t.stat(g)
			}
			if err != nil {
				failed[j].Store(true)
				v = math.NaN() // counts as no draw at least as extreme
			}
			out[hard+j] = v
		}
		return nil
	}
	g := d.groupValues()
	o, done := s.riOptions(step)
	defer done()
	res, err := analysis.RandomizationBatch(len(g), hard+len(soft), batch, d.Draw, g, o)
	if err != nil {
		if hard > 0 {
			return nil, err
		}
		for _, t := range soft {
			t.note(err)
		}
		return nil, nil
	}
	for j, t := range soft {
		if !failed[j].Load() {
			t.set(res[hard+j].PValue)
			continue
		}
		t.note(firstFailure(d, s, t.stat, g, res[hard+j]))
	}
	if hard == 0 {
		return nil, nil
	}
	return res[:hard], nil
}

// firstFailure is the error of a soft test that failed: of the observed
// assignment g, else of its first draw that failed, drawn again.
func firstFailure(d *Data, s Settings, stat analysis.Statistic, g []float64, r *analysis.RIResult) error {
	if _, err := stat(g); err != nil {
		return err
	}
	z := make([]float64, len(g))
	for b, v := range r.Null {
		if !math.IsNaN(v) {
			continue
		}
		if err := d.Draw(analysis.DrawSource(s.Seed, b), z); err != nil {
			return fmt.Errorf("draw %d: %w", b, err)
		}
		if _, err := stat(z); err != nil {
			return fmt.Errorf("draw %d: %w", b, err)
		}
	}
	return fmt.Errorf("a draw failed and could not be found again")
}

// adjustP adjusts the adjusted estimates' p-values within each outcome
// family (over its outcomes × waves, and the contrasts as the protocol's
// multiple_testing_contrasts says) by the protocol's method, and adds
// sharpened q-values. which[k] is the outcome of tests[k].
func (a *Analysis) adjustP(which []test, tests []*analysis.RIResult) error {
	families := map[string][]int{}
	var names []string
	for k, t := range which {
		r := a.result(t)
		if r.Estimate == nil {
			continue
		}
		key := r.Family
		if a.MultipleScope == "separate" && len(a.Contrasts) > 1 {
			key = a.Contrasts[t.contrast].ID + " " + r.Family
		}
		if families[key] == nil {
			names = append(names, key)
		}
		families[key] = append(families[key], k)
	}
	sort.Strings(names)
	for _, fam := range names {
		ks := families[fam]
		ps := make([]float64, len(ks))
		sub := make([]*analysis.RIResult, 0, len(ks))
		for j, k := range ks {
			ps[j] = a.result(which[k]).Estimate.PValue
			if tests != nil {
				sub = append(sub, tests[k])
			}
		}
		var adj []float64
		var err error
		switch a.MultipleTesting {
		case "westfall_young":
			if tests != nil {
				adj, err = analysis.WestfallYoung(sub)
			}
		case "romano_wolf":
			if tests != nil {
				adj, err = analysis.RomanoWolf(sub)
			}
		case "", "none":
			adj = ps
		default:
			adj, err = analysis.PAdjust(ps, a.MultipleTesting)
		}
		if err != nil {
			return err
		}
		if adj == nil {
			a.Notes = append(a.Notes, "no adjusted p-values in the "+fam+" family: "+a.MultipleTesting+" needs randomization inference (ri_draws)")
		}
		q, err := analysis.SharpenedQ(ps)
		if err != nil {
			return err
		}
		for j, k := range ks {
			r := a.result(which[k])
			if adj != nil {
				v := adj[j]
				r.PAdjusted = &v
			}
			v := q[j]
			r.Q = &v
		}
	}
	return nil
}

// riStatistic is the test statistic of an outcome as a function of a
// draw of the whole design (each family's group value g): among the
// respondents in the contrast's two groups (g = arm: z = 1; g = ref:
// z = 0), the difference in means or the Welch t. The respondents are
// found once; a draw allocates nothing. The sums run in the families'
// order, as analysis.WelchT's: the same numbers to the last bit.
func riStatistic(y []float64, arm, ref float64, studentized bool) analysis.Statistic {
	idx := make([]int32, 0, len(y))
	yv := make([]float64, 0, len(y))
	for i, v := range y {
		if !math.IsNaN(v) {
			idx, yv = append(idx, int32(i)), append(yv, v)
		}
	}
	return func(g []float64) (float64, error) {
		var s, n [2]float64
		for k, i := range idx {
			switch g[i] {
			case arm:
				s[1] += yv[k]
				n[1]++
			case ref:
				s[0] += yv[k]
				n[0]++
			}
		}
		if !studentized {
			return difference(s, n)
		}
		if n[0] < 2 || n[1] < 2 {
			return 0, fmt.Errorf("%w: each arm needs at least two units (have %v and %v)", analysis.ErrTooFew, n[1], n[0])
		}
		mean := [2]float64{s[0] / n[0], s[1] / n[1]}
		var sq [2]float64
		for k, i := range idx {
			switch g[i] {
			case arm:
				d := yv[k] - mean[1]
				sq[1] += d * d
			case ref:
				d := yv[k] - mean[0]
				sq[0] += d * d
			}
		}
		a, b := sq[1]/(n[1]-1)/n[1], sq[0]/(n[0]-1)/n[0]
		return -((mean[1] - mean[0]) / math.Sqrt(a+b)), nil
	}
}

// difference is the difference in means of two groups' sums and counts.
func difference(s, n [2]float64) (float64, error) {
	if n[0] == 0 || n[1] == 0 {
		return 0, analysis.ErrTooFew
	}
	return s[1]/n[1] - s[0]/n[0], nil
}

// riBatch computes every test's statistic of a draw. Differences in means
// of two groups, when the draws write 0 and 1 only, whose outcomes have
// the same respondents share one pass over the respondents' assignments
// and get the sums riStatistic makes, to the bit (riShared says how); the
// other tests run one by one.
type riBatch struct {
	studentized bool
	binary      bool // the draws write 0 and 1 only (two groups): sets can share
	k           int
	shared      []*riShared
	single      []riSingle
	work        sync.Pool // *riWork
}

// riShared are the outcomes with the same respondents. An outcome whose
// values are whole numbers (0/1, counts, whole euros) small enough that
// every sum of them is an integer below 2^53 has the same sums in any
// order, so it is summed as integers: its values less their minimum, bit
// by bit, as bit planes over every family; the treated respondents' sum
// of a plane is a population count of the plane and the draw's treated
// families, and the control's sum is the total less the treated's. The
// other outcomes are summed as riStatistic sums them, y·z and y·(1−z) in
// respondent order, two outcomes at a time in registers.
type riShared struct {
	idx      []int32     // the respondents
	ys       [][]float64 // each outcome's values of them
	slots    []int       // each outcome's place in the batch
	families int         // in the whole set: the length of a draw
	once     sync.Once
	resp     []uint64 // the respondents, a bit per family
	whole    []wholeOutcome
	float    []int // the other outcomes, by their index in ys
}

// wholeOutcome is an outcome of whole numbers y = min + Σ_b 2^b·plane_b.
type wholeOutcome struct {
	j      int // its index in ys
	min    int64
	planes [][]uint64 // a bit per family
	total  int64      // the respondents' sum
}

// riWork is a draw's scratch: the respondents' assignments, and the
// treated families as a bit per family.
type riWork struct {
	z       []float64
	treated []uint64
}

func (sh *riShared) prepare() {
	words := (sh.families + 63) / 64
	sh.resp = make([]uint64, words)
	for _, i := range sh.idx {
		sh.resp[i>>6] |= 1 << (i & 63)
	}
	for j, y := range sh.ys {
		w, ok := wholeNumbers(y)
		if !ok {
			sh.float = append(sh.float, j)
			continue
		}
		w.j = j
		for b := range w.planes {
			w.planes[b] = make([]uint64, words)
		}
		for k, v := range y {
			u := uint64(int64(v) - w.min)
			for b := range w.planes {
				w.planes[b][sh.idx[k]>>6] |= (u >> b & 1) << (sh.idx[k] & 63)
			}
		}
		sh.whole = append(sh.whole, w)
	}
}

// wholeNumbers returns the minimum, the bit planes (empty) and the total
// of y when every value is a whole number below 2^31 in size and the sum
// of their sizes is below 2^52, so that every partial sum in floating
// point is exact.
func wholeNumbers(y []float64) (wholeOutcome, bool) {
	var w wholeOutcome
	var size float64
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, v := range y {
		if v != math.Trunc(v) || math.Abs(v) >= 1<<31 {
			return wholeOutcome{}, false
		}
		size += math.Abs(v)
		lo, hi = min(lo, int64(v)), max(hi, int64(v))
		w.total += int64(v)
	}
	if size >= 1<<52 || len(y) == 0 {
		return wholeOutcome{}, false
	}
	w.min = lo
	w.planes = make([][]uint64, bits.Len64(uint64(hi-lo)))
	return w, true
}

type riSingle struct {
	slot int
	st   analysis.Statistic
}

// add adds the test of outcome y between the groups arm and ref.
func (b *riBatch) add(y []float64, arm, ref float64) {
	slot := b.k
	b.k++
	if arm != 1 || ref != 0 || b.studentized || !b.binary {
		b.single = append(b.single, riSingle{slot, riStatistic(y, arm, ref, b.studentized)})
		return
	}
	idx := make([]int32, 0, len(y))
	yv := make([]float64, 0, len(y))
	for i, v := range y {
		if !math.IsNaN(v) {
			idx, yv = append(idx, int32(i)), append(yv, v)
		}
	}
	for _, sh := range b.shared {
		if slices.Equal(sh.idx, idx) {
			sh.ys, sh.slots = append(sh.ys, yv), append(sh.slots, slot)
			return
		}
	}
	b.shared = append(b.shared, &riShared{idx: idx, ys: [][]float64{yv}, slots: []int{slot}, families: len(y)})
}

// run computes the statistics of draw g into out. packed, when not nil,
// is g as bits (bit i%64 of word i/64 set where g[i] is 1, or where it is
// 0 when invert), as the design's warming kept it: the bits are then not
// gathered from g again.
func (b *riBatch) run(g, out []float64, packed []uint64, invert bool) error {
	w, _ := b.work.Get().(*riWork)
	if w == nil {
		w = new(riWork)
	}
	defer b.work.Put(w)
	var treatedBits []uint64
	if len(b.shared) > 0 { // the draws write 0 and 1 only
		words := (len(g) + 63) / 64
		if cap(w.treated) < words {
			w.treated = make([]uint64, words)
		}
		treatedBits = w.treated[:words]
		switch {
		case len(packed) == words && !invert:
			treatedBits = packed
		case len(packed) == words:
			for k, v := range packed {
				treatedBits[k] = ^v
			}
			if tail := len(g) % 64; tail != 0 {
				treatedBits[words-1] &= 1<<tail - 1
			}
		default:
			for k := range treatedBits {
				var t uint64
				for j, v := range g[k*64 : min(len(g), k*64+64)] {
					t |= uint64(v) << j
				}
				treatedBits[k] = t
			}
		}
	}
	for _, sh := range b.shared {
		sh.once.Do(sh.prepare)
		n := len(sh.idx)
		treated := 0
		for k, r := range sh.resp {
			treated += bits.OnesCount64(r & treatedBits[k])
		}
		count := [2]float64{float64(n - treated), float64(treated)}
		put := func(j int, s0, s1 float64) error {
			v, err := difference([2]float64{s0, s1}, count)
			out[sh.slots[j]] = v
			return err
		}
		for _, o := range sh.whole {
			s1 := o.min * int64(treated)
			for p, plane := range o.planes {
				c := 0
				for k, v := range plane {
					c += bits.OnesCount64(v & treatedBits[k])
				}
				s1 += int64(c) << p
			}
			if err := put(o.j, float64(o.total-s1), float64(s1)); err != nil {
				return err
			}
		}
		if len(sh.float) == 0 {
			continue
		}
		if cap(w.z) < n {
			w.z = make([]float64, n)
		}
		z := w.z[:n]
		for k, i := range sh.idx {
			z[k] = g[i]
		}
		fl := sh.float
		for ; len(fl) >= 2; fl = fl[2:] {
			ya, yb := sh.ys[fl[0]][:n], sh.ys[fl[1]][:n]
			var a0, a1, b0, b1 float64
			for k, t := range z {
				u := 1 - t
				a1 += ya[k] * t
				a0 += ya[k] * u
				b1 += yb[k] * t
				b0 += yb[k] * u
			}
			if err := put(fl[0], a0, a1); err != nil {
				return err
			}
			if err := put(fl[1], b0, b1); err != nil {
				return err
			}
		}
		if len(fl) == 1 {
			ya := sh.ys[fl[0]][:n]
			var a0, a1 float64
			for k, t := range z {
				a1 += ya[k] * t
				a0 += ya[k] * (1 - t)
			}
			if err := put(fl[0], a0, a1); err != nil {
				return err
			}
		}
	}
	for _, t := range b.single {
		v, err := t.st(g)
		if err != nil {
			return err
		}
		out[t.slot] = v
	}
	return nil
}
