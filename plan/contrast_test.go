package plan

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/randomize"
	"github.com/rct-trials/rct/trial"
)

func threeArms(t *testing.T, edit func(*trial.Protocol)) (*trial.Protocol, []trial.Group, map[string]string) {
	t.Helper()
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	p.Arms = []trial.Arm{{ID: "intervention", Label: "Case management"}, {ID: "light", Label: "Phone guidance"}, {ID: "control", Label: "Usual services"}}
	if edit != nil {
		edit(p)
	}
	groups := []trial.Group{{Code: "A", Index: 0, Ratio: 1}, {Code: "B", Index: 1, Ratio: 2}, {Code: "C", Index: 2, Ratio: 1}}
	// The sealed mapping puts the arms in another order than the codes.
	return p, groups, map[string]string{"A": "light", "B": "intervention", "C": "control"}
}

func ids(cs []Contrast) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return strings.Join(out, " ")
}

// TestContrasts: each arm minus the reference (the last arm, or
// analysis.reference), every pair on request; blinded, each group minus
// group A; the groups of each contrast are the right codes.
func TestContrasts(t *testing.T) {
	p, groups, arms := threeArms(t, nil)
	cs, err := contrasts(p, groups, arms)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(cs); got != "intervention-control light-control" {
		t.Errorf("default: %s", got)
	}
	if c := cs[0]; c.Ref != 2 || c.Arm != 1 || c.Codes != [2]string{"C", "B"} || c.Names != [2]string{"Usual services", "Case management"} ||
		c.Label != "intervention minus control" || !c.WithReference {
		t.Errorf("intervention-control: %+v", c)
	}
	p, groups, arms = threeArms(t, func(p *trial.Protocol) { p.Analysis.Contrasts = "pairs"; p.Analysis.Reference = "light" })
	if cs, _ = contrasts(p, groups, arms); ids(cs) != "intervention-light control-light intervention-control" || cs[2].WithReference {
		t.Errorf("pairs against light: %s %+v", ids(cs), cs)
	}
	cs, _ = contrasts(p, groups, nil)
	if ids(cs) != "B-A C-A B-C" || !strings.Contains(cs[0].Label, "blinded") || cs[0].Codes != [2]string{"A", "B"} {
		t.Errorf("blinded pairs: %s %+v", ids(cs), cs[0])
	}
	if _, err := contrasts(p, groups, map[string]string{"A": "light", "B": "intervention"}); err == nil {
		t.Error("a key without the control arm's group was accepted")
	}
}

