package plan

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/trial"
)

// Analyze loads the analysis set of the trial and runs the protocol's
// analysis on it with the settings s; k (read with the key) unblinds it.
func Analyze(ctx context.Context, db *trial.DB, p *trial.Protocol, s Settings, k *Keyed) (*Analysis, error) {
	w := Warm(ctx, db, p, s)
	defer w.Stop()
	return w.Analyze(ctx, db, p, s, k)
}

// Warmed is the trial's design read ahead of its analysis, the draws of
// its randomization tests being replayed on a goroutine of its own.
type Warmed struct {
	groups   []trial.Group
	profiles [][]int
	design   *designDraws
	stop     func()
}

// Warm reads the trial's design (its groups and the randomized families'
// strata in allocation order) and starts replaying the draws of s's
// randomization tests: they depend on nothing else, so the other core
// replays them while the families, their answers and their register
// outcomes are read on one, and whatever a command reads before it
// analyses (a report's context). Nil when there is nothing to replay (no
// draws, or a design the analysis refuses: it says why). Stop ends it.
func Warm(ctx context.Context, db *trial.DB, p *trial.Protocol, s Settings) *Warmed {
	if s.Draws <= 0 {
		return nil
	}
	groups, err := db.Groups(ctx)
	if err != nil {
		return nil
	}
	profiles, err := db.Profiles(ctx, p)
	if err != nil || len(profiles) < 4 || len(groups) < 2 {
		return nil
	}
	dd, err := newDesignDraws(p.Design(groups), profiles)
	if err != nil {
		return nil
	}
	return &Warmed{groups: groups, profiles: profiles, design: dd, stop: dd.warm(s.Seed, s.Draws)}
}

// Stop ends the warming and lets go of the draws not taken; nil does
// nothing, and so does a second call.
func (w *Warmed) Stop() {
	if w != nil {
		w.stop()
	}
}

// Analyze is plan.Analyze on the design w read and the draws it keeps;
// nil reads the design now and replays every draw in the tests.
func (w *Warmed) Analyze(ctx context.Context, db *trial.DB, p *trial.Protocol, s Settings, k *Keyed) (*Analysis, error) {
	d, err := load(ctx, db, p, k, w)
	if err != nil {
		return nil, err
	}
	return Run(d, s)
}

// Run estimates every outcome of the analysis set at every wave, in the
// protocol's steps: balance at baseline, attrition per wave, then per
// outcome describe, estimate (unadjusted; adjusted on the strata and the
// imputed baseline), robustness (risk ratio, Lee bounds, subgroups,
// complier effect, dose-response), and last the inference over all
// outcomes (randomization tests on one set of draws, p-values adjusted
// within each outcome family, sharpened q-values).
func Run(d *Data, s Settings) (*Analysis, error) {
	if len(d.G) != len(d.Families) {
		return nil, fmt.Errorf("plan: %d groups for %d families", len(d.G), len(d.Families))
	}
	a := &Analysis{Blinded: d.Blinded, Groups: d.GroupNames, SEType: s.SEType, Alpha: s.Alpha, MultipleTesting: s.MultipleTesting,
		MultipleScope: s.MultipleScope, StrataAdjustment: d.StrataAdjustment, Draws: s.Draws, Seed: s.Seed, Bootstrap: s.Bootstrap,
		Families: len(d.Families), Notes: append([]string{}, d.Notes...)}
	stat := "|difference in means|"
	if s.Studentized {
		stat = "|Welch t|"
	}
	a.RIConvention = fmt.Sprintf("p = (c + 1)/(B + 1), two-sided on %s among respondents, c = draws at least as extreme, B = %d draws of the trial's own design (%s)",
		stat, s.Draws, d.Method)
	strata := "the strata dummies (a dummy for every level but the first of each stratification variable)"
	if d.StrataAdjustment == "cells" {
		strata = "the stratum-cell dummies (a dummy for every randomization stratum but the first: fixed effects of the strata)"
	}
	a.Model = fmt.Sprintf("OLS of the outcome on the assignment, %s and the outcome's baseline measure (missing baselines set to the mean, with an indicator); %s standard errors, t-based p-values and %g%% intervals", strata, s.SEType, 100*(1-s.Alpha))
	bal, joint, err := balance(d, s)
	if err != nil {
		return nil, err
	}
	a.Across = bal.Across
	a.flow(d)
	for i, c := range d.Contrasts {
		pd := d.Pair(c)
		cr := &ContrastResult{Contrast: c, Families: len(pd.Families), Balance: bal.Contrasts[i], Attrition: []WaveAttrition{}}
		cr.attrition(pd, a)
		cr.Outcomes = estimateAll(pd, s)
		a.Contrasts = append(a.Contrasts, cr)
	}
	if err := a.infer(d, s, joint); err != nil {
		return nil, err
	}
	return a, nil
}

