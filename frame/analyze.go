package frame

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// AnalyzeOptions configure the trial's effect analysis.
type AnalyzeOptions struct {
	Draws       int    // randomization-inference draws (default: the protocol's)
	Seed        uint64 // of the draws
	Studentized bool   // RI on the Welch t statistic instead of the difference in means
	// Arms maps each group code to its arm, read with the key; nil for the
	// blinded analysis, where groups are known by code only. With arms the
	// case managers' log is read: a family received the intervention when
	// it accepted guidance (ReceivedVariable = 1) in any month, and its dose
	// is its contacts over all months (the DoseVariables summed).
	Arms map[string]string
}

// The activity-log variables of the complier effect and the dose-response
// (those of the example codebook).
var (
	ReceivedVariable = "accepted_guidance"
	DoseVariables    = []string{"contacts_text", "contacts_phone", "contacts_home_visit", "contacts_accompanied", "contacts_email"}
)

// use is what the analysis takes from the activity log.
type use struct {
	received map[string]bool
	dose     map[string]float64
}

// Analysis is every outcome of the protocol at every wave, with balance
// and attrition: what `rct analyze` prints and the report renders.
type Analysis struct {
	Blinded         bool            `json:"blinded"`
	Groups          [2]string       `json:"groups"` // labels of z = 0 and z = 1
	Contrast        string          `json:"contrast"`
	SEType          string          `json:"se_type"`
	Alpha           float64         `json:"alpha"`
	MultipleTesting string          `json:"multiple_testing"`
	Draws           int             `json:"ri_draws"`
	RIConvention    string          `json:"ri_convention"`
	Model           string          `json:"model"`
	Balance         *BalanceReport  `json:"balance"`
	Attrition       []WaveAttrition `json:"attrition"`
	Outcomes        []OutcomeResult `json:"outcomes"`
	Families        int             `json:"families"`
	// Received counts, with the key, the families of each group who
	// accepted guidance in some month of the case managers' log.
	Received *[2]int `json:"received,omitempty"`
}

// SubgroupResult is the effect by the levels of one pre-specified
// variable (a stratification variable of the protocol) and the test that
// it is the same in all of them.
type SubgroupResult struct {
	Variable string              `json:"variable"`
	Result   *analysis.Subgroups `json:"result"`
}

// WaveAttrition is the response to a survey wave by group, and the
// baseline balance among the families who responded.
type WaveAttrition struct {
	Wave    string                `json:"wave"`
	Test    analysis.Attrition    `json:"test"`
	Balance []analysis.BalanceRow `json:"balance_among_respondents"`
}

// OutcomeResult is one outcome at one wave.
type OutcomeResult struct {
	Outcome    string              `json:"outcome"`
	Label      string              `json:"label"`
	Type       string              `json:"type"`
	Family     string              `json:"family"`
	Wave       string              `json:"wave"` // survey wave; "" for a register window
	Source     string              `json:"source"`
	N          [2]int              `json:"n"`
	Mean       [2]float64          `json:"mean"`
	SD         [2]float64          `json:"sd"`
	Estimate   *analysis.Result    `json:"estimate"`   // adjusted model
	Covariates []string            `json:"covariates"` // of the adjusted model
	Unadjusted *analysis.Result    `json:"unadjusted"` // difference in means, Welch
	RIP        *float64            `json:"ri_p_value"`
	PAdjusted  *float64            `json:"p_adjusted"`
	Q          *float64            `json:"q_value"`
	RiskRatio  *analysis.Result    `json:"risk_ratio,omitempty"` // binary: log scale estimate exponentiated
	Lee        *analysis.LeeBounds `json:"lee_bounds,omitempty"`
	// ImbensManski is the confidence interval for the effect given the Lee
	// bounds (bootstrap standard errors of the bounds, 500 resamples).
	ImbensManski   *[2]float64            `json:"imbens_manski_interval,omitempty"`
	CACE           *analysis.Result       `json:"complier_effect,omitempty"`
	Subgroups      []SubgroupResult       `json:"subgroups,omitempty"`     // primary outcomes: by each stratification variable
	Dose           *analysis.DoseResponse `json:"dose_response,omitempty"` // with the key: within the intervention group, non-experimental
	ComplianceRate *float64               `json:"compliance_rate,omitempty"`
	Note           string                 `json:"note,omitempty"`
	// MeanCI is each group's (1 − alpha) interval for its mean: mean ±
	// t(1 − alpha/2, n − 1)·SD/√n (equal to the mean when n < 2).
	MeanCI [2][2]float64 `json:"mean_ci"`
	// Baseline is the outcome's baseline measure by group (survey outcomes
	// with a baseline wave; register outcomes with a baseline window).
	Baseline *GroupMeans `json:"baseline,omitempty"`
	// RI is the randomization test of the outcome; its null distribution
	// (RI.Null) is kept in memory for the report's figure, not in JSON.
	RI *analysis.RIResult `json:"-"`

	y []float64
}

