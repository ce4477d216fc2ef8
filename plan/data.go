package plan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/linkage"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// ErrNotRandomized is returned by Load when the trial has too few randomized
// families to analyse.
var ErrNotRandomized = errors.New("not randomized yet")

// Data is the analysis set: what the pre-specified analysis takes from the
// trial database, as plain columns over the randomized families in order
// of randomization. Load makes it; Run analyses it without the store.
type Data struct {
	Families []trial.RandomizedFamily
	Groups   []trial.Group
	// G is each family's group: an index into Groups.
	G []int
	// GroupNames label the groups: "group A" blinded, the arm's label
	// with the key.
	GroupNames []string
	// Contrasts are the comparisons of the analysis: each group with the
	// reference (blinded: group A; with the key: the protocol's reference
	// arm), or every pair, as the protocol says.
	Contrasts []Contrast
	// Z is the assignment of a two-group view (Pair; Load sets it when the
	// trial has two groups): 1 for the contrast's arm, 0 for its reference.
	Z []float64
	// Blinded: groups are known by code. Unblinded: by arm.
	Blinded bool
	// Offers is, with the key, whether each group is offered the
	// intervention (every arm but the reference arm); nil blinded.
	Offers []bool
	// ReceiptUnknown says, when there is no Compliance, why whether the
	// families received the intervention is not known.
	ReceiptUnknown string
	Names          [2]string // of z = 0 and z = 1 in a two-group view
	Contrast       string    // what the two-group view estimates, in words
	Method         string    // the randomization method, for the inference's description
	// Draw is the trial's own design, re-run for randomization inference:
	// it fills each family's drawCode of its group — the group index, or
	// with two groups directly the assignment z of the one contrast (no
	// mapping per draw).
	Draw     analysis.Draw
	drawCode []float64 // nil: the group index
	// drawBits is, when Draw is the trial's design, its draw last written
	// into a z as bits (designDraws.drawBits); nil else.
	drawBits func(z []float64) (words []uint64, invert bool)
	// Balance holds the baseline variables of the balance table, in the
	// protocol's order (NaN where a survey answer is missing); JointSkip
	// names those left out of the joint test for a reason other than
	// missing values (which Balance finds itself) and says why.
	Balance   []analysis.Column
	JointSkip map[string]string
	// Strata are the adjustment of every outcome for the randomization
	// strata: the dummies of the stratification variables (main effects,
	// a dummy for every level but the first) or of the stratum cells, as
	// the protocol's analysis.strata_adjustment says; StrataAdjustment
	// names which. Factors are the variables as levels, for subgroups.
	Strata           []analysis.Column
	StrataAdjustment string
	Factors          []Factor
	// Responses are the interviews of each survey wave that has any.
	Responses []Response
	Outcomes  []OutcomeData
	// Compliance is what the case managers' log says (unblinded analyses
	// of a protocol that declares analysis.compliance only).
	Compliance *Compliance
	// Notes say what the analysis set lacks and why (no codebook, no key).
	Notes []string
	// view is set on a two-group view: its contrast and the indices of its
	// families in the whole analysis set.
	view *view
}

// Factor is a stratification variable's level for every family.
type Factor struct {
	Variable string
	Levels   []string
}

// Response is, for one wave, 1 for each family interviewed, else 0.
type Response struct {
	Wave      string
	Responded []float64
}

// OutcomeData is one outcome at one wave (survey) or in its window
// (register): its values by family, NaN where missing, and the outcome's
// baseline measure when the protocol gives one.
type OutcomeData struct {
	Outcome      string
	Label        string
	Type         string // binary, continuous or count
	Family       string // primary, secondary or exploratory
	Wave         string // survey wave; "" for a register window
	Source       string // "survey" or "register ID"
	Y            []float64
	Baseline     []float64 // nil: none
	BaselineWave string
	// Column and BaselineColumn name the outcome and its baseline measure
	// in the exported data set.
	Column, BaselineColumn string
	// Missing says why there are no values (Y is nil).
	Missing string
}

// Compliance is, by family, whether it received the intervention (1 when
// the received variable is 1 in some month of the log) and its dose (the
// dose variables summed over the months).
type Compliance struct {
	Received []float64
	Dose     []float64
	// DoseUnit names what a unit of dose is (the dose variables).
	DoseUnit string
}

