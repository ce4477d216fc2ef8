package plan

import (
	"fmt"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/trial"
)

// Contrast is one comparison of the analysis: the mean of the arm's group
// minus the mean of the reference group.
type Contrast struct {
	ID    string    `json:"id"`    // "B-A" (blinded), "intervention-control"
	Label string    `json:"label"` // what is estimated, in words
	Names [2]string `json:"names"` // the reference's and the arm's labels
	Codes [2]string `json:"codes"` // their group codes (the group column of the export)
	Ref   int       `json:"-"`     // group indices (Data.Groups)
	Arm   int       `json:"-"`
	// WithReference: the contrast compares an arm with the protocol's
	// reference arm (blinded: with group A), where receiving the
	// intervention and the dose mean what the case managers' log says.
	WithReference bool `json:"with_reference"`
}

// contrasts lists the comparisons of the analysis. Blinded (arms nil), by
// group code: each group minus group A, then (pairs) each later pair. With
// the key, by arm in the protocol's order: each arm minus the reference arm
// (analysis.reference, default the last), then (pairs) arm i minus arm j
// for i before j.
func contrasts(p *trial.Protocol, groups []trial.Group, arms map[string]string) ([]Contrast, error) {
	type unit struct {
		group       int
		id          string // group code or arm id
		word        string // in the contrast's label: "group B" or the arm id
		name        string // the group's label: "group B" or the arm's label
		isReference bool
	}
	var units []unit
	if arms == nil {
		for i, g := range groups {
			units = append(units, unit{group: i, id: g.Code, word: "group " + g.Code, name: "group " + g.Code, isReference: i == 0})
		}
	} else {
		byArm := map[string]int{}
		for i, g := range groups {
			byArm[arms[g.Code]] = i
		}
		ref := p.ReferenceArm().ID
		for _, a := range p.Arms {
			i, ok := byArm[a.ID]
			if !ok {
				return nil, fmt.Errorf("plan: arm %s has no group in the key", a.ID)
			}
			units = append(units, unit{group: i, id: a.ID, word: a.ID, name: a.Label, isReference: a.ID == ref})
		}
	}
	if len(units) != len(groups) {
		return nil, fmt.Errorf("plan: %d arms for %d groups", len(units), len(groups))
	}
	var ref unit
	for _, u := range units {
		if u.isReference {
			ref = u
		}
	}
	blind := ""
	if arms == nil {
		blind = " (blinded: which group is which arm is sealed)"
	}
	mk := func(arm, r unit) Contrast {
		return Contrast{ID: arm.id + "-" + r.id, Label: fmt.Sprintf("%s minus %s%s", arm.word, r.word, blind), Names: [2]string{r.name, arm.name},
			Codes: [2]string{groups[r.group].Code, groups[arm.group].Code},
			Ref:   r.group, Arm: arm.group, WithReference: r.isReference}
	}
	var out []Contrast
	for _, u := range units {
		if !u.isReference {
			out = append(out, mk(u, ref))
		}
	}
	if p.Analysis.Contrasts == "pairs" {
		for i, a := range units {
			for _, b := range units[i+1:] {
				if !a.isReference && !b.isReference {
					out = append(out, mk(a, b))
				}
			}
		}
	}
	return out, nil
}

// view is a two-group view of the analysis set: one contrast, and the
// whole set it is a view of.
type view struct {
	contrast Contrast
	whole    *Data
}

// setView makes d the two-group view of contrast c.
func (d *Data) setView(c Contrast) {
	d.Z = make([]float64, len(d.G))
	for i, g := range d.G {
		if g == c.Arm {
			d.Z[i] = 1
		}
	}
	d.Names, d.Contrast = c.Names, c.Label
	whole := d
	if d.view != nil {
		whole = d.view.whole
	}
	d.view = &view{contrast: c, whole: whole}
}

