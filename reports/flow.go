package reports

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/rct-trials/rct/plan"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Flow is the CONSORT participant flow: its stages as table rows (a count
// per group, blank before randomization) and the drawn diagram.
type Flow struct {
	Rows    []FlowRow
	Diagram *FlowDiagram
}

// FlowRow is one stage of the flow: its count in each group (in the
// report's group order) and in all.
type FlowRow struct {
	Label  string
	Groups []Cell
	Total  Cell
}

// flowLine is one line of a box: its text and, when it says a count, the
// stage it counts (a key the tests read back: data-stage, data-n).
type flowLine struct {
	text  string
	stage string
	n     int
}

// flowBox is a box of the diagram, in points from the top left.
type flowBox struct {
	x, y, w, h float64
	lines      []flowLine
	side       bool   // a loss or an exclusion, to the side of the main line
	group      string // "" before randomization
}

// flowArrow is a polyline with a head at its end.
type flowArrow [][2]float64

// flowBand is a stage's label at the left edge (Enrolment, Allocation,
// Follow-up, Analysis), written upwards.
type flowBand struct {
	y, h  float64
	label string
}

// FlowDiagram is the CONSORT 2010 diagram laid out once and drawn twice:
// as SVG (the report and flow.svg, with the counts as data attributes)
// and on a gonum canvas (flow.png, flow.pdf).
type FlowDiagram struct {
	W, H   float64
	boxes  []flowBox
	arrows []flowArrow
	bands  []flowBand
	face   font.Face
	title  string
}

const (
	flowFont    = 10.5 // points
	flowPad     = 6
	flowLineH   = 13.5
	flowBandW   = 22
	flowMargin  = 8
	flowMainW   = 205
	flowSideW   = 175
	flowColGap  = 26
	flowSideGap = 24 // between the main line and a side box
)

// flowFace is the diagram's font: a sans-serif as the report's text, the
// same metrics on every canvas (Liberation Sans has Arial's widths).
var flowFace = font.Font{Typeface: "Liberation", Variant: "Sans"}

// flow reads the stages from the status and the analysis, as the CONSORT
// 2010 statement draws them: enrolment (referred, assessed, excluded with
// reasons, randomized); allocation per group (received the allocated
// intervention or not, only for the arms that offer one, "not known"
// without the key or the case managers' log; withdrawn); follow-up per
// wave with the families not interviewed to the side; analysis per primary
// outcome with the families excluded (no value) to the side.
func (in *Input) flow(t func(string) string) *Flow {
	s, a := in.Status, in.Analysis
	order := in.groupOrder()
	names := in.groupNames()
	fl := a.Flow
	f := &Flow{}
	blanks := make([]Cell, len(order))
	for i := range blanks {
		blanks[i] = text("")
	}
	add := func(label string, groups []Cell, total Cell) { f.Rows = append(f.Rows, FlowRow{label, groups, total}) }
	addN := func(label string, n func(g int) (int, bool)) {
		cells, sum, all := make([]Cell, len(order)), 0, true
		for i, g := range order {
			if v, ok := n(g); ok {
				cells[i] = count(v)
				sum += v
			} else {
				cells[i], all = text("–"), false
			}
		}
		total := count(sum)
		if !all {
			total = text("–")
		}
		add(label, cells, total)
	}
	of := func(x []int) func(int) (int, bool) {
		return func(g int) (int, bool) {
			if g < len(x) {
				return x[g], true
			}
			return 0, false
		}
	}
	add(t("referred"), blanks, count(s.Referred))
	add(t("duplicate referrals"), blanks, count(s.Duplicates))
	add(t("assessed for eligibility"), blanks, count(s.Assessed))
	add(t("excluded: not meeting criteria"), blanks, count(s.NotEligible))
	add(t("excluded: declined"), blanks, count(s.Declined))
	add(t("randomized"), blanks, count(s.Randomized))
	addN(t("allocated"), of(fl.Allocated))
	offers := func(g int) bool { return fl.Offers != nil && fl.Offers[g] }
	if fl.Received != nil {
		addN(t("received the allocated intervention"), func(g int) (int, bool) { return fl.Received[g], offers(g) })
		addN(t("did not receive the allocated intervention"), func(g int) (int, bool) { return fl.Allocated[g] - fl.Received[g], offers(g) })
	}
	if fl.Withdrawn != nil {
		addN(t("withdrew after randomization"), of(fl.Withdrawn))
	}
	for _, w := range fl.Responded {
		addN(t("interviewed at")+" "+w.Wave, of(w.N))
		addN(t("not interviewed at")+" "+w.Wave, func(g int) (int, bool) { return fl.Allocated[g] - w.N[g], true })
	}
	for _, o := range primaryAnalysed(fl) {
		addN(t("analysed")+": "+in.label(o.Outcome)+suffixSpace(o.Wave), of(o.N))
		addN(t("excluded from analysis (no value)")+": "+in.label(o.Outcome)+suffixSpace(o.Wave), func(g int) (int, bool) { return fl.Allocated[g] - o.N[g], true })
	}
	f.Diagram = in.layoutFlow(t, order, names)
	return f
}