// Keyed is what an unblinded analysis reads with the allocation key: which
// group code is which arm, and the case managers' activity log (sealed: it
// exists for one arm only).
type Keyed struct {
	Arms map[string]string   // group code → arm id
	Log  *survey.ActivityLog // nil: none opened
}

func (k *Keyed) arms() map[string]string {
	if k == nil {
		return nil
	}
	return k.Arms
}

// Load assembles the analysis set of the trial from its database. k, read
// with the key, unblinds it; nil keeps the analysis blinded.
func Load(ctx context.Context, db *trial.DB, p *trial.Protocol, k *Keyed) (*Data, error) {
	return load(ctx, db, p, k, nil)
}

// load is Load on the design w read ahead (nil: read here).
func load(ctx context.Context, db *trial.DB, p *trial.Protocol, k *Keyed, w *Warmed) (*Data, error) {
	arms := k.arms()
	d, err := loadFamilies(ctx, db, p, arms, w)
	if err != nil {
		return nil, err
	}
	// Without a codebook (none installed, or one that no longer fits the
	// protocol) there are no survey data: said, not fatal.
	cb, _, cbErr := survey.Current(ctx, db, p)
	if cbErr != nil {
		d.Notes = append(d.Notes, "no survey data: "+cbErr.Error())
		cb = nil
	}
	var ans answerSet
	if cb != nil {
		if ans, err = survey.AnswersOf(ctx, db, loadWants(p)); err != nil {
			return nil, err
		}
	}
	if err := d.loadBalance(p, cb, ans); err != nil {
		return nil, err
	}
	if cb != nil {
		if err := d.loadResponses(p, ans); err != nil {
			return nil, err
		}
	}
	if err := d.loadOutcomes(ctx, db, p, cb, cbErr, ans); err != nil {
		return nil, err
	}
	d.loadCompliance(p, cb, k)
	return d, nil
}

// answerSet holds the survey answers Load reads (loadWants lists them),
// read in one pass over the stored answers (a query per variable scans
// them all each time: 0.6 s each at 80,000 families).
type answerSet map[survey.Want]map[string]string

// get returns the current answers to a variable at a wave by study code.
func (a answerSet) get(form, variable string) (map[string]string, error) {
	m, ok := a[survey.Want{Form: form, Variable: variable}]
	if !ok {
		return nil, fmt.Errorf("plan: the answers to %s at %s were not read (loadWants does not list them)", variable, form)
	}
	return m, nil
}

// loadWants lists the answers Load reads: who was interviewed at each
// wave, the survey variables of the balance table, and each survey
// outcome at its waves and its baseline.
func loadWants(p *trial.Protocol) []survey.Want {
	var out []survey.Want
	for _, w := range p.Waves {
		out = append(out, survey.Want{Form: w.ID, Variable: "interview_date"})
	}
	if len(p.Waves) > 0 {
		for _, name := range BalanceVariables(p).Survey {
			out = append(out, survey.Want{Form: p.Waves[0].ID, Variable: name})
		}
	}
	for _, o := range p.Outcomes {
		if o.Source.Survey == "" {
			continue
		}
		for _, w := range o.Source.Waves {
			out = append(out, survey.Want{Form: w, Variable: o.Source.Survey})
		}
		if o.Baseline != nil && o.Baseline.Wave != "" {
			out = append(out, survey.Want{Form: o.Baseline.Wave, Variable: o.Source.Survey})
		}
	}
	return out
}