// threeGroupData is an analysis set of n families in three groups (1:2:1,
// stratified blocks of 4 and 8), an outcome with an effect of 1 in group B
// and 0.5 in group C, and two strata.
func threeGroupData(t *testing.T, n int, p *trial.Protocol, arms map[string]string) *Data {
	t.Helper()
	groups := []trial.Group{{Code: "A", Index: 0, Ratio: 1}, {Code: "B", Index: 1, Ratio: 2}, {Code: "C", Index: 2, Ratio: 1}}
	design := randomize.Design{Method: randomize.StratifiedBlocks, Ratio: []int{1, 2, 1}, BlockSizes: []int{4, 8}, Levels: []int{2, 2}}
	src := rand.New(rand.NewPCG(4, 4))
	profiles := make([][]int, n)
	for i := range profiles {
		profiles[i] = []int{src.IntN(2), src.IntN(2)}
	}
	draw, err := DesignDraw(design, profiles, []float64{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float64, n)
	if err := draw(rand.New(rand.NewPCG(8, 8)), g); err != nil {
		t.Fatal(err)
	}
	d := &Data{Groups: groups, Method: "stratified_blocks", Draw: draw, Blinded: arms == nil, JointSkip: map[string]string{}, StrataAdjustment: "cells"}
	if d.Contrasts, err = contrasts(p, groups, arms); err != nil {
		t.Fatal(err)
	}
	y, base := make([]float64, n), make([]float64, n)
	x := analysis.Column{Name: "x", Values: make([]float64, n)}
	hh, lang := Factor{Variable: "household", Levels: make([]string, n)}, Factor{Variable: "language", Levels: make([]string, n)}
	for i := 0; i < n; i++ {
		d.Families = append(d.Families, trial.RandomizedFamily{StudyCode: "K-" + string(rune('A'+i%26)) + string(rune('A'+i/26)), Group: groups[int(g[i])].Code, Profile: profiles[i]})
		d.G = append(d.G, int(g[i]))
		hh.Levels[i], lang.Levels[i] = []string{"single", "two"}[profiles[i][0]], []string{"dutch", "other"}[profiles[i][1]]
		x.Values[i] = src.NormFloat64()
		base[i] = src.NormFloat64()
		y[i] = base[i] + []float64{0, 1, 0.5}[int(g[i])] + src.NormFloat64()
		if src.Float64() < 0.1 {
			y[i] = math.NaN()
		}
	}
	d.GroupNames = []string{"group A", "group B", "group C"}
	d.Factors = []Factor{hh, lang}
	d.Strata = cellDummies(d.Factors)
	d.Balance = []analysis.Column{x}
	d.Outcomes = []OutcomeData{{Outcome: "y", Type: "continuous", Family: "primary", Wave: "m6", Source: "survey", Y: y, Baseline: base, BaselineWave: "m0"},
		{Outcome: "y2", Type: "continuous", Family: "primary", Wave: "m12", Source: "survey", Y: base}}
	return d
}

// TestRunThreeGroups: every contrast is the two-group analysis of its
// families (the same numbers as analysing those families alone), the
// randomization statistic is the contrast's difference in means, the
// p-values are adjusted over the contrasts (pooled) or within each
// (separate), the cells of the strata are the adjustment, and the joint
// balance test across the three groups is there.
func TestRunThreeGroups(t *testing.T) {
	p, _, _ := threeArms(t, nil)
	d := threeGroupData(t, 160, p, nil)
	s := Settings{SEType: "HC2", Alpha: 0.05, Draws: 200, Seed: 3, MultipleTesting: "holm", MultipleScope: "pooled", Bootstrap: 0}
	a, err := Run(d, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Contrasts) != 2 || a.Across == nil || a.Across.Test == nil || a.Across.Test.DF1 != 2 || a.Across.RI == nil {
		t.Fatalf("contrasts %d, across %+v", len(a.Contrasts), a.Across)
	}
	var ps, adj []float64
	for ci, c := range a.Contrasts {
		pd := d.Pair(d.Contrasts[ci])
		if c.Families != len(pd.Families) || pd.Z == nil || len(pd.Z) != len(pd.Families) {
			t.Fatalf("%s: %d families, view %d", c.ID, c.Families, len(pd.Families))
		}
		for i, o := range c.Outcomes {
			want := estimate(pd, pd.Outcomes[i], s)
			if o.Estimate == nil || o.Estimate.Estimate != want.Estimate.Estimate || o.Estimate.StdError != want.Estimate.StdError {
				t.Errorf("%s %s: %+v, alone %+v", c.ID, o.Outcome, o.Estimate, want.Estimate)
			}
			if o.RI == nil || math.Abs(o.RI.Observed-o.Unadjusted.Estimate) > 1e-12 {
				t.Errorf("%s %s: RI observed %v, difference in means %v", c.ID, o.Outcome, o.RI, o.Unadjusted)
			}
			if !strings.HasPrefix(strings.Join(o.Covariates, ","), "cell=") {
				t.Errorf("%s %s: covariates %q, want the cells", c.ID, o.Outcome, o.Covariates)
			}
			ps, adj = append(ps, o.Estimate.PValue), append(adj, *o.PAdjusted)
		}
	}
	holm, _ := analysis.PAdjust(ps, "holm")
	for i := range holm {
		if holm[i] != adj[i] {
			t.Fatalf("pooled holm %v, analysis %v", holm, adj)
		}
	}
	s.MultipleScope = "separate"
	sep, err := Run(d, s)
	if err != nil {
		t.Fatal(err)
	}
	for ci, c := range sep.Contrasts {
		var ps, adj []float64
		for _, o := range c.Outcomes {
			ps, adj = append(ps, o.Estimate.PValue), append(adj, *o.PAdjusted)
		}
		holm, _ := analysis.PAdjust(ps, "holm")
		for i := range holm {
			if holm[i] != adj[i] {
				t.Errorf("contrast %d: separate holm %v, analysis %v", ci, holm, adj)
			}
		}
	}
	if a.Flow.Allocated[0]+a.Flow.Allocated[1]+a.Flow.Allocated[2] != 160 || a.Flow.Allocated[1] < 70 {
		t.Errorf("allocated %v", a.Flow.Allocated)
	}
}