// flow counts the families of each group through the trial.
func (a *Analysis) flow(d *Data) {
	k := len(d.Groups)
	perGroup := func(x []float64) []int {
		n := make([]int, k)
		for i, g := range d.G {
			if x == nil || (!math.IsNaN(x[i]) && x[i] != 0) {
				n[g]++
			}
		}
		return n
	}
	withdrawn := make([]float64, len(d.Families))
	for i, f := range d.Families {
		if f.Withdrawn {
			withdrawn[i] = 1
		}
	}
	a.Flow = GroupFlow{Allocated: perGroup(nil), Withdrawn: perGroup(withdrawn), Offers: d.Offers, ReceiptUnknown: d.ReceiptUnknown,
		Responded: []StageCount{}, Analysed: []OutcomeCount{}}
	if c := d.Compliance; c != nil {
		a.Flow.Received = perGroup(c.Received)
	}
	for _, r := range d.Responses {
		a.Flow.Responded = append(a.Flow.Responded, StageCount{Wave: r.Wave, N: perGroup(r.Responded)})
	}
	for _, o := range d.Outcomes {
		if o.Y == nil {
			continue
		}
		has := make([]float64, len(o.Y))
		for i, v := range o.Y {
			if !math.IsNaN(v) {
				has[i] = 1
			}
		}
		a.Flow.Analysed = append(a.Flow.Analysed, OutcomeCount{Outcome: o.Outcome, Wave: o.Wave, Family: o.Family, N: perGroup(has)})
	}
}

// attrition tests differential response at each wave and describes the
// baseline variables among the respondents.
func (cr *ContrastResult) attrition(d *Data, a *Analysis) {
	for _, w := range d.Responses {
		t, err := analysis.AttritionTest(w.Responded, d.Z)
		if err == nil && !finite(t.Test) {
			err = fmt.Errorf("the test is not finite")
		}
		if err != nil {
			note := fmt.Sprintf("no attrition test at %s: %v", w.Wave, err)
			if len(a.Contrasts) > 0 || len(d.Groups) > 2 {
				note = fmt.Sprintf("no attrition test at %s (%s): %v", w.Wave, cr.ID, err)
			}
			a.Notes = append(a.Notes, note)
			continue
		}
		wa := WaveAttrition{Wave: w.Wave, Test: t}
		idx := where(w.Responded, func(r float64) bool { return r == 1 })
		covs := make([]analysis.Column, len(d.Balance))
		for k, c := range d.Balance {
			covs[k] = analysis.Column{Name: c.Name, Values: pick(c.Values, idx)}
		}
		rows, err := analysis.Balance(pick(d.Z, idx), covs)
		if err != nil {
			wa.Note = "no balance among respondents: " + err.Error()
		}
		for _, r := range rows {
			if !math.IsNaN(r.NormDiff+r.PValue) && !math.IsInf(r.NormDiff+r.PValue, 0) {
				wa.Balance = append(wa.Balance, r)
			}
		}
		cr.Attrition = append(cr.Attrition, wa)
	}
}

// respondents are the families with a value of the outcome.
type respondents struct {
	idx    []int     // their index among the families
	y, z   []float64 // their outcome and assignment
	source []float64 // the outcome of every family (NaN: missing)
}

func respondentsOf(y, z []float64) respondents {
	r := respondents{source: y}
	r.idx = where(y, func(v float64) bool { return !math.IsNaN(v) })
	r.y, r.z = pick(y, r.idx), pick(z, r.idx)
	return r
}

// estimateAll estimates every outcome of d, the outcomes shared among
// the cores, each result in its place: estimate only reads the data. One
// after another, at 80,000 families, they kept one core busy for a second
// while the other waited for the randomization tests.
func estimateAll(d *Data, s Settings) []OutcomeResult {
	if len(d.Outcomes) == 0 {
		return nil
	}
	out := make([]OutcomeResult, len(d.Outcomes))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(d.Outcomes)) {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < len(out); k = int(next.Add(1) - 1) {
				out[k] = estimate(d, d.Outcomes[k], s)
			}
		})
	}
	wg.Wait()
	return out
}

// estimate runs the per-outcome steps: describe, estimate, robustness.
func estimate(d *Data, o OutcomeData, s Settings) OutcomeResult {
	r := OutcomeResult{Outcome: o.Outcome, Label: o.Label, Type: o.Type, Family: o.Family, Wave: o.Wave, Source: o.Source,
		Column: o.Column, BaselineColumn: o.BaselineColumn}
	if o.Y == nil {
		r.note("%s", o.Missing)
		return r
	}
	describe(&r, d, o, s.Alpha)
	if r.N[0] < 2 || r.N[1] < 2 {
		r.note("too few respondents to estimate (%d and %d)", r.N[0], r.N[1])
		return r
	}
	resp := respondentsOf(o.Y, d.Z)
	u, err := analysis.DifferenceInMeans(resp.y, resp.z, nil, s.Alpha)
	if err != nil {
		r.note("%v", err)
		return r
	}
	r.Unadjusted = &u
	adjusted(&r, resp, adjust(d, o, resp), s)
	riskRatio(&r, resp, s)
	if o.Family == "primary" {
		lee(&r, o.Y, d.Z, s)
		subgroups(&r, d, resp, s)
	}
	if d.Compliance != nil && d.view.contrast.WithReference {
		dose(&r, d, resp, s)
		complier(&r, d, resp, s)
	}
	keepFinite(&r)
	return r
}