// loadFamilies reads the randomized families and their groups, and sets
// the contrasts, the design draw and the strata adjustment. The design is
// w's (the groups and strata it read, its draws being replayed) when set;
// families randomized since (rct serve) make it again from the families.
func loadFamilies(ctx context.Context, db *trial.DB, p *trial.Protocol, arms map[string]string, w *Warmed) (*Data, error) {
	var groups []trial.Group
	var profiles [][]int
	var err error
	if w != nil {
		groups, profiles = w.groups, w.profiles
	} else {
		if groups, err = db.Groups(ctx); err != nil {
			return nil, err
		}
		if profiles, err = db.Profiles(ctx, p); err != nil {
			return nil, err
		}
	}
	if len(profiles) < 4 || len(groups) < 2 {
		return nil, fmt.Errorf("%w: the analysis needs at least four randomized families in two groups or more (have %d families, %d groups)", ErrNotRandomized, len(profiles), len(groups))
	}
	d := &Data{Groups: groups, Method: p.Randomization.Method, Blinded: arms == nil}
	if d.Contrasts, err = contrasts(p, groups, arms); err != nil {
		return nil, err
	}
	d.drawCode = make([]float64, len(groups))
	for i := range d.drawCode {
		d.drawCode[i] = float64(i)
	}
	if c := d.Contrasts[0]; len(groups) == 2 {
		d.drawCode[c.Arm], d.drawCode[c.Ref] = 1, 0
	}
	design := func(dd *designDraws) error {
		if dd == nil {
			if dd, err = newDesignDraws(p.Design(groups), profiles); err != nil {
				return err
			}
		}
		d.Draw, d.drawBits = dd.draw, dd.drawBits
		return dd.setValues(d.drawCode)
	}
	var warmed *designDraws
	if w != nil {
		warmed = w.design
	}
	if err := design(warmed); err != nil {
		return nil, err
	}
	fams, err := db.Randomized(ctx, p)
	if err != nil {
		return nil, err
	}
	d.Families = fams
	if !slices.EqualFunc(fams, profiles, func(f trial.RandomizedFamily, p []int) bool { return slices.Equal(f.Profile, p) }) {
		w.Stop()
		if len(fams) < 4 {
			return nil, fmt.Errorf("%w: the analysis needs at least four randomized families (have %d)", ErrNotRandomized, len(fams))
		}
		profiles = make([][]int, len(fams))
		for i, f := range fams {
			profiles[i] = f.Profile
		}
		if err := design(nil); err != nil {
			return nil, err
		}
	}
	d.GroupNames = make([]string, len(groups))
	index := map[string]int{}
	for i, g := range groups {
		index[g.Code] = i
		d.GroupNames[i] = "group " + g.Code
		if arms != nil {
			a, _ := p.Arm(arms[g.Code])
			d.GroupNames[i] = a.Label
		}
	}
	d.G = make([]int, len(fams))
	for i, f := range fams {
		d.G[i] = index[f.Group]
	}
	for j, v := range p.Randomization.Strata {
		f := Factor{Variable: v.ID, Levels: make([]string, len(fams))}
		for i, fam := range fams {
			f.Levels[i] = v.Values[fam.Profile[j]]
		}
		d.Factors = append(d.Factors, f)
	}
	d.StrataAdjustment = p.Analysis.StrataAdjustment
	if d.StrataAdjustment == "" {
		d.StrataAdjustment = "main_effects"
	}
	if d.StrataAdjustment == "cells" {
		d.Strata = cellDummies(d.Factors)
	} else {
		for j, v := range p.Randomization.Strata {
			d.Strata = append(d.Strata, stratumDummies(v, j, fams)...)
		}
	}
	if len(groups) == 2 {
		d.setView(d.Contrasts[0])
	}
	return d, nil
}

// cellDummies are the dummies of the stratum cells (every combination of
// the stratification variables' levels that occurs): one per cell but the
// first in order of the cells' names, named "cell=level1:level2".
func cellDummies(factors []Factor) []analysis.Column {
	if len(factors) == 0 {
		return nil
	}
	n := len(factors[0].Levels)
	cells := make([]string, n)
	for i := range cells {
		parts := make([]string, len(factors))
		for j, f := range factors {
			parts[j] = f.Levels[i]
		}
		cells[i] = strings.Join(parts, ":")
	}
	return analysis.Dummies("cell=", cells)
}

// stratumDummies are the dummies of stratification variable v (the j-th):
// one per level but the first, named "variable=level".
func stratumDummies(v trial.Variable, j int, fams []trial.RandomizedFamily) []analysis.Column {
	var out []analysis.Column
	for l, val := range v.Values[1:] {
		c := analysis.Column{Name: v.ID + "=" + val, Values: make([]float64, len(fams))}
		for i, f := range fams {
			if f.Profile[j] == l+1 {
				c.Values[i] = 1
			}
		}
		out = append(out, c)
	}
	return out
}

