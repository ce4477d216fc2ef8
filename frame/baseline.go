package frame

import (
	"context"
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
	b.Z = make([]float64, n)
	for i, f := range fams {
		if f.Group == groups[1].Code {
			b.Z[i] = 1
		}
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
	profiles := make([][]int, n)
	for i, f := range fams {
		profiles[i] = f.Profile
	}
	b.Draw, err = DesignDraw(p.Design(groups), profiles, []bool{false, true})
	if err != nil {
		return nil, err
	}
	return b, nil
}