func primaryAnalysed(fl plan.GroupFlow) []plan.OutcomeCount {
	var out []plan.OutcomeCount
	for _, o := range fl.Analysed {
		if o.Family == "primary" {
			out = append(out, o)
		}
	}
	return out
}

// step is one stage of a column: a side box (a loss or an exclusion)
// reached from the line above the main box, and the main box.
type step struct {
	side, main []flowLine
}

// layoutFlow places the boxes: one centred column down to randomization,
// then a column per group whose rows line up across the groups.
func (in *Input) layoutFlow(t func(string) string, order []int, names []string) *FlowDiagram {
	s, fl := in.Status, in.Analysis.Flow
	d := &FlowDiagram{face: font.DefaultCache.Lookup(flowFace, flowFont), title: t("Participant flow")}
	k := len(order)
	colW := float64(flowMainW + flowSideGap + flowSideW)
	x0 := float64(flowMargin + flowBandW + flowMargin)
	d.W = x0 + float64(k)*colW + float64(k-1)*flowColGap + flowMargin
	n := func(stage string, v int, label string) flowLine {
		return flowLine{text: fmt.Sprintf("%s (n = %d)", label, v), stage: stage, n: v}
	}
	note := func(s string) flowLine { return flowLine{text: s, n: -1} }
	// Enrolment.
	top := []step{
		{main: []flowLine{n("referred", s.Referred, t("Referred"))}},
		{side: []flowLine{n("duplicates", s.Duplicates, t("Duplicate referrals"))}, main: []flowLine{n("assessed", s.Assessed, t("Assessed for eligibility"))}},
		{side: []flowLine{n("excluded", s.NotEligible+s.Declined, t("Excluded")), n("not_eligible", s.NotEligible, "• "+t("Not meeting the criteria")), n("declined", s.Declined, "• "+t("Declined to participate"))},
			main: []flowLine{n("randomized", s.Randomized, t("Randomized"))}},
	}
	cx := x0 + (d.W-flowMargin-x0-colW)/2
	rows := d.column([][]step{top}, []float64{cx}, []string{""}, flowMargin)
	d.band(t("Enrolment"), rows[0][0], rows[len(rows)-1][1])
	rand := d.boxes[len(d.boxes)-1]
	// A column per group.
	cols := make([][]step, k)
	xs := make([]float64, k)
	for i, g := range order {
		xs[i] = x0 + float64(i)*(colW+flowColGap)
		alloc := []flowLine{n("allocated", fl.Allocated[g], t("Allocated to")+" "+names[i])}
		switch {
		case in.Analysis.Blinded:
			alloc = append(alloc, note("• "+t("What the families received: sealed with the key")))
		case fl.Offers != nil && !fl.Offers[g]:
			alloc = append(alloc, note("• "+t("reference arm: no intervention offered")))
		case fl.Received != nil:
			alloc = append(alloc, n("received", fl.Received[g], "• "+t("Received the allocated intervention")),
				n("not_received", fl.Allocated[g]-fl.Received[g], "• "+t("Did not receive it (did not accept guidance)")))
		default:
			alloc = append(alloc, note("• "+t("Received the allocated intervention: not known")+" ("+t(fl.ReceiptUnknown)+")"))
		}
		cols[i] = append(cols[i], step{main: alloc})
		for j, w := range fl.Responded {
			st := step{side: []flowLine{n("lost:"+w.Wave, fl.Allocated[g]-w.N[g], t("Lost to follow-up at")+" "+w.Wave), note(t("not interviewed"))},
				main: []flowLine{n("interviewed:"+w.Wave, w.N[g], t("Interviewed at")+" "+w.Wave)}}
			if j == 0 && len(fl.Withdrawn) > 0 {
				st.side = append(st.side, n("withdrawn", fl.Withdrawn[g], t("Withdrew after randomization")))
			}
			cols[i] = append(cols[i], st)
		}
		for _, o := range primaryAnalysed(fl) {
			what := in.label(o.Outcome) + suffixSpace(o.Wave)
			cols[i] = append(cols[i], step{
				side: []flowLine{n("excluded_analysis:"+o.Outcome+":"+o.Wave, fl.Allocated[g]-o.N[g], t("Excluded from analysis")), note(t("no value of") + " " + what)},
				main: []flowLine{n("analysed:"+o.Outcome+":"+o.Wave, o.N[g], t("Analysed")+": "+what)}})
		}
	}
	// Arrows from randomization down to each group's first box.
	fork := rows[len(rows)-1][1] + 12
	for i := range xs {
		d.arrows = append(d.arrows, flowArrow{{rand.x + rand.w/2, rand.y + rand.h}, {rand.x + rand.w/2, fork}, {xs[i] + flowMainW/2, fork}, {xs[i] + flowMainW/2, fork + 16}})
	}
	rows = d.column(cols, xs, names, fork+16)
	waves := len(fl.Responded)
	d.band(t("Allocation"), rows[0][0], rows[0][1])
	if waves > 0 {
		d.band(t("Follow-up"), rows[1][0], rows[waves][1])
	}
	if len(rows) > waves+1 {
		d.band(t("Analysis"), rows[waves+1][0], rows[len(rows)-1][1])
	}
	d.H = rows[len(rows)-1][1] + flowMargin
	return d
}