// loadBalance reads the baseline variables of the balance table: weak on
// each domain (weak_DOMAIN), the number of weak domains (weak_domains),
// the strata dummies and survey variables of the first wave.
func (d *Data) loadBalance(p *trial.Protocol, cb *survey.Codebook, answers answerSet) error {
	spec := BalanceVariables(p)
	n := len(d.Families)
	d.JointSkip = map[string]string{}
	for _, dom := range spec.Domains {
		c := analysis.Column{Name: "weak_" + dom, Values: make([]float64, n)}
		for i, f := range d.Families {
			if f.Domains[dom] {
				c.Values[i] = 1
			}
		}
		d.Balance = append(d.Balance, c)
	}
	if spec.WeakDomains {
		c := analysis.Column{Name: "weak_domains", Values: make([]float64, n)}
		for i, f := range d.Families {
			c.Values[i] = float64(f.Weak)
		}
		d.Balance = append(d.Balance, c)
		if len(spec.Domains) == len(p.Eligibility.Domains) {
			d.JointSkip[c.Name] = "the sum of the domains"
		}
	}
	for j, v := range p.Randomization.Strata {
		if slices.Contains(spec.Strata, v.ID) {
			d.Balance = append(d.Balance, stratumDummies(v, j, d.Families)...)
		}
	}
	if len(spec.Survey) == 0 {
		return nil
	}
	if cb == nil {
		d.Notes = append(d.Notes, "the survey variables of the balance table are left out: no codebook")
		return nil
	}
	wave := p.Waves[0].ID
	for _, name := range spec.Survey {
		ans, err := answers.get(wave, name)
		if err != nil {
			return err
		}
		d.Balance = append(d.Balance, analysis.Column{Name: name + "_" + wave, Values: column(d.Families, func(code string) float64 { return number(cb, ans[code]) })})
	}
	return nil
}

// loadResponses reads which families were interviewed at each wave.
func (d *Data) loadResponses(p *trial.Protocol, answers answerSet) error {
	for _, w := range p.Waves {
		ans, err := answers.get(w.ID, "interview_date")
		if err != nil {
			return err
		}
		r := Response{Wave: w.ID, Responded: make([]float64, len(d.Families))}
		any := false
		for i, f := range d.Families {
			if _, ok := ans[f.StudyCode]; ok {
				r.Responded[i], any = 1, true
			}
		}
		if any { // a wave without any interview yet has no attrition to show
			d.Responses = append(d.Responses, r)
		}
	}
	return nil
}

// loadOutcomes reads every protocol outcome at every wave (survey) or in
// its window (register), with its baseline measure.
func (d *Data) loadOutcomes(ctx context.Context, db *trial.DB, p *trial.Protocol, cb *survey.Codebook, cbErr error, answers answerSet) error {
	// The register outcomes' derived values, and their baselines', in one
	// pass over the derived values.
	var ids []string
	for _, out := range p.Outcomes {
		if out.Source.Survey == "" {
			ids = append(ids, out.ID, out.ID+"_baseline")
		}
	}
	vals, err := db.OutcomeValues(ctx, ids...)
	if err != nil {
		return err
	}
	derived := make(map[string]map[string]float64, len(ids))
	for i, id := range ids {
		derived[id] = vals[i]
	}
	for _, out := range p.Outcomes {
		base, baseWave, err := d.baseline(out, cb, answers, derived)
		if err != nil {
			return err
		}
		waves := []string{""}
		if out.Source.Survey != "" {
			waves = out.Source.Waves
		}
		for _, w := range waves {
			o := OutcomeData{Outcome: out.ID, Label: out.Label, Type: out.Type, Family: out.Family, Wave: w,
				Baseline: base, BaselineWave: baseWave, Column: out.ID}
			if out.Source.Survey != "" {
				o.Column = out.Source.Survey + "_" + w
			}
			switch {
			case base == nil:
			case out.Source.Survey != "":
				o.BaselineColumn = out.Source.Survey + "_" + baseWave
			default:
				o.BaselineColumn = out.ID + "_baseline"
			}
			switch {
			case out.Source.Survey != "" && cb == nil:
				o.Source, o.Missing = "survey", cbErr.Error()
			case out.Source.Survey != "":
				o.Source = "survey"
				ans, err := answers.get(w, out.Source.Survey)
				if err != nil {
					return err
				}
				o.Y = column(d.Families, func(code string) float64 { return number(cb, ans[code]) })
			default:
				o.Source = "register " + out.Source.Register
				if err := d.registerOutcome(ctx, db, out, &o, derived[out.ID]); err != nil {
					return err
				}
			}
			d.Outcomes = append(d.Outcomes, o)
		}
	}
	return nil
}

