package reports

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"github.com/rct-trials/rct/plan"
	"gonum.org/v1/plot/vg"
)

// Input is everything the report shows; reports computes no statistic and
// reads no database: the plan's analysis and context come in.
type Input struct {
	Lang    string // en or nl
	Date    string // printed when given; "" keeps the report free of dates of making
	Version string // rct's version
	*plan.Context
	Analysis *plan.Analysis
}

// Cell is one table cell: a number (with its format) or a text.
type Cell struct {
	Num  *float64
	Fmt  string // "n" integer, "p" p-value, "pct" proportion shown as %, "" general
	Text string
	CI   *[2]float64 // a confidence interval (lower, upper)
}

// Table is one table of the report, rendered in HTML and as an XLSX sheet.
type Table struct {
	Name  string // sheet name
	Title string
	Head  []string
	Rows  [][]Cell
	Note  string
}

// Report is the assembled report: its tables and figures by section.
type Report struct {
	In       *Input
	T        func(string) string
	Sections []Section
}

// Section is one part of the report in CONSORT order.
type Section struct {
	ID, Title string
	Text      []string
	Tables    []*Table
	Figures   []Figure
}

func num(x float64, f string) Cell {
	if !finite(x) {
		return Cell{Text: "–"}
	}
	return Cell{Num: &x, Fmt: f}
}
func numPtr(x *float64, f string) Cell {
	if x == nil {
		return Cell{Text: "–"}
	}
	return num(*x, f)
}
func text(s string) Cell { return Cell{Text: s} }
func count(n int) Cell   { return num(float64(n), "n") }

