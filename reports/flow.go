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

// FlowRow is one stage of the flow.
type FlowRow struct {
	Label       string
	A, B, Total Cell
}

// flow reads the stages from the status and the analysis: referred,
// duplicates, assessed, excluded (not eligible, declined), randomized,
// allocated per group, received the intervention (with the key), followed
// up at each wave (lost, withdrawn), analysed (primary outcomes).
func (in *Input) flow(t func(string) string) *Flow {
	s, a := in.Status, in.Analysis
	f := &Flow{}
	blank := text("")
	add := func(label string, ga, gb Cell, total Cell) { f.Rows = append(f.Rows, FlowRow{label, ga, gb, total}) }
	add(t("referred"), blank, blank, count(s.Referred))
	add(t("duplicate referrals"), blank, blank, count(s.Duplicates))
	add(t("assessed for eligibility"), blank, blank, count(s.Assessed))
	add(t("excluded: not meeting criteria"), blank, blank, count(s.NotEligible))
	add(t("excluded: declined"), blank, blank, count(s.Declined))
	add(t("randomized"), blank, blank, count(s.Randomized))
	var n [2]int
	if len(a.Attrition) > 0 {
		n = [2]int{a.Attrition[0].Test.N0, a.Attrition[0].Test.N1}
	} else {
		for _, o := range a.Outcomes {
			if o.Source != "survey" {
				n = o.N
				break
			}
		}
	}
	add(t("allocated"), count(n[0]), count(n[1]), count(n[0]+n[1]))
	if a.Received != nil {
		add(t("received the intervention (accepted guidance)"), count(a.Received[0]), count(a.Received[1]), count(a.Received[0]+a.Received[1]))
		add(t("did not accept guidance"), count(n[0]-a.Received[0]), count(n[1]-a.Received[1]), count(n[0]+n[1]-a.Received[0]-a.Received[1]))
	}
	for _, w := range a.Attrition {
		x := w.Test
		add(t("followed up at")+" "+w.Wave, count(x.Responded0), count(x.Responded1), count(x.Responded0+x.Responded1))
		add(t("lost at")+" "+w.Wave+" ("+t("not interviewed")+")", count(x.N0-x.Responded0), count(x.N1-x.Responded1), count(x.N0+x.N1-x.Responded0-x.Responded1))
	}
	add(t("withdrawn after randomization"), blank, blank, count(s.Withdrawn))
	for _, o := range a.Outcomes {
		if o.Family == "primary" {
			add(t("analysed")+": "+in.label(o.Outcome)+suffixSpace(o.Wave), count(o.N[0]), count(o.N[1]), count(o.N[0]+o.N[1]))
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
	const W, boxW, boxH, gap = 760, 300, 46, 22
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
	xs := [2]int{40, W - 40 - boxW}
	names := [2]string{in.groupName(0), in.groupName(1)}
	y0 := y + boxH
	y += boxH + gap + 10
	for g := 0; g < 2; g++ {
		arrow(W/2, y0, xs[g]+boxW/2, y-2)
	}
	pick := func(r FlowRow, g int) string {
		if g == 0 {
			return cellString(r.A)
		}
		return cellString(r.B)
	}
	var stages []FlowRow
	for _, r := range f.Rows {
		if r.A.Num != nil {
			stages = append(stages, r)
		}
	}
	for i, r := range stages {
		for g := 0; g < 2; g++ {
			head := r.Label
			if i == 0 {
				head = r.Label + ": " + names[g]
			}
			box(xs[g], y, boxW, clipText(head, 46), "n = "+pick(r, g))
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