// describe gives N, mean, SD and the intervals of the means by group, of
// the outcome and of its baseline measure.
func describe(r *OutcomeResult, d *Data, o OutcomeData, alpha float64) {
	gm, _ := analysis.DescribeGroups(o.Y, d.Z, alpha) // z is 0/1 and alpha resolved: no error
	r.N, r.Mean, r.SD, r.MeanCI = gm.N, gm.Mean, gm.SD, gm.MeanCI
	if o.Baseline != nil {
		bm, _ := analysis.DescribeGroups(o.Baseline, d.Z, alpha)
		r.Baseline = &GroupMeans{Wave: o.BaselineWave, GroupMeans: bm}
	}
}

// adjust returns the covariates of the adjusted model among the
// respondents: the strata dummies that vary, then the baseline measure
// imputed (missing set to the mean, flagged by an indicator).
func adjust(d *Data, o OutcomeData, resp respondents) []analysis.Column {
	var cols []analysis.Column
	for _, c := range d.Strata {
		if v := pick(c.Values, resp.idx); varies(v) {
			cols = append(cols, analysis.Column{Name: c.Name, Values: v})
		}
	}
	if o.Baseline == nil {
		return cols
	}
	v, miss, ok := impute(pick(o.Baseline, resp.idx))
	if ok && varies(v) {
		cols = append(cols, analysis.Column{Name: o.Outcome + "_baseline", Values: v})
		if varies(miss) {
			cols = append(cols, analysis.Column{Name: o.Outcome + "_baseline_missing", Values: miss})
		}
	}
	return cols
}

// impute sets missing values (NaN) to the mean of the others and returns
// the indicator of those it set; ok is false when every value is missing.
func impute(x []float64) (values, missing []float64, ok bool) {
	var m float64
	var n int
	for _, v := range x {
		if !math.IsNaN(v) {
			m += v
			n++
		}
	}
	if n == 0 {
		return x, nil, false
	}
	m /= float64(n)
	values, missing = make([]float64, len(x)), make([]float64, len(x))
	for i, v := range x {
		values[i] = v
		if math.IsNaN(v) {
			values[i], missing[i] = m, 1
		}
	}
	return values, missing, true
}

// adjusted fits OLS of the outcome on the assignment and the covariates;
// when the fit has no finite standard error (a leverage of one: too many
// covariates for the respondents) the last covariate is dropped and the
// model fitted again.
func adjusted(r *OutcomeResult, resp respondents, covs []analysis.Column, s Settings) {
	// Covariates collinear with the intercept, the assignment and those
	// before them (a stratum cell absent among the respondents, two strata
	// that coincide) are dropped, as estimatr does.
	cols, dropped := analysis.Independent(true, append([]analysis.Column{{Name: "z", Values: resp.z}}, covs...))
	if len(dropped) > 0 {
		r.note("collinear covariates dropped: %s", strings.Join(dropped, ", "))
	}
	if len(cols) == 0 || cols[0].Name != "z" {
		r.note("no adjusted estimate: the assignment is collinear with the covariates")
		return
	}
	for {
		X, names, err := analysis.Matrix(true, cols...)
		if err == nil {
			var fit *analysis.Fit
			if fit, err = analysis.OLS(resp.y, X, names, analysis.OLSOptions{SE: s.SEType, Alpha: s.Alpha}); err == nil {
				t, _ := fit.Term("z")
				if finite(t) {
					r.Estimate = &t
					for _, c := range cols[1:] {
						r.Covariates = append(r.Covariates, c.Name)
					}
					return
				}
				err = fmt.Errorf("no finite %s standard error", s.SEType)
			}
		}
		if len(cols) == 1 {
			r.note("no adjusted estimate: %v", err)
			return
		}
		cols = cols[:len(cols)-1]
	}
}

// riskRatio estimates the risk ratio of a binary outcome.
func riskRatio(r *OutcomeResult, resp respondents, s Settings) {
	if r.Type != "binary" {
		return
	}
	rr, err := analysis.RiskRatio(resp.y, resp.z, s.Alpha)
	if err != nil {
		r.note("no risk ratio: %v", err)
		return
	}
	r.RiskRatio = &rr
}