// column lays out columns of steps side by side from y: rows line up
// across the columns (each as high as its highest box). It returns each
// row's top (where its side box's gap starts) and bottom.
func (d *FlowDiagram) column(cols [][]step, xs []float64, groups []string, y float64) [][2]float64 {
	var rows [][2]float64
	last := make([]flowBox, len(cols))
	for r := 0; r < len(cols[0]); r++ {
		sideH, mainH := 0.0, 0.0
		for _, c := range cols {
			sideH = max(sideH, d.boxHeight(c[r].side, flowSideW))
			mainH = max(mainH, d.boxHeight(c[r].main, flowMainW))
		}
		gap := 22.0
		switch {
		case r == 0:
			gap = 0
		case sideH > 0:
			gap = sideH + 24
		}
		for i, c := range cols {
			mx := xs[i] + flowMainW/2
			if c[r].side != nil {
				sy := y + (gap-sideH)/2
				d.boxes = append(d.boxes, flowBox{x: xs[i] + flowMainW + flowSideGap, y: sy, w: flowSideW, h: sideH, lines: d.wrap(c[r].side, flowSideW), side: true, group: groups[i]})
				d.arrows = append(d.arrows, flowArrow{{mx, sy + sideH/2}, {xs[i] + flowMainW + flowSideGap, sy + sideH/2}})
			}
			if r > 0 {
				d.arrows = append(d.arrows, flowArrow{{mx, last[i].y + last[i].h}, {mx, y + gap}})
			}
			last[i] = flowBox{x: xs[i], y: y + gap, w: flowMainW, h: mainH, lines: d.wrap(c[r].main, flowMainW), group: groups[i]}
			d.boxes = append(d.boxes, last[i])
		}
		rows = append(rows, [2]float64{y, y + gap + mainH})
		y += gap + mainH
	}
	return rows
}

// band labels the stage from top to bottom.
func (d *FlowDiagram) band(label string, top, bottom float64) {
	d.bands = append(d.bands, flowBand{y: top, h: bottom - top, label: label})
}

// boxHeight is the height of a box of the given lines wrapped to width w.
func (d *FlowDiagram) boxHeight(lines []flowLine, w float64) float64 {
	if lines == nil {
		return 0
	}
	return 2*flowPad + float64(len(d.wrap(lines, w)))*flowLineH
}

// wrap breaks each line at spaces to fit the box, never inside a count
// "(n = 12)"; the stage goes with the piece that shows the count.
func (d *FlowDiagram) wrap(lines []flowLine, w float64) []flowLine {
	var out []flowLine
	room := vg.Length(w - 2*flowPad)
	const glue = "\x00"
	for _, l := range lines {
		words := strings.Fields(strings.ReplaceAll(l.text, "(n = ", "(n"+glue+"="+glue))
		cur := ""
		emit := func() {
			fl := flowLine{text: strings.ReplaceAll(cur, glue, " "), n: -1}
			if strings.Contains(cur, "(n"+glue) {
				fl.stage, fl.n = l.stage, l.n
			}
			if len(out) > 0 && cur != "" && strings.HasPrefix(l.text, "•") && !strings.HasPrefix(cur, "•") {
				fl.text = "  " + fl.text // a bullet's continuation, indented
			}
			out = append(out, fl)
		}
		first := len(out)
		for _, wd := range words {
			try := wd
			if cur != "" {
				try = cur + " " + wd
			}
			if cur != "" && d.face.Width(strings.ReplaceAll(try, glue, " ")) > room {
				emit()
				cur = wd
				continue
			}
			cur = try
		}
		emit()
		if l.stage != "" && !strings.Contains(l.text, "(n = ") {
			out[first].stage, out[first].n = l.stage, l.n
		}
	}
	return out
}

