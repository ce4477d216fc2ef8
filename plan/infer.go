package plan

import (
	"math"
	"sort"

	"github.com/rct-trials/rct/analysis"
)

// infer adds randomization inference (one set of draws of the trial's own
// design for every outcome, as Westfall-Young and Romano-Wolf need) and
// the p-values adjusted within each outcome family, with sharpened
// q-values. a.Outcomes[i] is the result of d.Outcomes[i].
func (a *Analysis) infer(d *Data, s Settings) error {
	var stats []analysis.Statistic
	var which []int // outcome index of each statistic
	for i := range a.Outcomes {
		if a.Outcomes[i].Unadjusted == nil {
			continue
		}
		stats = append(stats, riStatistic(d.Outcomes[i].Y, s.Studentized))
		which = append(which, i)
	}
	var tests []*analysis.RIResult
	switch {
	case len(stats) > 0 && s.Draws > 0:
		var err error
		tests, err = analysis.RandomizationTests(len(d.Z), stats, d.Draw, d.Z, analysis.RIOptions{Draws: s.Draws, Seed: s.Seed})
		if err != nil {
			return err
		}
		for k, i := range which {
			p := tests[k].PValue
			a.Outcomes[i].RIP = &p
			a.Outcomes[i].RI = tests[k]
		}
	case s.Draws == 0:
		a.Notes = append(a.Notes, "no randomization inference: ri_draws is 0")
	}
	return a.adjustP(which, tests)
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

// adjustP adjusts the adjusted estimates' p-values within each outcome
// family (over its outcomes × waves) by the protocol's method, and adds
// sharpened q-values. which[k] is the outcome of tests[k].
func (a *Analysis) adjustP(which []int, tests []*analysis.RIResult) error {
	families := map[string][]int{}
	for k, i := range which {
		if a.Outcomes[i].Estimate != nil {
			families[a.Outcomes[i].Family] = append(families[a.Outcomes[i].Family], k)
		}
	}
	names := make([]string, 0, len(families))
	for f := range families {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, fam := range names {
		ks := families[fam]
		ps := make([]float64, len(ks))
		sub := make([]*analysis.RIResult, 0, len(ks))
		for j, k := range ks {
			ps[j] = a.Outcomes[which[k]].Estimate.PValue
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
			r := &a.Outcomes[which[k]]
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