// lee bounds the effect for attrition, with the Imbens-Manski interval
// from bootstrap standard errors of the bounds.
func lee(r *OutcomeResult, y, z []float64, s Settings) {
	lb, err := analysis.Lee(y, z)
	if err != nil {
		r.note("no Lee bounds: %v", err)
		return
	}
	if !finite(analysis.Result{Estimate: lb.Lower, StdError: lb.Upper}) {
		r.note("no Lee bounds: the bounds are not finite")
		return
	}
	r.Lee = &lb
	if s.Bootstrap == 0 {
		r.note("no Imbens-Manski interval: analysis.bootstrap is 0")
		return
	}
	sl, su, err := analysis.LeeBootstrap(y, z, s.Bootstrap, s.Seed)
	if err != nil {
		r.note("no Imbens-Manski interval: %v", err)
		return
	}
	lo, hi, err := analysis.ImbensManski(lb.Lower, lb.Upper, sl, su, s.Alpha)
	if err == nil && !finite(analysis.Result{Estimate: lo, StdError: hi}) {
		err = fmt.Errorf("the interval is not finite")
	}
	if err != nil {
		r.note("no Imbens-Manski interval: %v", err)
		return
	}
	r.ImbensManski = &[2]float64{lo, hi}
}

// subgroups estimates the effect within the levels of each stratification
// variable, with the test that it is the same in all.
func subgroups(r *OutcomeResult, d *Data, resp respondents, s Settings) {
	for _, f := range d.Factors {
		levels := make([]string, len(resp.idx))
		for k, i := range resp.idx {
			levels[k] = f.Levels[i]
		}
		sg, err := analysis.Heterogeneity(resp.y, resp.z, levels, s.SEType)
		if err == nil && !finiteSubgroups(sg) {
			err = fmt.Errorf("not finite")
		}
		if err != nil {
			r.note("no subgroup effects by %s: %v", f.Variable, err)
			continue
		}
		r.Subgroups = append(r.Subgroups, SubgroupResult{Variable: f.Variable, Result: sg})
	}
}

// dose is the dose-response within the intervention group (the dose is
// not randomized: non-experimental).
func dose(r *OutcomeResult, d *Data, resp respondents, s Settings) {
	dr, err := analysis.Dose(resp.y, pick(d.Compliance.Dose, resp.idx), resp.z, s.SEType)
	if err == nil && !finite(dr.Result) {
		err = fmt.Errorf("not finite")
	}
	if err != nil {
		r.note("no dose-response: %v", err)
		return
	}
	r.Dose = &dr
}

// complier is the effect on compliers: 2SLS of the outcome on receiving
// the intervention, instrumented by the assignment.
func complier(r *OutcomeResult, d *Data, resp respondents, s Settings) {
	received := pick(d.Compliance.Received, resp.idx)
	var treated, got float64
	for j, z := range resp.z {
		if z == 1 {
			treated++
			got += received[j]
		}
	}
	if treated > 0 {
		rate := got / treated
		r.ComplianceRate = &rate
	}
	X, _, err := analysis.Matrix(true, analysis.Column{Name: "received", Values: received})
	if err != nil {
		r.note("no complier effect: %v", err)
		return
	}
	Z, _, err := analysis.Matrix(true, analysis.Column{Name: "z", Values: resp.z})
	if err != nil {
		r.note("no complier effect: %v", err)
		return
	}
	fit, err := analysis.IV2SLS(resp.y, X, Z, []string{"(Intercept)", "received"}, analysis.OLSOptions{SE: s.SEType, Alpha: s.Alpha})
	if err != nil {
		r.note("no complier effect: %v", err)
		return
	}
	if t, ok := fit.Term("received"); ok {
		r.CACE = &t
	}
}

// keepFinite leaves out, with a note, a result that is not finite (a risk
// ratio with no events in a group): JSON has no NaN or infinity.
func keepFinite(r *OutcomeResult) {
	for _, x := range []struct {
		p    **analysis.Result
		what string
	}{{&r.Estimate, "adjusted estimate"}, {&r.Unadjusted, "unadjusted estimate"}, {&r.RiskRatio, "risk ratio"}, {&r.CACE, "complier effect"}} {
		if *x.p != nil && !finite(**x.p) {
			*x.p = nil
			r.note("no finite %s", x.what)
		}
	}
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

func pick(x []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for j, i := range idx {
		out[j] = x[i]
	}
	return out
}

func where(x []float64, keep func(float64) bool) []int {
	var idx []int
	for i, v := range x {
		if keep(v) {
			idx = append(idx, i)
		}
	}
	return idx
}

func varies(x []float64) bool {
	for _, v := range x {
		if v != x[0] {
			return true
		}
	}
	return false
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func joinNotes(notes []string) string { return strings.Join(notes, "; ") }
