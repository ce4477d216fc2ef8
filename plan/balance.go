package plan

import (
	"errors"
	"fmt"
	"math"

	"github.com/rct-trials/rct/analysis"
)

// Balance describes every baseline variable of the balance table by group
// in each contrast and tests them jointly: the HC2 Wald F of the
// assignment on the variables that vary (less those the analysis set
// leaves out: the number of weak domains when every domain is in, their
// sum; variables with missing values), with the randomization-inference
// p-value of that F over s.Draws draws of the trial's own design (seed
// s.Seed). With three groups or more it also tests the variables across
// every group (JointBalanceGroups). When the families are too few for the
// table or a joint test, the notes say so.
func Balance(d *Data, s Settings) (*BalanceResult, error) {
	res := &BalanceResult{Groups: d.GroupNames, Draws: s.Draws, Seed: s.Seed}
	for _, c := range d.Contrasts {
		b, err := pairBalance(d.Pair(c), s)
		if err != nil {
			return nil, err
		}
		res.Contrasts = append(res.Contrasts, b)
	}
	if len(d.Groups) > 2 {
		res.Across = acrossGroups(d, s)
	}
	return res, nil
}

// jointColumns are the balance variables of a joint test: those that
// vary, have no missing value and are not left out for a reason of the
// analysis set; left names the others that are left out, and why.
func jointColumns(d *Data) (cols []analysis.Column, left []string) {
	for _, c := range d.Balance {
		why, skip := d.JointSkip[c.Name]
		if n := countNaN(c.Values); !skip && n > 0 {
			why, skip = fmt.Sprintf("missing for %d families", n), true
		}
		if skip {
			left = append(left, fmt.Sprintf("%s (%s)", c.Name, why))
			continue
		}
		if varies(c.Values) {
			cols = append(cols, c)
		}
	}
	return cols, left
}

// pairBalance is the balance of one contrast's two groups.
func pairBalance(d *Data, s Settings) (*BalanceReport, error) {
	c := d.view.contrast
	res := &BalanceReport{Contrast: c.ID, Groups: [2]string{d.Groups[c.Ref].Code, d.Groups[c.Arm].Code}, Rows: []analysis.BalanceRow{}, Draws: s.Draws, Seed: s.Seed}
	rows, err := analysis.Balance(d.Z, d.Balance)
	switch {
	case errors.Is(err, analysis.ErrTooFew):
		// A small trial can have a group of one: no SD, no table; the
		// joint test below says the same in its note.
		res.RowsNote = "no balance table: " + err.Error()
	case err != nil:
		return nil, err
	default:
		res.Rows = rows
	}
	joint, left := jointColumns(d)
	res.LeftOut = left
	for _, c := range joint {
		res.Variables = append(res.Variables, c.Name)
	}
	w, err := analysis.JointBalance(d.Z, joint, analysis.HC2)
	if err != nil {
		res.JointNote = "no joint test: " + err.Error()
		return res, nil
	}
	res.Joint = &w
	if s.Draws == 0 {
		res.JointNote = "no randomization-inference p-value: ri_draws is 0"
		return res, nil
	}
	whole := wholeColumns(d, res.Variables)
	stat := d.lift(func(idx []int) analysis.Statistic {
		if idx == nil {
			return analysis.JointBalanceStatistic(whole, analysis.HC2)
		}
		return analysis.JointBalanceStatistic(pickColumns(whole, idx), analysis.HC2)
	})
	g := d.groupValues()
	o, done := s.riOptions("joint balance test, randomization inference")
	defer done()
	ri, err := analysis.RandomizationTest(len(g), stat, d.Draw, g, o)
	if err != nil {
		res.JointNote = "no randomization-inference p-value: " + err.Error()
		return res, nil
	}
	res.JointRI = &ri.PValue
	return res, nil
}

// wholeColumns are the named balance columns over every family of the
// analysis set a view belongs to.
func wholeColumns(d *Data, names []string) []analysis.Column {
	w := d.view.whole
	var out []analysis.Column
	for _, name := range names {
		for _, c := range w.Balance {
			if c.Name == name {
				out = append(out, c)
			}
		}
	}
	return out
}

// acrossGroups is the joint test across every group (three or more).
func acrossGroups(d *Data, s Settings) *JointTest {
	cols, _ := jointColumns(d)
	j := &JointTest{}
	for _, c := range cols {
		j.Variables = append(j.Variables, c.Name)
	}
	k := len(d.Groups)
	w, err := analysis.JointBalanceGroups(d.G, k, cols, analysis.HC2)
	if err == nil && (math.IsNaN(w.F) || math.IsInf(w.F, 0)) {
		err = fmt.Errorf("the test is not finite")
	}
	if err != nil {
		j.Note = "no joint test across the groups: " + err.Error()
		return j
	}
	j.Test = &w
	if s.Draws == 0 {
		j.Note = "no randomization-inference p-value: ri_draws is 0"
		return j
	}
	g := d.groupValues()
	ri, err := analysis.RandomizationTest(len(g), analysis.JointBalanceGroupsStatistic(k, cols, analysis.HC2), d.Draw, g, analysis.RIOptions{Draws: s.Draws, Seed: s.Seed})
	if err != nil {
		j.Note = "no randomization-inference p-value: " + err.Error()
		return j
	}
	j.RI = &ri.PValue
	return j
}