// registerOutcome sets a register outcome's derived values, vals: missing
// (Y nil, said why) when its register has no import yet or nothing is
// derived.
func (d *Data) registerOutcome(ctx context.Context, db *trial.DB, out trial.Outcome, o *OutcomeData, vals map[string]float64) error {
	have, err := linkage.Imported(ctx, db, out.Source.Register)
	if err != nil {
		return err
	}
	if !have {
		o.Missing = fmt.Sprintf("missing, not zero: register %s has no import yet", out.Source.Register)
		o.Baseline, o.BaselineWave, o.BaselineColumn = nil, "", ""
		return nil
	}
	if len(vals) == 0 {
		o.Missing = "not derived yet: run rct outcomes derive"
		return nil
	}
	o.Y = column(d.Families, func(code string) float64 { return valueOr(vals, code) })
	return nil
}

// baseline reads an outcome's baseline measure: the register events of its
// baseline window (derived as OUTCOME_baseline, in derived), or the survey
// variable at the baseline wave. nil when the outcome has none or none is
// derived yet.
func (d *Data) baseline(out trial.Outcome, cb *survey.Codebook, answers answerSet, derived map[string]map[string]float64) ([]float64, string, error) {
	if out.Source.Survey == "" {
		vals := derived[out.ID+"_baseline"]
		if len(vals) == 0 {
			return nil, "", nil
		}
		return column(d.Families, func(code string) float64 { return valueOr(vals, code) }), "", nil
	}
	if out.Baseline == nil || out.Baseline.Wave == "" || cb == nil {
		return nil, "", nil
	}
	ans, err := answers.get(out.Baseline.Wave, out.Source.Survey)
	if err != nil {
		return nil, "", err
	}
	return column(d.Families, func(code string) float64 { return number(cb, ans[code]) }), out.Baseline.Wave, nil
}

// loadCompliance reads, for an unblinded analysis, the case managers' log
// as the protocol's analysis.compliance says.
func (d *Data) loadCompliance(p *trial.Protocol, cb *survey.Codebook, k *Keyed) {
	spec := p.Analysis.Compliance
	if k == nil {
		d.Notes = append(d.Notes, "no complier effect or dose-response: they need the key (the case managers' log exists only for the arms they guide)")
		d.ReceiptUnknown = "needs the key"
		return
	}
	d.Offers = make([]bool, len(d.Groups))
	ref := p.ReferenceArm().ID
	for g, grp := range d.Groups {
		d.Offers[g] = k.Arms[grp.Code] != ref
	}
	switch {
	case spec == nil:
		d.Notes = append(d.Notes, "no complier effect or dose-response: the protocol declares no analysis.compliance")
		d.ReceiptUnknown = "no compliance variable in the protocol"
		return
	case cb == nil || k.Log == nil || k.Log.Empty():
		d.Notes = append(d.Notes, "no complier effect or dose-response: no activity log has been imported")
		d.ReceiptUnknown = "no activity log imported"
		return
	}
	cl := Totals(k.Log, cb)
	c := &Compliance{Received: make([]float64, len(d.Families)), Dose: make([]float64, len(d.Families)),
		DoseUnit: strings.Join(spec.Dose, " + ")}
	for i, f := range d.Families {
		if cl.Totals[spec.Received][f.StudyCode] == 1 {
			c.Received[i] = 1
		}
		for _, v := range spec.Dose {
			c.Dose[i] += cl.Totals[v][f.StudyCode]
		}
	}
	d.Compliance = c
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

func countNaN(x []float64) int {
	n := 0
	for _, v := range x {
		if math.IsNaN(v) {
			n++
		}
	}
	return n
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
