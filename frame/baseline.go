package frame

import (
	"context"
	"errors"
	"fmt"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/trial"
)

// Baseline is the analysis frame of randomized families before outcomes:
// the assignment (1 for the second group code, B, 0 for A: blinded), the
// baseline covariates known at enrolment, and the design to re-run for
// randomization inference.
type Baseline struct {
	Families []trial.RandomizedFamily
	Groups   []trial.Group
	Z        []float64
	Covs     []analysis.Column // weak on each domain, weak count, strata dummies
	Draw     analysis.Draw
}

// LoadBaseline assembles the frame from the trial database.
func LoadBaseline(ctx context.Context, db *trial.DB, p *trial.Protocol) (*Baseline, error) {
	fams, err := db.Randomized(ctx, p)
	if err != nil {
		return nil, err
	}
	groups, err := db.Groups(ctx)
	if err != nil {
		return nil, err
	}
	if len(fams) < 4 || len(groups) != 2 {
		return nil, fmt.Errorf("balance needs at least four randomized families in two groups (have %d families, %d groups)", len(fams), len(groups))
	}
	b := &Baseline{Families: fams, Groups: groups}
	n := len(fams)
	// Blinded: z = 1 for the second group code.
	if err := b.assign(p, []bool{false, true}); err != nil {
		return nil, err
	}
	for _, d := range p.Eligibility.Domains {
		c := analysis.Column{Name: "weak_" + d, Values: make([]float64, n)}
		for i, f := range fams {
			if f.Domains[d] {
				c.Values[i] = 1
			}
		}
		b.Covs = append(b.Covs, c)
	}
	wc := analysis.Column{Name: "weak_domains", Values: make([]float64, n)}
	for i, f := range fams {
		wc.Values[i] = float64(f.Weak)
	}
	b.Covs = append(b.Covs, wc)
	for j, v := range p.Randomization.Strata {
		for l, val := range v.Values[1:] {
			c := analysis.Column{Name: v.ID + "=" + val, Values: make([]float64, n)}
			for i, f := range fams {
				if f.Profile[j] == l+1 {
					c.Values[i] = 1
				}
			}
			b.Covs = append(b.Covs, c)
		}
	}
	return b, nil
}

// assign sets the assignment z (1 for the families of the groups treated
// marks, by group index) and the design draw that re-randomizes it.
func (b *Baseline) assign(p *trial.Protocol, treated []bool) error {
	b.Z = make([]float64, len(b.Families))
	profiles := make([][]int, len(b.Families))
	for i, f := range b.Families {
		profiles[i] = f.Profile
		for gi, g := range b.Groups {
			if f.Group == g.Code && treated[gi] {
				b.Z[i] = 1
			}
		}
	}
	var err error
	b.Draw, err = DesignDraw(p.Design(b.Groups), profiles, treated)
	return err
}

// Unblind sets z = 1 for the families of the protocol's first arm (the
// intervention), given which group code is which arm.
func (b *Baseline) Unblind(p *trial.Protocol, arms map[string]string) error {
	treated := make([]bool, len(b.Groups))
	for i, g := range b.Groups {
		treated[i] = arms[g.Code] == p.Arms[0].ID
	}
	return b.assign(p, treated)
}

// BalanceReport is the baseline balance of the randomized groups.
type BalanceReport struct {
	Groups    [2]string             `json:"groups"` // z = 0, z = 1
	Rows      []analysis.BalanceRow `json:"rows"`
	RowsNote  string                `json:"rows_note,omitempty"` // why the table is empty
	Joint     *analysis.WaldTest    `json:"joint"`
	JointRI   *float64              `json:"joint_ri_p_value"`
	JointNote string                `json:"joint_note,omitempty"` // why a joint test is missing
	Draws     int                   `json:"draws"`
	Variables []string              `json:"joint_variables"`
}

// Balance describes every covariate by group and tests them jointly (HC2
// Wald F of the group on the covariates that vary, without the count of
// weak domains, which is their sum), with the randomization-inference
// p-value of that F over draws of the trial's own design. When the
// families are too few for the joint test, the note says so.
func (b *Baseline) Balance(draws int, seed uint64) (*BalanceReport, error) {
	res := &BalanceReport{Groups: [2]string{b.Groups[0].Code, b.Groups[1].Code}, Rows: []analysis.BalanceRow{}, Draws: draws}
	rows, err := analysis.Balance(b.Z, b.Covs)
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
	for _, c := range b.Covs {
		if c.Name != "weak_domains" && varies(c.Values) {
			joint = append(joint, c)
			res.Variables = append(res.Variables, c.Name)
		}
	}
	w, err := analysis.JointBalance(b.Z, joint, analysis.HC2)
	if err != nil {
		res.JointNote = "no joint test: " + err.Error()
		return res, nil
	}
	res.Joint = &w
	ri, err := analysis.RandomizationTest(len(b.Z), analysis.JointBalanceStatistic(joint, analysis.HC2), b.Draw, b.Z, analysis.RIOptions{Draws: draws, Seed: seed})
	if err != nil {
		res.JointNote = "no randomization-inference p-value: " + err.Error()
		return res, nil
	}
	res.JointRI = &ri.PValue
	return res, nil
}

func varies(x []float64) bool {
	for _, v := range x {
		if v != x[0] {
			return true
		}
	}
	return false
}
