package plan

import (
	"math"
	"sort"

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
// Romano-Wolf need) and the p-values adjusted within each outcome family,
// with sharpened q-values. a.Contrasts[c].Outcomes[i] is the result of
// d.Outcomes[i] in d.Contrasts[c].
func (a *Analysis) infer(d *Data, s Settings) error {
	var stats []analysis.Statistic
	var which []test
	for c, cr := range a.Contrasts {
		pd := d.Pair(d.Contrasts[c])
		for i := range cr.Outcomes {
			if cr.Outcomes[i].Unadjusted == nil {
				continue
			}
			y := d.Outcomes[i].Y // over every family: a draw moves families between groups
			stats = append(stats, pd.lift(func(idx []int) analysis.Statistic {
				if idx == nil {
					return riStatistic(y, s.Studentized)
				}
				return riStatistic(pick(y, idx), s.Studentized)
			}))
			which = append(which, test{c, i})
		}
	}
	var tests []*analysis.RIResult
	switch {
	case len(stats) > 0 && s.Draws > 0:
		g := d.groupValues()
		var err error
		tests, err = analysis.RandomizationTests(len(g), stats, d.Draw, g, analysis.RIOptions{Draws: s.Draws, Seed: s.Seed})
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

// riStatistic is the test statistic of an outcome among its respondents as
// a function of the assignment: the difference in means, or the Welch t.
func riStatistic(y []float64, studentized bool) analysis.Statistic {
	return func(z []float64) (float64, error) {
		var yr, zr []float64
		for k, v := range y {
			if !math.IsNaN(v) {
				yr, zr = append(yr, v), append(zr, z[k])
			}
		}
		if studentized {
			res, err := analysis.WelchT(yr, zr)
			return res.Statistic, err
		}
		var s, n [2]float64
		for k, v := range yr {
			g := int(zr[k])
			s[g] += v
			n[g]++
		}
		if n[0] == 0 || n[1] == 0 {
			return 0, analysis.ErrTooFew
		}
		return s[1]/n[1] - s[0]/n[0], nil
	}
}
