package reports

import (
	"fmt"
	"html/template"
	"strings"
)

// Flow is the CONSORT participant flow: the stages with numbers per group
// (blank before randomization) and the drawn diagram.
type Flow struct {
	Rows []FlowRow
	SVG  template.HTML
}

// FlowRow is one stage of the flow: its count in each group (in the
// report's group order) and in all.
type FlowRow struct {
	Label  string
	Groups []Cell
	Total  Cell
}

// flow reads the stages from the status and the analysis: referred,
// duplicates, assessed, excluded (not eligible, declined), randomized,
// allocated per group, received the intervention (with the key), followed
// up at each wave (lost, withdrawn), analysed (primary outcomes).
func (in *Input) flow(t func(string) string) *Flow {
	s, a := in.Status, in.Analysis
	f := &Flow{}
	order := in.groupOrder()
	blanks := make([]Cell, len(order))
	for i := range blanks {
		blanks[i] = text("")
	}
	add := func(label string, groups []Cell, total Cell) { f.Rows = append(f.Rows, FlowRow{label, groups, total}) }
	counts := func(n []int) ([]Cell, Cell) {
		cells, sum := make([]Cell, len(order)), 0
		for i, g := range order {
			cells[i] = count(n[g])
			sum += n[g]
		}
		return cells, count(sum)
	}
	addN := func(label string, n []int) {
		cells, total := counts(n)
		add(label, cells, total)
	}
	minus := func(x, y []int) []int {
		out := make([]int, len(x))
		for i := range x {
			out[i] = x[i] - y[i]
		}
		return out
	}
	add(t("referred"), blanks, count(s.Referred))
	add(t("duplicate referrals"), blanks, count(s.Duplicates))
	add(t("assessed for eligibility"), blanks, count(s.Assessed))
	add(t("excluded: not meeting criteria"), blanks, count(s.NotEligible))
	add(t("excluded: declined"), blanks, count(s.Declined))
	add(t("randomized"), blanks, count(s.Randomized))
	n := a.Flow.Allocated
	addN(t("allocated"), n)
	if r := a.Flow.Received; r != nil {
		addN(t("received the intervention (accepted guidance)"), r)
		addN(t("did not accept guidance"), minus(n, r))
	}
	for _, w := range a.Flow.Responded {
		addN(t("followed up at")+" "+w.Wave, w.N)
		addN(t("lost at")+" "+w.Wave+" ("+t("not interviewed")+")", minus(n, w.N))
	}
	add(t("withdrawn after randomization"), blanks, count(s.Withdrawn))
	for _, o := range a.Flow.Analysed {
		if o.Family == "primary" {
			addN(t("analysed")+": "+in.label(o.Outcome)+suffixSpace(o.Wave), o.N)
		}
	}
	f.SVG = template.HTML(in.flowSVG(t, f))
	return f
}

func suffixSpace(w string) string {
	if w == "" {
		return ""
	}
	return " " + w
}

func (in *Input) label(v string) string {
	if l := in.Labels[v]; l != "" {
		return l
	}
	return v
}

// flowSVG draws the flow as boxes and arrows: one column down to
// randomization, then a column per group.
func (in *Input) flowSVG(t func(string) string, f *Flow) string {
	const boxW, boxH, gap = 300, 46, 22
	W := max(760, 40+len(in.Analysis.Groups)*(boxW+20)+20)
	var b strings.Builder
	y := 10
	esc := template.HTMLEscapeString
	box := func(x, y, w int, lines ...string) {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="#f7f7f7" stroke="#333"/>`, x, y, w, boxH)
		for i, l := range lines {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="12">%s</text>`, x+w/2, y+18+15*i, esc(l))
		}
	}
	arrow := func(x1, y1, x2, y2 int) {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333" marker-end="url(#arrow)"/>`, x1, y1, x2, y2)
	}
	row := func(label string) FlowRow {
		for _, r := range f.Rows {
			if r.Label == label {
				return r
			}
		}
		return FlowRow{}
	}
	cx := (W - boxW) / 2
	// Before randomization: main column with side boxes for exclusions.
	box(cx, y, boxW, t("referred"), "n = "+cellString(row(t("referred")).Total))
	box(cx+boxW+30, y, 190, t("duplicate referrals"), "n = "+cellString(row(t("duplicate referrals")).Total))
	arrow(cx+boxW, y+boxH/2, cx+boxW+28, y+boxH/2)
	arrow(W/2, y+boxH, W/2, y+boxH+gap)
	y += boxH + gap
	box(cx, y, boxW, t("assessed for eligibility"), "n = "+cellString(row(t("assessed for eligibility")).Total))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="190" height="%d" rx="4" fill="#fff4f4" stroke="#333"/>`, cx+boxW+30, y+boxH/2+8, boxH+16)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="12">%s</text>`, cx+boxW+125, y+boxH/2+26, esc(t("excluded")))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="11">%s</text>`, cx+boxW+125, y+boxH/2+42, esc(t("not eligible")+": "+cellString(row(t("excluded: not meeting criteria")).Total)))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="11">%s</text>`, cx+boxW+125, y+boxH/2+56, esc(t("declined")+": "+cellString(row(t("excluded: declined")).Total)))
	arrow(W/2, y+boxH+gap/2+16, cx+boxW+28, y+boxH+gap/2+16)
	arrow(W/2, y+boxH, W/2, y+boxH+gap+40)
	y += boxH + gap + 40
	box(cx, y, boxW, t("randomized"), "n = "+cellString(row(t("randomized")).Total))
	// Per group.
	names := in.groupNames()
	xs := []int{40, W - 40 - boxW}
	if k := len(names); k > 2 {
		xs = make([]int, k)
		for g := range xs {
			xs[g] = 40 + g*(boxW+20)
		}
	}
	y0 := y + boxH
	y += boxH + gap + 10
	for g := range names {
		arrow(W/2, y0, xs[g]+boxW/2, y-2)
	}
	var stages []FlowRow
	for _, r := range f.Rows {
		if len(r.Groups) > 0 && r.Groups[0].Num != nil {
			stages = append(stages, r)
		}
	}
	for i, r := range stages {
		for g := range names {
			head := r.Label
			if i == 0 {
				head = r.Label + ": " + names[g]
			}
			box(xs[g], y, boxW, clipText(head, 46), "n = "+cellString(r.Groups[g]))
			if i+1 < len(stages) {
				arrow(xs[g]+boxW/2, y+boxH, xs[g]+boxW/2, y+boxH+gap-2)
			}
		}
		y += boxH + gap
	}
	H := y + 10
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`+
		`<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>%s</svg>`,
		W, H, W, H, esc(t("Participant flow")), b.String())
}

func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func cellString(c Cell) string { return c.String() }
