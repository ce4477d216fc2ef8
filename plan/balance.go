package plan

import (
	"errors"
	"fmt"

	"github.com/rct-trials/rct/analysis"
)

// Balance describes every baseline variable of the balance table by group
// and tests them jointly: the HC2 Wald F of the assignment on the
// variables that vary (less those the analysis set leaves out: the number
// of weak domains when every domain is in, their sum; survey variables
// with missing answers), with the randomization-inference p-value of that
// F over s.Draws draws of the trial's own design (seed s.Seed). When the
// families are too few for the table or the joint test, the notes say so.
func Balance(d *Data, s Settings) (*BalanceReport, error) {
	res := &BalanceReport{Groups: [2]string{d.Groups[0].Code, d.Groups[1].Code}, Rows: []analysis.BalanceRow{}, Draws: s.Draws, Seed: s.Seed}
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
	var joint []analysis.Column
	for _, c := range d.Balance {
		if why, skip := d.JointSkip[c.Name]; skip {
			res.LeftOut = append(res.LeftOut, fmt.Sprintf("%s (%s)", c.Name, why))
			continue
		}
		if varies(c.Values) {
			joint = append(joint, c)
			res.Variables = append(res.Variables, c.Name)
		}
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
	ri, err := analysis.RandomizationTest(len(d.Z), analysis.JointBalanceStatistic(joint, analysis.HC2), d.Draw, d.Z, analysis.RIOptions{Draws: s.Draws, Seed: s.Seed})
	if err != nil {
		res.JointNote = "no randomization-inference p-value: " + err.Error()
		return res, nil
	}
	res.JointRI = &ri.PValue
	return res, nil
}