// GroupMeans are a measure's N, mean, SD and interval for the mean by
// group, at a survey wave ("" for a register window).
type GroupMeans struct {
	Wave string `json:"wave,omitempty"`
	analysis.GroupMeans
}

// Analyze assembles the analysis frame from the trial database and
// estimates every protocol outcome at every wave: N, mean and SD per
// group; the adjusted effect (OLS of the outcome on the assignment, the
// strata and the outcome's baseline measure, with the protocol's standard
// errors); the unadjusted difference in means; the randomization-inference
// p-value re-running the trial's own design; p-values adjusted within each
// outcome family and sharpened q-values; risk ratios for binary outcomes;
// Lee bounds for primary outcomes; and, with the key, the complier effect.
func Analyze(ctx context.Context, db *trial.DB, p *trial.Protocol, o AnalyzeOptions) (*Analysis, error) {
	b, err := LoadBaseline(ctx, db, p)
	if err != nil {
		return nil, err
	}
	if o.Draws == 0 && p.Analysis.RIDraws != nil {
		o.Draws = *p.Analysis.RIDraws
	}
	alpha := p.Analysis.Alpha
	if alpha == 0 {
		alpha = 0.05
	}
	se := p.Analysis.SEType
	if se == "" {
		se = analysis.HC2
	}
	a := &Analysis{Blinded: o.Arms == nil, SEType: se, Alpha: alpha, MultipleTesting: p.Analysis.MultipleTesting, Draws: o.Draws,
		Families: len(b.Families), Attrition: []WaveAttrition{}}
	a.Groups = [2]string{"group " + b.Groups[0].Code, "group " + b.Groups[1].Code}
	a.Contrast = fmt.Sprintf("group %s minus group %s (blinded: which group is which arm is sealed)", b.Groups[1].Code, b.Groups[0].Code)
	if o.Arms != nil {
		// Unblinded: z = 1 for the protocol's first arm (the intervention).
		if err := b.Unblind(p, o.Arms); err != nil {
			return nil, err
		}
		a.Groups = [2]string{p.Arms[1].Label, p.Arms[0].Label}
		a.Contrast = fmt.Sprintf("%s minus %s", p.Arms[0].ID, p.Arms[1].ID)
	}
	stat := "|difference in means|"
	if o.Studentized {
		stat = "|Welch t|"
	}
	a.RIConvention = fmt.Sprintf("p = (c + 1)/(B + 1), two-sided on %s among respondents, c = draws at least as extreme, B = %d draws of the trial's own design (%s)",
		stat, o.Draws, p.Randomization.Method)
	a.Model = fmt.Sprintf("OLS of the outcome on the assignment, the strata dummies and the outcome's baseline measure (missing baselines set to the mean, with an indicator); %s standard errors, t-based p-values and %g%% intervals", se, 100*(1-alpha))
	if bal, err := b.Balance(min(o.Draws, 2000), o.Seed); err == nil {
		a.Balance = bal
	}
	cb, _, cbErr := survey.Current(ctx, db, p)
	var u *use
	if o.Arms != nil && cbErr == nil {
		cl, err := LoadCaseLog(ctx, db, cb)
		if err != nil {
			return nil, err
		}
		u = &use{received: map[string]bool{}, dose: map[string]float64{}}
		for code, x := range cl.Totals[ReceivedVariable] {
			u.received[code] = x == 1
		}
		// Who received the intervention, by group, for the flow diagram.
		a.Received = &[2]int{}
		for i, f := range b.Families {
			if u.received[f.StudyCode] {
				a.Received[int(b.Z[i])]++
			}
		}
		for _, v := range DoseVariables {
			for code, x := range cl.Totals[v] {
				u.dose[code] += x
			}
		}
	}
	// Attrition per survey wave: a family responded when its interview is in.
	responded := map[string]map[string]bool{}
	for _, w := range p.Waves {
		if cbErr != nil {
			break
		}
		ans, err := survey.Answers(ctx, db, w.ID, "interview_date")
		if err != nil {
			return nil, err
		}
		resp := make([]float64, len(b.Families))
		responded[w.ID] = map[string]bool{}
		for i, f := range b.Families {
			if _, ok := ans[f.StudyCode]; ok {
				resp[i] = 1
				responded[w.ID][f.StudyCode] = true
			}
		}
		if len(responded[w.ID]) == 0 {
			continue // no interview of this wave yet
		}
		if t, err := analysis.AttritionTest(resp, b.Z); err == nil && finite(t.Test) {
			wa := WaveAttrition{Wave: w.ID, Test: t}
			var idx []int
			for i, r := range resp {
				if r == 1 {
					idx = append(idx, i)
				}
			}
			covs := make([]analysis.Column, len(b.Covs))
			for k, c := range b.Covs {
				covs[k] = analysis.Column{Name: c.Name, Values: pick(c.Values, idx)}
			}
			if rows, err := analysis.Balance(pick(b.Z, idx), covs); err == nil {
				for _, r := range rows {
					if !math.IsNaN(r.NormDiff+r.PValue) && !math.IsInf(r.NormDiff+r.PValue, 0) {
						wa.Balance = append(wa.Balance, r)
					}
				}
			}
			a.Attrition = append(a.Attrition, wa)
		}
	}
	// Outcome columns.
	for _, out := range p.Outcomes {
		var waves []string
		if out.Source.Survey != "" {
			waves = out.Source.Waves
		} else {
			waves = []string{""}
		}
		var base []float64
		if out.Source.Survey == "" {
			vals, err := db.OutcomeValues(ctx, out.ID+"_baseline")
			if err != nil {
				return nil, err
			}
			if len(vals) > 0 {
				base = column(b.Families, func(code string) float64 { return valueOr(vals, code) })
			}
		} else if out.Baseline != nil && out.Baseline.Wave != "" && cbErr == nil {
			ans, err := survey.Answers(ctx, db, out.Baseline.Wave, out.Source.Survey)
			if err != nil {
				return nil, err
			}
			base = column(b.Families, func(code string) float64 { return number(cb, ans[code]) })
		}
		for _, w := range waves {
			r := OutcomeResult{Outcome: out.ID, Label: out.Label, Type: out.Type, Family: out.Family, Wave: w}
			switch {
			case out.Source.Survey != "" && cbErr != nil:
				r.Source, r.Note = "survey", cbErr.Error()
				a.Outcomes = append(a.Outcomes, r)
				continue
			case out.Source.Survey != "":
				r.Source = "survey"
				ans, err := survey.Answers(ctx, db, w, out.Source.Survey)
				if err != nil {
					return nil, err
				}
				r.y = column(b.Families, func(code string) float64 { return number(cb, ans[code]) })
			default:
				r.Source = "register " + out.Source.Register
				vals, err := db.OutcomeValues(ctx, out.ID)
				if err != nil {
					return nil, err
				}
				r.y = column(b.Families, func(code string) float64 { return valueOr(vals, code) })
			}
			estimateOne(&r, b, p.Randomization.Strata, base, se, alpha, u)
			if r.Baseline != nil && out.Baseline != nil {
				r.Baseline.Wave = out.Baseline.Wave
			}
			a.Outcomes = append(a.Outcomes, r)
		}
	}
	// JSON has no NaN or infinity: a result that is not finite (a risk
	// ratio with no events in a group, a bound of a degenerate sample) is
	// left out with a note.
	for i := range a.Outcomes {
		r := &a.Outcomes[i]
		for _, x := range []struct {
			p    **analysis.Result
			what string
		}{{&r.Estimate, "adjusted estimate"}, {&r.Unadjusted, "unadjusted estimate"}, {&r.RiskRatio, "risk ratio"}, {&r.CACE, "complier effect"}} {
			if *x.p != nil && !finite(**x.p) {
				*x.p = nil
				r.Note = strings.TrimPrefix(r.Note+"; no finite "+x.what, "; ")
			}
		}
		if r.Lee != nil && (math.IsNaN(r.Lee.Lower+r.Lee.Upper) || math.IsInf(r.Lee.Lower+r.Lee.Upper, 0)) {
			r.Lee = nil
		}
	}
	if err := a.inference(b, o); err != nil {
		return nil, err
	}
	return a, nil
}