// Pair returns the two-group view of contrast c: the families of its two
// groups, with z = 1 for the arm's. In a trial of two groups it is d.
func (d *Data) Pair(c Contrast) *Data {
	if len(d.Groups) == 2 {
		return d
	}
	var idx []int
	for i, g := range d.G {
		if g == c.Ref || g == c.Arm {
			idx = append(idx, i)
		}
	}
	pd := &Data{Groups: d.Groups, GroupNames: d.GroupNames, Contrasts: []Contrast{c}, Blinded: d.Blinded, Method: d.Method, Draw: d.Draw,
		JointSkip: d.JointSkip, StrataAdjustment: d.StrataAdjustment, Notes: d.Notes, view: &view{whole: d}}
	pd.Families = make([]trial.RandomizedFamily, len(idx))
	pd.G = make([]int, len(idx))
	for k, i := range idx {
		pd.Families[k], pd.G[k] = d.Families[i], d.G[i]
	}
	pd.Balance = pickColumns(d.Balance, idx)
	pd.Strata = pickColumns(d.Strata, idx)
	for _, f := range d.Factors {
		lv := make([]string, len(idx))
		for k, i := range idx {
			lv[k] = f.Levels[i]
		}
		pd.Factors = append(pd.Factors, Factor{Variable: f.Variable, Levels: lv})
	}
	for _, r := range d.Responses {
		pd.Responses = append(pd.Responses, Response{Wave: r.Wave, Responded: pick(r.Responded, idx)})
	}
	for _, o := range d.Outcomes {
		po := o
		if o.Y != nil {
			po.Y = pick(o.Y, idx)
		}
		if o.Baseline != nil {
			po.Baseline = pick(o.Baseline, idx)
		}
		pd.Outcomes = append(pd.Outcomes, po)
	}
	if c := d.Compliance; c != nil {
		pd.Compliance = &Compliance{Received: pick(c.Received, idx), Dose: pick(c.Dose, idx), DoseUnit: c.DoseUnit}
	}
	pd.setView(c)
	return pd
}

func pickColumns(cols []analysis.Column, idx []int) []analysis.Column {
	out := make([]analysis.Column, len(cols))
	for k, c := range cols {
		out[k] = analysis.Column{Name: c.Name, Values: pick(c.Values, idx)}
	}
	return out
}

// lift turns a statistic of a two-group view's assignment into a statistic
// of a draw of the whole design: the families drawn into the contrast's
// two groups, with z = 1 for the arm's. columns builds the statistic over
// those families (their indices in the whole set; nil when every family is
// in, a trial of two groups).
func (d *Data) lift(columns func(idx []int) analysis.Statistic) analysis.Statistic {
	c, code := d.view.contrast, d.view.whole.codes()
	arm, ref := code[c.Arm], code[c.Ref]
	if len(d.Groups) == 2 {
		st := columns(nil)
		if arm == 1 && ref == 0 {
			return st // the draw writes z itself
		}
		return func(g []float64) (float64, error) {
			z := make([]float64, len(g))
			for i, v := range g {
				if v == arm {
					z[i] = 1
				}
			}
			return st(z)
		}
	}
	return func(g []float64) (float64, error) {
		var idx []int
		var z []float64
		for i, v := range g {
			switch v {
			case arm:
				idx, z = append(idx, i), append(z, 1)
			case ref:
				idx, z = append(idx, i), append(z, 0)
			}
		}
		return columns(idx)(z)
	}
}

// liftBits is lift for a statistic of the whole trial's draw given as bits
// (the draw of a trial in two groups): nil when st is, or when the view's
// assignment is not the draw's bits or their complement.
func (d *Data) liftBits(st analysis.BitsStatistic) analysis.BitsStatistic {
	code := d.view.whole.codes()
	arm, ref := code[d.view.contrast.Arm], code[d.view.contrast.Ref]
	switch {
	case st == nil || len(d.Groups) != 2:
		return nil
	case arm == 1 && ref == 0:
		return st
	case arm == 0 && ref == 1: // z = 1 where the draw writes 0
		return func(words []uint64, invert bool) (float64, error) { return st(words, !invert) }
	}
	return nil
}

// armRef are the group values a draw of the whole design writes for the
// view's arm (z = 1) and its reference (z = 0).
func (d *Data) armRef() (float64, float64) {
	c, code := d.view.contrast, d.view.whole.codes()
	return code[c.Arm], code[c.Ref]
}

// codes are the values a draw writes for each group.
func (d *Data) codes() []float64 {
	if d.drawCode != nil {
		return d.drawCode
	}
	code := make([]float64, len(d.Groups))
	for i := range code {
		code[i] = float64(i)
	}
	return code
}

// groupValues returns the observed groups of the whole set's families as
// a draw writes them.
func (d *Data) groupValues() []float64 {
	w := d
	if d.view != nil {
		w = d.view.whole
	}
	code := w.codes()
	g := make([]float64, len(w.G))
	for i, v := range w.G {
		g[i] = code[v]
	}
	return g
}
