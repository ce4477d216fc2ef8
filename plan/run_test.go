package plan

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/trial"
)

// syntheticData is an analysis set of n families without a database: two
// strata, a stratified-block design, one continuous outcome with a
// baseline and one binary outcome.
func syntheticData(t *testing.T, n int) *Data {
	t.Helper()
	d, profiles := trialDesign(n)
	draw, err := DesignDraw(d, profiles, []float64{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	z := make([]float64, n)
	if err := draw(rand.New(rand.NewPCG(9, 9)), z); err != nil {
		t.Fatal(err)
	}
	src := rand.New(rand.NewPCG(5, 5))
	fams := make([]trial.RandomizedFamily, n)
	y, base, bin := make([]float64, n), make([]float64, n), make([]float64, n)
	lang := Factor{Variable: "language", Levels: make([]string, n)}
	dummy := analysis.Column{Name: "language=other", Values: make([]float64, n)}
	for i := range fams {
		fams[i] = trial.RandomizedFamily{StudyCode: "K-" + string(rune('A'+i%26)) + string(rune('A'+i/26)), Group: "A", Profile: profiles[i]}
		if z[i] == 1 {
			fams[i].Group = "B"
		}
		lang.Levels[i] = []string{"dutch", "other"}[profiles[i][1]]
		dummy.Values[i] = float64(profiles[i][1])
		base[i] = 1000 + 100*src.NormFloat64()
		y[i] = base[i] + 50*z[i] + 80*src.NormFloat64()
		if src.Float64() < 0.2+0.2*z[i] {
			bin[i] = 1
		}
		if src.Float64() < 0.1 {
			y[i] = math.NaN() // lost at follow-up
		}
	}
	base[3] = math.NaN() // a missing baseline: imputed
	g := make([]int, n)
	for i, v := range z {
		g[i] = int(v)
	}
	c := Contrast{ID: "B-A", Label: "group B minus group A", Names: [2]string{"group A", "group B"}, Ref: 0, Arm: 1, WithReference: true}
	d2 := &Data{Families: fams, Groups: []trial.Group{{Code: "A"}, {Code: "B", Index: 1, Ratio: 1}}, G: g, GroupNames: []string{"group A", "group B"},
		Contrasts: []Contrast{c}, Blinded: true, Method: "stratified_blocks", Draw: draw,
		Balance: []analysis.Column{dummy}, JointSkip: map[string]string{}, Strata: []analysis.Column{dummy}, Factors: []Factor{lang},
		Outcomes: []OutcomeData{
			{Outcome: "income", Type: "continuous", Family: "primary", Wave: "m6", Source: "survey", Y: y, Baseline: base, BaselineWave: "m0"},
			{Outcome: "aid", Type: "binary", Family: "primary", Source: "register ocmw", Y: bin},
		}}
	d2.setView(c)
	return d2
}

// TestRunSteps: the steps give what R would for the same model (the
// adjusted estimate is OLS on z, the strata dummy, the imputed baseline and
// its missing indicator, as analysis.OLS gives it), every primary outcome
// gets its robustness results, and the inference covers both outcomes.
func TestRunSteps(t *testing.T) {
	d := syntheticData(t, 120)
	s := Settings{SEType: "HC2", Alpha: 0.05, Draws: 200, Seed: 3, MultipleTesting: "holm", Bootstrap: 60}
	a, err := Run(d, s)
	if err != nil {
		t.Fatal(err)
	}
	c := a.Contrasts[0]
	inc := c.Outcomes[0]
	if got := strings.Join(inc.Covariates, ","); got != "language=other,income_baseline,income_baseline_missing" {
		t.Errorf("covariates %q", got)
	}
	// The same model fitted by hand.
	resp := respondentsOf(d.Outcomes[0].Y, d.Z)
	b, miss, _ := impute(pick(d.Outcomes[0].Baseline, resp.idx))
	X, names, err := analysis.Matrix(true, analysis.Column{Name: "z", Values: resp.z}, analysis.Column{Name: "s", Values: pick(d.Strata[0].Values, resp.idx)},
		analysis.Column{Name: "b", Values: b}, analysis.Column{Name: "m", Values: miss})
	if err != nil {
		t.Fatal(err)
	}
	fit, err := analysis.OLS(resp.y, X, names, analysis.OLSOptions{SE: "HC2"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fit.Term("z")
	if inc.Estimate == nil || inc.Estimate.Estimate != want.Estimate || inc.Estimate.StdError != want.StdError {
		t.Errorf("adjusted estimate %+v, want %+v", inc.Estimate, want)
	}
	for _, o := range c.Outcomes {
		if o.RIP == nil || o.PAdjusted == nil || o.Q == nil || o.Lee == nil || o.ImbensManski == nil || len(o.Subgroups) != 1 {
			t.Errorf("%s: missing results (notes %q)", o.Outcome, o.Notes)
		}
	}
	if c.Outcomes[1].RiskRatio == nil {
		t.Error("no risk ratio for the binary outcome")
	}
	if c.Balance == nil || c.Balance.JointRI == nil || c.Balance.Draws != 200 || c.Balance.Seed != 3 {
		t.Errorf("balance %+v", c.Balance)
	}
	// The same settings give the same numbers: Run is a function of its inputs.
	again, _ := Run(d, s)
	if *again.Contrasts[0].Outcomes[0].RIP != *inc.RIP || *again.Contrasts[0].Balance.JointRI != *c.Balance.JointRI {
		t.Error("two runs with the same seed differ")
	}
}

// TestRunSaysWhy: a step that cannot estimate leaves a note on the
// outcome, never silence.
func TestRunSaysWhy(t *testing.T) {
	d := syntheticData(t, 40)
	for i := range d.Outcomes[1].Y {
		d.Outcomes[1].Y[i] = 0 // no event in either group: no risk ratio, no Lee bootstrap variation
	}
	d.Outcomes = append(d.Outcomes, OutcomeData{Outcome: "satisfaction", Type: "continuous", Family: "secondary", Wave: "m6", Source: "survey", Missing: "no codebook"})
	a, err := Run(d, Settings{SEType: "HC2", Alpha: 0.05, Draws: 0, Seed: 1, MultipleTesting: "westfall_young", Bootstrap: 0})
	if err != nil {
		t.Fatal(err)
	}
	notes := func(i int) string { return a.Contrasts[0].Outcomes[i].Note() }
	for _, want := range []string{"no risk ratio", "no Imbens-Manski interval: analysis.bootstrap is 0"} {
		if !strings.Contains(notes(1), want) {
			t.Errorf("binary outcome: notes %q lack %q", notes(1), want)
		}
	}
	if notes(2) != "no codebook" {
		t.Errorf("missing outcome: notes %q", notes(2))
	}
	all := strings.Join(a.Notes, "; ")
	for _, want := range []string{"no randomization inference: ri_draws is 0", "westfall_young needs randomization inference"} {
		if !strings.Contains(all, want) {
			t.Errorf("analysis notes %q lack %q", all, want)
		}
	}
	if b := a.Contrasts[0].Balance; b.JointRI != nil || !strings.Contains(b.JointNote, "ri_draws is 0") {
		t.Errorf("balance without draws: %+v", b)
	}
}

// TestResolve: the protocol's settings, the flags' overrides, and the
// defaults for what neither gives, decided in one place.
func TestResolve(t *testing.T) {
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	s := Resolve(p, Overrides{})
	if s.Draws != 10000 || s.Seed != 1 || s.Bootstrap != 500 || s.Alpha != 0.05 || s.SEType != "HC2" || s.MultipleTesting != "holm" {
		t.Errorf("example protocol: %+v", s)
	}
	draws, seed := 0, uint64(7)
	s = Resolve(p, Overrides{Draws: &draws, Seed: &seed, Studentized: true})
	if s.Draws != 0 || s.Seed != 7 || !s.Studentized {
		t.Errorf("overrides: %+v", s)
	}
	p.Analysis = trial.Analysis{}
	s = Resolve(p, Overrides{})
	if s.Draws != DefaultDraws || s.Seed != DefaultSeed || s.Bootstrap != DefaultBootstrap || s.Alpha != DefaultAlpha || s.SEType != DefaultSE || s.MultipleTesting != "none" {
		t.Errorf("defaults: %+v", s)
	}
	b := BalanceVariables(p)
	if len(b.Domains) != 6 || !b.WeakDomains || len(b.Strata) != 2 || len(b.Survey) != 0 {
		t.Errorf("default balance variables: %+v", b)
	}
}