// finiteSubgroups reports whether every subgroup effect and the
// interaction test are finite.
func finiteSubgroups(sg *analysis.Subgroups) bool {
	for _, e := range sg.Effects {
		if !finite(e.Result) {
			return false
		}
	}
	w := sg.Interaction
	return finite(analysis.Result{Estimate: w.F, StdError: w.DF1, DF: w.DF2, PValue: w.PValue})
}

// finite reports whether every number of a result is finite.
func finite(r analysis.Result) bool {
	for _, v := range []float64{r.Estimate, r.StdError, r.Statistic, r.DF, r.PValue, r.ConfLow, r.ConfHigh} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func column(fams []trial.RandomizedFamily, f func(code string) float64) []float64 {
	out := make([]float64, len(fams))
	for i, fam := range fams {
		out[i] = f(fam.StudyCode)
	}
	return out
}

func valueOr(m map[string]float64, code string) float64 {
	if v, ok := m[code]; ok {
		return v
	}
	return math.NaN()
}

// number reads a stored answer as a number: blank, missing codes and text
// are NaN.
func number(cb *survey.Codebook, s string) float64 {
	if s == "" {
		return math.NaN()
	}
	if _, miss := cb.IsMissing(s); miss {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// estimateOne fills the descriptive statistics and the estimates of one
// outcome at one wave.
func estimateOne(r *OutcomeResult, b *Baseline, strata []trial.Variable, base []float64, se string, alpha float64, u *use) {
	var yr, zr []float64
	var idx []int
	for i, v := range r.y {
		if !math.IsNaN(v) {
			yr, zr, idx = append(yr, v), append(zr, b.Z[i]), append(idx, i)
		}
	}
	gm, _ := analysis.DescribeGroups(r.y, b.Z, alpha) // z is 0/1 and alpha checked: no error
	r.N, r.Mean, r.SD, r.MeanCI = gm.N, gm.Mean, gm.SD, gm.MeanCI
	if base != nil {
		bm, _ := analysis.DescribeGroups(base, b.Z, alpha)
		r.Baseline = &GroupMeans{GroupMeans: bm}
	}
	if r.N[0] < 2 || r.N[1] < 2 {
		r.Note = fmt.Sprintf("too few respondents to estimate (%d and %d)", r.N[0], r.N[1])
		return
	}
	if d, err := analysis.DifferenceInMeans(yr, zr, nil, alpha); err == nil {
		r.Unadjusted = &d
	} else {
		r.Note = err.Error()
		return
	}
	// Adjusted: strata dummies that vary among respondents, and the
	// baseline measure with missing values set to the mean and flagged.
	cols := []analysis.Column{{Name: "z", Values: zr}}
	for _, c := range b.Covs {
		if len(c.Name) > 5 && c.Name[:5] == "weak_" {
			continue
		}
		v := pick(c.Values, idx)
		if varies(v) {
			cols = append(cols, analysis.Column{Name: c.Name, Values: v})
		}
	}
	if base != nil {
		v := pick(base, idx)
		var m float64
		var n int
		miss := make([]float64, len(v))
		for _, x := range v {
			if !math.IsNaN(x) {
				m += x
				n++
			}
		}
		if n > 0 {
			m /= float64(n)
			any := false
			for i, x := range v {
				if math.IsNaN(x) {
					v[i], miss[i], any = m, 1, true
				}
			}
			if varies(v) {
				cols = append(cols, analysis.Column{Name: r.Outcome + "_baseline", Values: v})
				if any && varies(miss) {
					cols = append(cols, analysis.Column{Name: r.Outcome + "_baseline_missing", Values: miss})
				}
			}
		}
	}
	for len(cols) >= 1 {
		X, names, err := analysis.Matrix(true, cols...)
		if err == nil {
			var fit *analysis.Fit
			if fit, err = analysis.OLS(yr, X, names, analysis.OLSOptions{SE: se, Alpha: alpha}); err == nil {
				t, _ := fit.Term("z")
				if finite(t) {
					r.Estimate = &t
					for _, c := range cols[1:] {
						r.Covariates = append(r.Covariates, c.Name)
					}
					break
				}
				// A leverage of one (too many covariates for the
				// respondents) leaves no finite standard error.
				err = fmt.Errorf("no finite %s standard error", se)
			}
		}
		if len(cols) == 1 {
			r.Note = "no adjusted estimate: " + err.Error()
			break
		}
		cols = cols[:len(cols)-1] // drop the last covariate and try again
	}
	if r.Type == "binary" {
		if rr, err := analysis.RiskRatio(yr, zr, alpha); err == nil {
			r.RiskRatio = &rr
		}
	}
	if r.Family == "primary" {
		if lb, err := analysis.Lee(r.y, b.Z); err == nil {
			r.Lee = &lb
			if sl, su, err := analysis.LeeBootstrap(r.y, b.Z, 500, 1); err == nil {
				if lo, hi, err := analysis.ImbensManski(lb.Lower, lb.Upper, sl, su, alpha); err == nil && !math.IsNaN(lo+hi) && !math.IsInf(lo+hi, 0) {
					r.ImbensManski = &[2]float64{lo, hi}
				}
			}
		}
	}
	if r.Family == "primary" {
		for j, v := range strata {
			levels := make([]string, len(idx))
			for k, i := range idx {
				levels[k] = v.Values[b.Families[i].Profile[j]]
			}
			if sg, err := analysis.Heterogeneity(yr, zr, levels, se); err == nil && finiteSubgroups(sg) {
				r.Subgroups = append(r.Subgroups, SubgroupResult{Variable: v.ID, Result: sg})
			}
		}
	}
	if u != nil {
		dose := make([]float64, len(idx))
		for k, i := range idx {
			dose[k] = u.dose[b.Families[i].StudyCode]
		}
		if dr, err := analysis.Dose(yr, dose, zr, se); err == nil && finite(dr.Result) {
			r.Dose = &dr
		}
	}
	if u != nil {
		d := make([]float64, len(idx))
		var treated, got float64
		for j, i := range idx {
			if u.received[b.Families[i].StudyCode] {
				d[j] = 1
			}
			if zr[j] == 1 {
				treated++
				got += d[j]
			}
		}
		if treated > 0 {
			rate := got / treated
			r.ComplianceRate = &rate
		}
		X, _, err1 := analysis.Matrix(true, analysis.Column{Name: "received", Values: d})
		Z, _, err2 := analysis.Matrix(true, analysis.Column{Name: "z", Values: zr})
		if err1 == nil && err2 == nil {
			if fit, err := analysis.IV2SLS(yr, X, Z, []string{"(Intercept)", "received"}, analysis.OLSOptions{SE: se, Alpha: alpha}); err == nil {
				if t, ok := fit.Term("received"); ok {
					r.CACE = &t
				}
			}
		}
	}
}

func pick(x []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for j, i := range idx {
		out[j] = x[i]
	}
	return out
}

// inference adds randomization inference (one set of draws for every
// outcome, as Westfall-Young and Romano-Wolf need) and the p-values
// adjusted within each outcome family.
func (a *Analysis) inference(b *Baseline, o AnalyzeOptions) error {
	var stats []analysis.Statistic
	var which []int
	for i := range a.Outcomes {
		r := &a.Outcomes[i]
		if r.Unadjusted == nil {
			continue
		}
		y := r.y
		stats = append(stats, func(z []float64) (float64, error) {
			var yr, zr []float64
			for k, v := range y {
				if !math.IsNaN(v) {
					yr, zr = append(yr, v), append(zr, z[k])
				}
			}
			if o.Studentized {
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
		})
		which = append(which, i)
	}
	var tests []*analysis.RIResult
	if len(stats) > 0 && o.Draws > 0 {
		var err error
		tests, err = analysis.RandomizationTests(len(b.Z), stats, b.Draw, b.Z, analysis.RIOptions{Draws: o.Draws, Seed: o.Seed})
		if err != nil {
			return err
		}
		for k, i := range which {
			p := tests[k].PValue
			a.Outcomes[i].RIP = &p
			a.Outcomes[i].RI = tests[k]
		}
	}
	// Adjustment within each family, over its outcomes × waves.
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
