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
	res, joint, err := balance(d, s)
	if err != nil {
		return nil, err
	}
	if _, err := runDraws(d, s, "joint balance test, randomization inference", nil, joint); err != nil {
		return nil, err
	}
	return res, nil
}

// balance is Balance with the joint tests' randomization inference left
// to the caller, which runs it on the draws of the outcomes' tests (the
// same seed gives the same draws): each joint test's p-value is set, or
// its note written, when the draws are done.
func balance(d *Data, s Settings) (*BalanceResult, []softTest, error) {
	res := &BalanceResult{Groups: d.GroupNames, Draws: s.Draws, Seed: s.Seed}
	var joint []softTest
	for _, c := range d.Contrasts {
		b, t, err := pairBalance(d.Pair(c), s)
		if err != nil {
			return nil, nil, err
		}
		res.Contrasts = append(res.Contrasts, b)
		joint = append(joint, t...)
	}
	if len(d.Groups) > 2 {
		var t []softTest
		res.Across, t = acrossGroups(d, s)
		joint = append(joint, t...)
	}
	return res, joint, nil
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

// pairBalance is the balance of one contrast's two groups, and the
// randomization test of its joint F still to run.
func pairBalance(d *Data, s Settings) (*BalanceReport, []softTest, error) {
	c := d.view.contrast
	res := &BalanceReport{Contrast: c.ID, Groups: [2]string{d.Groups[c.Ref].Code, d.Groups[c.Arm].Code}, Rows: []analysis.BalanceRow{}, Draws: s.Draws, Seed: s.Seed}
	rows, err := analysis.Balance(d.Z, d.Balance)
	switch {
	case errors.Is(err, analysis.ErrTooFew):
		// A small trial can have a group of one: no SD, no table; the
		// joint test below says the same in its note.
		res.RowsNote = "no balance table: " + err.Error()
	case err != nil:
		return nil, nil, err
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
		return res, nil, nil
	}
	res.Joint = &w
	if s.Draws == 0 {
		res.JointNote = "no randomization-inference p-value: ri_draws is 0"
		return res, nil, nil
	}
	whole := wholeColumns(d, res.Variables)
	var ofBits analysis.BitsStatistic
	stat := d.lift(func(idx []int) analysis.Statistic {
		if idx == nil {
			st, b := analysis.JointBalanceStatistics(whole, analysis.HC2)
			ofBits = b
			return st
		}
		return analysis.JointBalanceStatistic(pickColumns(whole, idx), analysis.HC2)
	})
	return res, []softTest{{stat: stat, bits: d.liftBits(ofBits),
		set:  func(p float64) { res.JointRI = &p },
		note: func(err error) { res.JointNote = "no randomization-inference p-value: " + err.Error() },
	}}, nil
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

// acrossGroups is the joint test across every group (three or more), and
// its randomization test still to run.
func acrossGroups(d *Data, s Settings) (*JointTest, []softTest) {
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
		return j, nil
	}
	j.Test = &w
	if s.Draws == 0 {
		j.Note = "no randomization-inference p-value: ri_draws is 0"
		return j, nil
	}
	return j, []softTest{{stat: analysis.JointBalanceGroupsStatistic(k, cols, analysis.HC2),
		set:  func(p float64) { j.RI = &p },
		note: func(err error) { j.Note = "no randomization-inference p-value: " + err.Error() },
	}}
}
