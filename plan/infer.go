package plan

import (
	"fmt"
	"math"
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
		if hard > 0 {
			if err := b.run(g, out[:hard]); err != nil {
				return err
			}
		}
		for j, t := range soft {
			v, err := t.stat(g)
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
// the same respondents share one pass over the respondents' assignments,
// in which each outcome's two sums grow in respondent order — the sums
// riStatistic makes, to the bit; the other tests run one by one.
type riBatch struct {
	studentized bool
	binary      bool // the draws write 0 and 1 only (two groups): sets can share
	k           int
	shared      []*riShared
	single      []riSingle
	sums        sync.Pool // *[]float64, the sums of each outcome in a set
}

type riShared struct {
	idx   []int32     // the respondents
	ys    [][]float64 // each outcome's values of them
	slots []int       // each outcome's place in the batch
	// rows holds ys respondent by respondent (rows[k*len(ys)+j] = ys[j][k]):
	// one pass over the respondents adds to every outcome's sums, each sum
	// still in respondent order, their chains of additions interleaved.
	rows []float64
	once sync.Once
}

func (sh *riShared) prepare() {
	m := len(sh.ys)
	sh.rows = make([]float64, len(sh.idx)*m)
	for j, y := range sh.ys {
		for k, v := range y {
			sh.rows[k*m+j] = v
		}
	}
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
	b.shared = append(b.shared, &riShared{idx: idx, ys: [][]float64{yv}, slots: []int{slot}})
}

// run computes the statistics of draw g into out.
func (b *riBatch) run(g, out []float64) error {
	sp, _ := b.sums.Get().(*[]float64)
	if sp == nil {
		sp = new([]float64)
	}
	defer b.sums.Put(sp)
	for _, sh := range b.shared {
		sh.once.Do(sh.prepare)
		m := len(sh.ys)
		if cap(*sp) < 2*m {
			*sp = make([]float64, 2*m)
		}
		s0, s1 := (*sp)[:m], (*sp)[m:2*m]
		clear(s0)
		clear(s1)
		// The count of treated respondents is a sum of ones: exact in
		// any order, so four partial counts.
		var n1 [4]float64
		for k, i := range sh.idx {
			z := g[i]
			w := 1 - z
			n1[k&3] += z
			row := sh.rows[k*m : k*m+m]
			s0, s1 := s0[:len(row)], s1[:len(row)]
			for j, y := range row {
				s1[j] += y * z
				s0[j] += y * w
			}
		}
		treated := (n1[0] + n1[1]) + (n1[2] + n1[3])
		for j := range sh.ys {
			v, err := difference([2]float64{s0[j], s1[j]}, [2]float64{float64(len(sh.idx)) - treated, treated})
			if err != nil {
				return err
			}
			out[sh.slots[j]] = v
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