// String formats a cell for HTML: numbers with 3 significant decimals,
// p-values with 3 decimals ("< 0.001"), proportions as percentages.
func (c Cell) String() string {
	if c.CI != nil {
		return fmt.Sprintf("[%s, %s]", num(c.CI[0], "").String(), num(c.CI[1], "").String())
	}
	if c.Num == nil {
		return c.Text
	}
	x := *c.Num
	switch c.Fmt {
	case "n":
		return fmt.Sprintf("%.0f", x)
	case "p":
		if x < 0.001 {
			return "< 0.001"
		}
		return fmt.Sprintf("%.3f", x)
	case "pct":
		return fmt.Sprintf("%.1f%%", 100*x)
	}
	switch ax := math.Abs(x); {
	case ax == 0:
		return "0"
	case ax >= 1000:
		return fmt.Sprintf("%.0f", x)
	case ax >= 1:
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.3f", x)
}

// Build assembles the report: tables, figures and the flow diagram, in
// CONSORT order.
func Build(in *Input) (*Report, error) {
	if in.Analysis == nil || in.Context == nil || in.Protocol == nil || in.Status == nil {
		return nil, fmt.Errorf("reports: the report needs the protocol, the status and the analysis")
	}
	if len(in.Analysis.Contrasts) == 0 {
		return nil, fmt.Errorf("reports: the analysis has no contrast")
	}
	r := &Report{In: in, T: translator(in.Lang, in.Analysis.Alpha)}
	b := &builder{in: in, a: in.Analysis, t: r.T}
	b.use(0)
	r.Sections = []Section{b.summary(), b.flow(), b.each(b.baseline), b.each(b.attrition), b.effects(), b.each(b.robustness), b.quality(), b.reproducibility()}
	return r, nil
}

// builder holds what every section of the report needs, and the contrast
// whose tables it is making.
type builder struct {
	in     *Input
	a      *plan.Analysis
	t      func(string) string
	ci     int                  // the contrast's index
	c      *plan.ContrastResult // the contrast
	g0, g1 string               // the names of its groups z = 0 and z = 1
	c0, c1 color.Color          // their colours (kept across figures)
}

// use makes contrast i the builder's.
func (b *builder) use(i int) {
	b.ci, b.c = i, b.a.Contrasts[i]
	b.g0, b.g1 = b.in.name(b.c.Names[0]), b.in.name(b.c.Names[1])
	order := b.in.groupOrder()
	b.c0, b.c1 = groupColor(slices.Index(order, b.c.Ref)), groupColor(slices.Index(order, b.c.Arm))
}

// each makes a section of the contrasts' parts: one for a trial of two
// groups, one per contrast (tables and figures named and titled by their
// contrast) with more.
func (b *builder) each(part func() Section) Section {
	var sec Section
	for i := range b.a.Contrasts {
		b.use(i)
		p := part()
		if i == 0 {
			sec = p
			continue
		}
		sec.Tables = append(sec.Tables, p.Tables...)
		sec.Figures = append(sec.Figures, p.Figures...)
	}
	b.use(0)
	return sec
}

// name makes a table's or figure's name unique among the contrasts.
func (b *builder) name(s string) string {
	if b.ci == 0 {
		return s
	}
	return fmt.Sprintf("%s_%d", s, b.ci+1)
}

// title says which contrast a table or figure shows, when there are several.
func (b *builder) title(s string) string {
	if len(b.a.Contrasts) == 1 {
		return s
	}
	return s + " — " + b.c.Label
}

func (b *builder) label(v string) string { return b.in.label(v) }

// summary is section 1: the trial, its protocol, randomization and dates.
func (b *builder) summary() Section {
	in, a, t := b.in, b.a, b.t
	sum := &Table{Name: "summary", Title: t("Trial summary"), Head: []string{t("item"), t("value")}}
	p := in.Protocol
	method := p.Randomization.Method
	if len(p.Randomization.BlockSizes) > 0 {
		if in.Unblinded || in.Status.TrialUnblinded {
			method += fmt.Sprintf(" (%s %v)", t("block sizes"), p.Randomization.BlockSizes)
		} else {
			method += " (" + t("block sizes hidden until unblinding") + ")"
		}
	}
	var strata []string
	for _, v := range p.Randomization.Strata {
		strata = append(strata, v.ID)
	}
	for _, kv := range [][2]string{
		{t("title"), p.Trial.Title}, {t("registry"), p.Trial.Registry}, {t("trial id"), p.Trial.ID},
		{t("protocol sha256"), in.Status.ProtocolSHA256}, {t("protocol amendments"), fmt.Sprint(in.Status.Amendment)},
		{t("randomization"), method + ", " + t("ratio") + " " + p.Randomization.Ratio + ", " + t("strata") + " " + strings.Join(strata, ", ")},
		{t("randomized from"), in.Recruitment[0] + " " + t("to") + " " + in.Recruitment[1]},
		{t("last interview"), in.FollowUp},
		{t("seed commitment"), in.SeedCommitment},
		{t("groups"), strings.Join(in.groupNames(), " / ")},
		{t("contrast"), strings.Join(contrastLabels(a), "; ")},
	} {
		sum.Rows = append(sum.Rows, []Cell{text(kv[0]), text(kv[1])})
	}
	for _, am := range in.Amendments {
		if am.Amendment > 0 {
			sum.Rows = append(sum.Rows, []Cell{text(fmt.Sprintf("%s %d", t("amendment"), am.Amendment)), text(am.RecordedAt[:min(10, len(am.RecordedAt))] + ": " + am.Reason)})
		}
	}
	return Section{ID: "summary", Title: t("1. Trial summary"), Tables: []*Table{sum}}
}

// flow is section 2: the CONSORT participant flow, drawn and as a table.
func (b *builder) flow() Section {
	in, t := b.in, b.t
	flow := in.flow(t)
	head := append(append([]string{t("stage")}, in.groupNames()...), t("total"))
	ft := &Table{Name: "flow", Title: t("Participant flow"), Head: head}
	for _, s := range flow.Rows {
		ft.Rows = append(ft.Rows, append(append([]Cell{text(s.Label)}, s.Groups...), s.Total))
	}
	d := flow.Diagram
	fig := Figure{Name: "flow", Caption: t("CONSORT 2010 flow of the families through the trial; losses and exclusions to the side."), Plot: d, W: vg.Length(d.W), H: vg.Length(d.H)}
	return Section{ID: "flow", Title: t("2. Participant flow"), Tables: []*Table{ft}, Figures: []Figure{fig}}
}

// baseline is section 3: balance at baseline, with its joint test and love plot.
func (b *builder) baseline() Section {
	t, g0, g1, label := b.t, b.g0, b.g1, b.label
	bal := &Table{Name: b.name("baseline"), Title: b.title(t("Baseline characteristics")), Head: []string{t("variable"), "n " + g0, t("mean (SD) or n (%)") + " " + g0, "n " + g1, t("mean (SD) or n (%)") + " " + g1, t("normalized difference"), "p"}}
	var love []interval
	if bl := b.c.Balance; bl != nil {
		for _, row := range bl.Rows {
			d0, d1 := meanSD(row.Mean0, row.SD0), meanSD(row.Mean1, row.SD1)
			if row.Binary {
				d0, d1 = countPct(row.Count0, row.Mean0), countPct(row.Count1, row.Mean1)
			}
			bal.Rows = append(bal.Rows, []Cell{text(label(row.Variable)), count(row.N0), text(d0), count(row.N1), text(d1), num(row.NormDiff, ""), num(row.PValue, "p")})
			love = append(love, interval{label(row.Variable), row.NormDiff, row.NormDiff, row.NormDiff})
		}
		notes := []string{bl.RowsNote}
		if j := bl.Joint; j != nil {
			joint := fmt.Sprintf("%s F(%g, %g) = %.3f, %s", t("Joint test:"), j.DF1, j.DF2, j.F, pIs(j.PValue))
			if bl.JointRI != nil {
				joint += fmt.Sprintf("; %s %s", t("randomization inference"), pIs(*bl.JointRI))
			}
			notes = append(notes, joint+".")
		}
		if bl.JointRI == nil {
			notes = append(notes, bl.JointNote)
		}
		if len(bl.LeftOut) > 0 {
			notes = append(notes, t("Left out of the joint test:")+" "+strings.Join(bl.LeftOut, "; ")+".")
		}
		bal.Note = strings.Join(slices.DeleteFunc(notes, func(s string) bool { return s == "" }), " ")
	}
	sec := Section{ID: "baseline", Title: t("3. Baseline balance"), Tables: []*Table{bal}}
	if b.ci == 0 {
		sec.Text = b.acrossGroups()
	}
	if lp := forest(b.title(t("Love plot: normalized differences at baseline")), t("normalized difference ")+g1+" − "+g0, love, ink, -0.1, 0.1); lp != nil {
		sec.Figures = append(sec.Figures, Figure{Name: b.name("love"), Caption: t("Normalized differences of the baseline variables; |d| < 0.1 is usually taken as balanced."), Plot: lp, W: 16 * vg.Centimeter, H: vg.Length(3+0.45*float64(len(love))) * vg.Centimeter})
	}
	return sec
}

// attrition is section 4: response by wave and group.
func (b *builder) attrition() Section {
	t, g0, g1 := b.t, b.g0, b.g1
	att := &Table{Name: b.name("attrition"), Title: b.title(t("Response by wave")), Head: []string{t("wave"), t("responded") + " " + g0, t("rate") + " " + g0, t("responded") + " " + g1, t("rate") + " " + g1, t("difference"), "p"}}
	var waves []string
	rates := []series{{name: g0, color: b.c0}, {name: g1, color: b.c1}}
	for _, w := range b.c.Attrition {
		x := w.Test
		att.Rows = append(att.Rows, []Cell{text(w.Wave), text(fmt.Sprintf("%d / %d", x.Responded0, x.N0)), num(x.Rate0, "pct"), text(fmt.Sprintf("%d / %d", x.Responded1, x.N1)), num(x.Rate1, "pct"), num(x.Test.Estimate, ""), num(x.Test.PValue, "p")})
		waves = append(waves, w.Wave)
		rates[0].y, rates[1].y = append(rates[0].y, x.Rate0), append(rates[1].y, x.Rate1)
	}
	sec := Section{ID: "attrition", Title: t("4. Attrition"), Tables: []*Table{att}, Text: []string{t("The difference is the response rate of the second group minus the first (differential attrition test, Welch).")}}
	if lp := lines(b.title(t("Response rate by wave")), t("wave"), t("response rate"), waves, rates, true); lp != nil {
		sec.Figures = append(sec.Figures, Figure{Name: b.name("attrition"), Caption: t("Share of randomized families interviewed at each wave, by group."), Plot: lp, W: 14 * vg.Centimeter, H: 8 * vg.Centimeter})
	}
	return sec
}

// effects is section 5: each outcome family's table and forest plot, the
// survey outcomes' trajectories and the primary outcomes' randomization
// distributions.
func (b *builder) effects() Section {
	sec := Section{ID: "effects", Title: b.t("5. Effects")}
	sec.Text = append(sec.Text, b.a.Model+".", b.a.RIConvention+".")
	for i := range b.a.Contrasts {
		b.use(i)
		b.familyTables(&sec)
		b.trajectories(&sec)
		b.randomizationFigures(&sec)
	}
	b.use(0)
	return sec
}

// familyTables adds a table per outcome family, with a forest plot of its
// binary outcomes.
func (b *builder) familyTables(sec *Section) {
	a, t, g0, g1, label := b.a, b.t, b.g0, b.g1, b.label
	families := []string{}
	byFamily := map[string][]plan.OutcomeResult{}
	for _, o := range b.c.Outcomes {
		if byFamily[o.Family] == nil {
			families = append(families, o.Family)
		}
		byFamily[o.Family] = append(byFamily[o.Family], o)
	}
	for _, fam := range families {
		tb := &Table{Name: b.name("effects_" + fam), Title: b.title(t("Outcome family") + ": " + fam),
			Head: []string{t("outcome"), t("wave"), "n", t("mean") + " " + g0, t("estimate"), t("{level} CI"), "p", t("RI p"), t("adjusted p"), "q", t("risk ratio"), t("{level} CI"), t("note")}}
		var rows []interval
		for _, o := range byFamily[fam] {
			row := []Cell{text(label(o.Outcome)), text(o.Wave), count(o.N[0] + o.N[1]), num(o.Mean[0], "")}
			if e := o.Estimate; e != nil {
				row = append(row, num(e.Estimate, ""), ciCell(e.ConfLow, e.ConfHigh), num(e.PValue, "p"))
				if o.Type == "binary" {
					rows = append(rows, interval{label(o.Outcome) + " " + o.Wave, e.Estimate, e.ConfLow, e.ConfHigh})
				}
			} else {
				row = append(row, text("–"), text("–"), text("–"))
			}
			row = append(row, numPtr(o.RIP, "p"), numPtr(o.PAdjusted, "p"), numPtr(o.Q, "p"))
			if rr := o.RiskRatio; rr != nil {
				row = append(row, num(rr.Estimate, ""), ciCell(rr.ConfLow, rr.ConfHigh))
			} else {
				row = append(row, text(""), text(""))
			}
			row = append(row, text(o.Note()))
			tb.Rows = append(tb.Rows, row)
		}
		tb.Note = t("For binary outcomes the estimate is the risk difference.") + " " + t("Adjusted p: ") + a.MultipleTesting + " " + t("within the family; q: sharpened q-values.")
		if len(a.Contrasts) > 1 && a.MultipleScope != "separate" {
			tb.Note += " " + t("The family's p-values are adjusted over every contrast together.")
		}
		sec.Tables = append(sec.Tables, tb)
		if fp := forest(b.title(t("Effects on binary outcomes")+" ("+fam+")"), t("risk difference")+" "+g1+" − "+g0, rows, ink); fp != nil {
			sec.Figures = append(sec.Figures, Figure{Name: b.name("forest_" + fam), Caption: t("Estimates with {level} confidence intervals."), Plot: fp, W: 16 * vg.Centimeter, H: vg.Length(3+0.6*float64(len(rows))) * vg.Centimeter})
		}
	}
}

// trajectories adds, for each survey outcome, the group means at baseline
// and each wave.
func (b *builder) trajectories(sec *Section) {
	t, g0, g1, label := b.t, b.g0, b.g1, b.label
	seen := map[string]bool{}
	for _, o := range b.c.Outcomes {
		if o.Source != "survey" || seen[o.Outcome] {
			continue
		}
		seen[o.Outcome] = true
		var xs []string
		ss := []series{{name: g0, color: b.c0, lo: []float64{}, hi: []float64{}}, {name: g1, color: b.c1, lo: []float64{}, hi: []float64{}}}
		addPoint := func(w string, n [2]int, m [2]float64, c [2][2]float64) {
			xs = append(xs, w)
			for g := range ss {
				v, l, h := m[g], c[g][0], c[g][1]
				if n[g] == 0 {
					v, l, h = math.NaN(), math.NaN(), math.NaN()
				}
				ss[g].y, ss[g].lo, ss[g].hi = append(ss[g].y, v), append(ss[g].lo, l), append(ss[g].hi, h)
			}
		}
		if b := o.Baseline; b != nil {
			addPoint(b.Wave, b.N, b.Mean, b.MeanCI)
		}
		for _, w := range b.c.Outcomes {
			if w.Outcome == o.Outcome {
				addPoint(w.Wave, w.N, w.Mean, w.MeanCI)
			}
		}
		if lp := lines(b.title(label(o.Outcome)), t("wave"), t("mean with {level} CI"), xs, ss, false); lp != nil {
			sec.Figures = append(sec.Figures, Figure{Name: b.name("trajectory_" + o.Outcome), Caption: t("Group means over the waves with {level} confidence intervals."), Plot: lp, W: 14 * vg.Centimeter, H: 8 * vg.Centimeter})
		}
	}
}

// randomizationFigures adds the null distribution of each primary
// outcome's randomization test, with the observed statistic.
func (b *builder) randomizationFigures(sec *Section) {
	t, label := b.t, b.label
	for _, o := range b.c.Outcomes {
		if o.Family != "primary" || o.RI == nil || len(o.RI.Null) == 0 {
			continue
		}
		if hp := histogram(b.title(t("Randomization distribution")+": "+label(o.Outcome)), t("difference in means under the null"), t("draws"), o.RI.Null, o.RI.Observed, latticeOf(o)); hp != nil {
			caption := fmt.Sprintf("%s %d %s; %s (%s) %s; RI %s.", t("Difference in means over"), o.RI.Draws, t("re-randomizations with the trial's own design"),
				t("the solid line marks the observed difference"), num(o.RI.Observed, "").String(), t("and the dashed line its mirror"), pIs(o.RI.PValue))
			sec.Figures = append(sec.Figures, Figure{Name: b.name("ri_" + o.Outcome + suffix(o.Wave)), Caption: caption, Plot: hp, W: 14 * vg.Centimeter, H: 8 * vg.Centimeter})
		}
	}
}

// latticeOf is the step of a binary outcome's difference in means among
// its respondents: 1/n0 + 1/n1 (0 for other outcomes).
func latticeOf(o plan.OutcomeResult) float64 {
	if o.Type != "binary" || o.N[0] == 0 || o.N[1] == 0 {
		return 0
	}
	return 1/float64(o.N[0]) + 1/float64(o.N[1])
}

// robustness is section 6: adjusted against unadjusted, Lee bounds,
// subgroups, the complier effect and the dose-response.
func (b *builder) robustness() Section {
	in, t, g0, g1, label := b.in, b.t, b.g0, b.g1, b.label
	sec := Section{ID: "robustness", Title: t("6. Robustness")}
	adj := &Table{Name: b.name("adjusted_unadjusted"), Title: b.title(t("Covariate-adjusted and unadjusted estimates")), Head: []string{t("outcome"), t("wave"), t("adjusted"), t("{level} CI"), t("unadjusted"), t("{level} CI"), t("covariates")}}
	lee := &Table{Name: b.name("lee_bounds"), Title: b.title(t("Lee bounds for attrition")), Head: []string{t("outcome"), t("wave"), t("lower"), t("upper"), t("trimmed"), t("share trimmed"), "Imbens-Manski " + t("{level} CI")}}
	cace := &Table{Name: b.name("complier"), Title: b.title(t("Complier effect (2SLS)")), Head: []string{t("outcome"), t("wave"), t("estimate"), t("{level} CI"), "p", t("compliance rate")}}
	dose := &Table{Name: b.name("dose"), Title: b.title(t("Dose-response (non-experimental)")), Head: []string{t("outcome"), t("wave"), t("per contact"), t("{level} CI"), "n"}}
	for _, o := range b.c.Outcomes {
		if e, u := o.Estimate, o.Unadjusted; e != nil && u != nil {
			adj.Rows = append(adj.Rows, []Cell{text(label(o.Outcome)), text(o.Wave), num(e.Estimate, ""), ciCell(e.ConfLow, e.ConfHigh), num(u.Estimate, ""), ciCell(u.ConfLow, u.ConfHigh), text(strings.Join(o.Covariates, ", "))})
		}
		if l := o.Lee; l != nil {
			im := text("")
			if o.ImbensManski != nil {
				im = ciCell(o.ImbensManski[0], o.ImbensManski[1])
			}
			trimmed := map[string]string{"treatment": g1, "control": g0}[l.Trimmed] // z = 1 and z = 0, named as the groups
			lee.Rows = append(lee.Rows, []Cell{text(label(o.Outcome)), text(o.Wave), num(l.Lower, ""), num(l.Upper, ""), text(trimmed), num(l.Trim, "pct"), im})
		}
		if c := o.CACE; c != nil {
			cace.Rows = append(cace.Rows, []Cell{text(label(o.Outcome)), text(o.Wave), num(c.Estimate, ""), ciCell(c.ConfLow, c.ConfHigh), num(c.PValue, "p"), numPtr(o.ComplianceRate, "pct")})
		}
		if d := o.Dose; d != nil {
			dose.Rows = append(dose.Rows, []Cell{text(label(o.Outcome)), text(o.Wave), num(d.Estimate, ""), ciCell(d.ConfLow, d.ConfHigh), count(d.N)})
		}
		for _, sg := range o.Subgroups {
			if sg.Result == nil {
				continue
			}
			var rows []interval
			for _, e := range sg.Result.Effects {
				rows = append(rows, interval{fmt.Sprintf("%s (n %d)", e.Subgroup, e.N), e.Estimate, e.ConfLow, e.ConfHigh})
			}
			if fp := forest(b.title(label(o.Outcome)+": "+t("by")+" "+label(sg.Variable)), t("effect")+" "+g1+" − "+g0, rows, ink); fp != nil {
				w := sg.Result.Interaction
				sec.Figures = append(sec.Figures, Figure{Name: b.name("subgroups_" + o.Outcome + suffix(o.Wave) + "_" + sg.Variable),
					Caption: fmt.Sprintf("%s F = %.3f, %s.", t("Effects within subgroups; interaction test"), w.F, pIs(w.PValue)), Plot: fp, W: 14 * vg.Centimeter, H: vg.Length(3+0.6*float64(len(rows))) * vg.Centimeter})
			}
		}
	}
	lee.Note = t("Bounds trim the group that responds more so both have the same response rate (Lee 2009); with no differential attrition they coincide.")
	switch {
	case !in.Unblinded:
		cace.Note = t("The complier effect and the dose-response need the key: the case managers' log reveals the arm.")
		dose.Note = cace.Note
	case !b.c.WithReference:
		cace.Note = t("Only for the contrasts with the reference arm: receiving the intervention means what the case managers' log says there.")
		dose.Note = cace.Note
	default:
		dose.Note = t("Non-experimental: the number of contacts is not randomized; within the intervention group only.")
	}
	sec.Tables = []*Table{adj, lee, cace, dose}
	sec.Text = append(sec.Text, surveyVsRegister(t))
	return sec
}

// quality is section 7: survey warnings and register links.
func (b *builder) quality() Section {
	in, t := b.in, b.t
	wt := &Table{Name: "survey_warnings", Title: t("Survey import warnings"), Head: []string{t("wave"), t("rule"), t("warnings")}}
	for _, w := range in.Warnings {
		wt.Rows = append(wt.Rows, []Cell{text(w.Wave), text(w.Rule), count(w.Count)})
	}
	lt := &Table{Name: "linkage", Title: t("Register links"), Head: []string{t("register"), t("tier"), t("status"), t("links"), t("events")}}
	rt := &Table{Name: "link_rates", Title: t("Link rates by group"), Head: []string{t("register"), t("group"), t("families"), t("linked"), t("rate")}}
	if in.Links != nil {
		for _, l := range in.Links.Links {
			lt.Rows = append(lt.Rows, []Cell{text(l.Register), count(l.Tier), text(l.Status), count(l.Links), count(l.Events)})
		}
		for _, l := range in.Links.Rates {
			rt.Rows = append(rt.Rows, []Cell{text(l.Register), text(in.groupByCode(l.Group)), count(l.Families), count(l.Linked), num(l.Rate, "pct")})
		}
	}
	lt.Note = t("Tier 0: national number; tier 1: names and birth date (Fellegi-Sunter).")
	return Section{ID: "quality", Title: t("7. Data quality"), Tables: []*Table{wt, lt, rt}}
}

// reproducibility is section 8: what it takes to make the same numbers again.
func (b *builder) reproducibility() Section {
	in, a, t := b.in, b.a, b.t
	rep := &Table{Name: "reproducibility", Title: t("Reproducibility"), Head: []string{t("item"), t("value")}}
	for _, kv := range [][2]string{
		{t("rct version"), in.Version}, {t("database sha256"), in.DBSHA256}, {t("protocol sha256"), in.Status.ProtocolSHA256},
		{t("seed commitment"), in.SeedCommitment}, {t("randomization-inference draws"), fmt.Sprint(a.Draws)},
		{t("standard errors"), a.SEType + dfRule(a.SEType, t)},
		{t("p-values"), t("two-sided; ") + a.RIConvention}, {t("multiple testing"), a.MultipleTesting + t(" within each outcome family; sharpened q-values (Benjamini, Krieger, Yekutieli 2006)")},
		{t("strata adjustment"), a.StrataAdjustment},
		{t("confidence level"), fmt.Sprintf("%g%%", 100*(1-a.Alpha))},
	} {
		rep.Rows = append(rep.Rows, []Cell{text(kv[0]), text(kv[1])})
	}
	if in.Date != "" {
		rep.Rows = append(rep.Rows, []Cell{text(t("report date")), text(in.Date)})
	}
	return Section{ID: "reproducibility", Title: t("8. Reproducibility"), Tables: []*Table{rep}}
}

func (r *Report) add(s Section) { r.Sections = append(r.Sections, s) }

// dfRule names the degrees of freedom of the t distribution used with an
// SE type, as estimatr: n − k, clusters − 1 (CR0, stata), Bell-McCaffrey (CR2).
func dfRule(se string, t func(string) string) string {
	switch se {
	case "CR2":
		return t(", t distribution with Bell-McCaffrey degrees of freedom")
	case "CR0", "stata":
		return t(", t distribution with clusters − 1 degrees of freedom")
	}
	return t(", t distribution with n − k degrees of freedom")
}

// Figures returns every figure of the report.
func (r *Report) Figures() []Figure {
	var out []Figure
	for _, s := range r.Sections {
		out = append(out, s.Figures...)
	}
	return out
}

// Tables returns every table of the report.
func (r *Report) Tables() []*Table {
	var out []*Table
	for _, s := range r.Sections {
		out = append(out, s.Tables...)
	}
	return out
}

func suffix(w string) string {
	if w == "" {
		return ""
	}
	return "_" + w
}

func meanSD(m, sd float64) string {
	if !finite(m, sd) {
		return "–"
	}
	return fmt.Sprintf("%s (%s)", num(m, "").String(), num(sd, "").String())
}

// countPct shows a binary variable as the count of ones and its share.
func countPct(n int, share float64) string {
	return fmt.Sprintf("%d (%s)", n, num(share, "pct").String())
}

// ciCell is a confidence interval: one cell in HTML, two numbers in XLSX.
func ciCell(lo, hi float64) Cell {
	if !finite(lo, hi) {
		return text("–")
	}
	return Cell{CI: &[2]float64{lo, hi}}
}

// name is a group's name in the report's language: the arm's label with
// the key, "Group A" without.
func (in *Input) name(label string) string {
	if strings.HasPrefix(strings.ToLower(label), "group ") {
		return translator(in.Lang, in.Analysis.Alpha)("Group") + label[5:]
	}
	return label
}

// groupOrder lists the groups as the report shows them side by side: the
// reference first, then each contrast's arm, then any other group.
func (in *Input) groupOrder() []int {
	a := in.Analysis
	seen := map[int]bool{}
	var out []int
	add := func(g int) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for _, c := range a.Contrasts {
		add(c.Ref)
		add(c.Arm)
	}
	for g := range a.Groups {
		add(g)
	}
	return out
}

// groupNames are the groups' names in groupOrder.
func (in *Input) groupNames() []string {
	var out []string
	for _, g := range in.groupOrder() {
		out = append(out, in.name(in.Analysis.Groups[g]))
	}
	return out
}

// contrastLabels are the contrasts in words.
func contrastLabels(a *plan.Analysis) []string {
	var out []string
	for _, c := range a.Contrasts {
		out = append(out, c.Label)
	}
	return out
}

// acrossGroups says the joint balance test across every group (three or
// more).
func (b *builder) acrossGroups() []string {
	j, t := b.a.Across, b.t
	if j == nil {
		return nil
	}
	if j.Test == nil {
		return []string{j.Note + "."}
	}
	s := fmt.Sprintf("%s F(%g, %g) = %.3f, %s", t("Joint test across every group:"), j.Test.DF1, j.Test.DF2, j.Test.F, pIs(j.Test.PValue))
	if j.RI != nil {
		s += fmt.Sprintf("; %s %s", t("randomization inference"), pIs(*j.RI))
	} else if j.Note != "" {
		s += "; " + j.Note
	}
	return []string{s + "."}
}

func (in *Input) groupByCode(code string) string {
	if n, ok := in.GroupNames[code]; ok {
		return n
	}
	return translator(in.Lang, in.Analysis.Alpha)("Group") + " " + code
}

// surveyVsRegister: the protocol declares no pairing of a survey outcome
// with a register version of it, so no such comparison can be shown.
func surveyVsRegister(t func(string) string) string {
	return t("Survey and register versions: the protocol pairs no survey outcome with a register version, so none is compared here.")
}