// SVG draws the diagram as an SVG element: every count's line carries
// data-stage, data-group and data-n.
func (d *FlowDiagram) SVG() string {
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" font-family="Liberation Sans, Arial, Helvetica, sans-serif" font-size="%g">`,
		d.W, d.H, d.W, d.H, esc(d.title), flowFont)
	b.WriteString(`<defs><marker id="flow-arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>`)
	for _, bd := range d.bands {
		fmt.Fprintf(&b, `<g class="band"><rect x="%d" y="%.1f" width="%d" height="%.1f" rx="4" fill="#dbe9f6" stroke="#7aa6d1"/>`, flowMargin, bd.y, flowBandW, bd.h)
		fmt.Fprintf(&b, `<text x="0" y="0" transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">%s</text></g>`, float64(flowMargin+flowBandW/2+4), bd.y+bd.h/2, esc(bd.label))
	}
	for _, a := range d.arrows {
		var pts []string
		for _, p := range a {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", p[0], p[1]))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#333" marker-end="url(#flow-arrow)"/>`, strings.Join(pts, " "))
	}
	for _, bx := range d.boxes {
		fill := "#ffffff"
		if bx.side {
			fill = "#f6f6f6"
		}
		fmt.Fprintf(&b, `<g class="box" data-group="%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#333"/>`, esc(bx.group), bx.x, bx.y, bx.w, bx.h, fill)
		for i, l := range bx.lines {
			attrs := ""
			if l.stage != "" {
				attrs = fmt.Sprintf(` data-stage="%s" data-n="%d"`, esc(l.stage), l.n)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" xml:space="preserve"%s>%s</text>`, bx.x+flowPad, bx.y+flowPad+flowLineH*float64(i)+flowFont, attrs, esc(l.text))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// Draw draws the diagram on a gonum canvas (PNG, PDF), the same layout as
// SVG: 1 unit is 1 point.
func (d *FlowDiagram) Draw(c draw.Canvas) {
	H := d.H
	pt := func(x, y float64) vg.Point { return vg.Point{X: c.Min.X + vg.Length(x), Y: c.Min.Y + vg.Length(H-y)} }
	rect := func(x, y, w, h float64, fill, stroke *rgba) {
		var p vg.Path
		p.Move(pt(x, y))
		p.Line(pt(x+w, y))
		p.Line(pt(x+w, y+h))
		p.Line(pt(x, y+h))
		p.Close()
		c.SetColor(fill)
		c.Fill(p)
		c.SetColor(stroke)
		c.SetLineWidth(vg.Points(0.8))
		c.Stroke(p)
	}
	for _, bd := range d.bands {
		rect(flowMargin, bd.y, flowBandW, bd.h, &rgba{0xdb, 0xe9, 0xf6}, &rgba{0x7a, 0xa6, 0xd1})
		c.Push()
		at := pt(flowMargin+flowBandW/2+4, bd.y+bd.h/2)
		c.Translate(at)
		c.Rotate(1.5707963267948966)
		c.SetColor(&rgba{0x22, 0x22, 0x22})
		c.FillString(d.face, vg.Point{X: -d.face.Width(bd.label) / 2}, bd.label)
		c.Pop()
	}
	c.SetColor(&rgba{0x33, 0x33, 0x33})
	for _, a := range d.arrows {
		var p vg.Path
		for i, q := range a {
			if i == 0 {
				p.Move(pt(q[0], q[1]))
			} else {
				p.Line(pt(q[0], q[1]))
			}
		}
		c.SetLineWidth(vg.Points(0.8))
		c.Stroke(p)
		end, prev := a[len(a)-1], a[len(a)-2]
		dx, dy := end[0]-prev[0], end[1]-prev[1]
		l := max(1e-9, math.Hypot(dx, dy))
		dx, dy = dx/l, dy/l
		var h vg.Path
		h.Move(pt(end[0], end[1]))
		h.Line(pt(end[0]-7*dx+3.5*dy, end[1]-7*dy-3.5*dx))
		h.Line(pt(end[0]-7*dx-3.5*dy, end[1]-7*dy+3.5*dx))
		h.Close()
		c.Fill(h)
	}
	for _, bx := range d.boxes {
		fill := &rgba{0xff, 0xff, 0xff}
		if bx.side {
			fill = &rgba{0xf6, 0xf6, 0xf6}
		}
		rect(bx.x, bx.y, bx.w, bx.h, fill, &rgba{0x33, 0x33, 0x33})
		c.SetColor(&rgba{0x22, 0x22, 0x22})
		for i, l := range bx.lines {
			c.FillString(d.face, pt(bx.x+flowPad, bx.y+flowPad+flowLineH*float64(i)+flowFont), l.text)
		}
	}
}

// rgba is an opaque colour.
type rgba struct{ r, g, b uint8 }

func (c *rgba) RGBA() (r, g, b, a uint32) {
	return uint32(c.r) * 0x101, uint32(c.g) * 0x101, uint32(c.b) * 0x101, 0xffff
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
