package reports

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"git.sr.ht/~sbinet/gg"
	"github.com/rct-trials/rct/internal/files"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is one plot of the report.
type Figure struct {
	Name    string // file name without extension: love, attrition, forest_primary, ...
	Caption string
	Plot    Drawing
	W, H    vg.Length
}

// Drawing draws on a gonum canvas: a plot, a plot with its legend below,
// or the flow diagram (which writes its own SVG too).
type Drawing interface {
	Draw(draw.Canvas)
}

// svgWriter is a drawing with an SVG of its own.
type svgWriter interface {
	SVG() string
}

// palette is Okabe and Ito's colour-blind safe palette; a group keeps its
// colour in every figure (its place in the report's group order).
var palette = []color.Color{
	color.RGBA{0x00, 0x72, 0xb2, 0xff}, // blue
	color.RGBA{0xd5, 0x5e, 0x00, 0xff}, // vermillion
	color.RGBA{0x00, 0x9e, 0x73, 0xff}, // bluish green
	color.RGBA{0xe6, 0x9f, 0x00, 0xff}, // orange
	color.RGBA{0xcc, 0x79, 0xa7, 0xff}, // reddish purple
	color.RGBA{0x56, 0xb4, 0xe9, 0xff}, // sky blue
}

func groupColor(i int) color.Color { return palette[i%len(palette)] }

var (
	ink      = color.Gray{Y: 0x22}
	gridGray = color.Gray{Y: 0xe4}
	refGray  = color.Gray{Y: 0x70}
)

// finite keeps a value gonum/plot accepts (it refuses NaN and infinities).
func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// newPlot is a plot in the report's style: a sans-serif font, light grid
// lines (added by the caller for the axis that needs them).
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.Title.TextStyle.Font = font.From(flowFace, 11)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(flowFace, 10)
		a.Tick.Label.Font = font.From(flowFace, 9)
		a.Color, a.Tick.Color, a.Tick.Label.Color, a.Label.TextStyle.Color = refGray, refGray, ink, ink
	}
	p.Title.TextStyle.Color = ink
	p.Title.Padding = vg.Points(6)
	p.X.Label.Padding, p.Y.Label.Padding = vg.Points(5), vg.Points(5)
	return p
}

// grid adds light grid lines on the axes asked.
func grid(p *plot.Plot, vertical, horizontal bool) {
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridGray, gridGray
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.6), vg.Points(0.6)
	if !vertical {
		g.Vertical.Color = nil
	}
	if !horizontal {
		g.Horizontal.Color = nil
	}
	p.Add(g)
}

// niceStep is a round step (1, 2, 2.5 or 5 times a power of ten) giving
// about n intervals over span.
func niceStep(span float64, n int) float64 {
	if !(span > 0) {
		return 1
	}
	raw := span / float64(n)
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*pow >= raw*0.999 {
			return m * pow
		}
	}
	return 10 * pow
}

// niceRange takes in zero when asked and pads [lo, hi] by 6% on each side
// (so marks never touch the frame, as ggplot's default expansion); it
// returns the range and the step of its ticks.
func niceRange(lo, hi float64, zero bool) (float64, float64, float64) {
	if zero {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	}
	if hi-lo < 1e-12 {
		lo, hi = lo-0.5*math.Max(1, math.Abs(lo)), hi+0.5*math.Max(1, math.Abs(hi))
	}
	pad := 0.06 * (hi - lo)
	return lo - pad, hi + pad, niceStep(hi-lo+2*pad, 6)
}

// ticks marks every step from min to max with labels of just enough
// decimals (percentages when pct); zero is "0".
func ticks(step float64, pct bool) plot.Ticker {
	dec := 0
	for s := step; dec < 8 && math.Abs(s-math.Round(s)) > 1e-9*math.Max(1, math.Abs(s)); s *= 10 {
		dec++
	}
	if pct {
		dec = max(0, dec-2)
	}
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		var out []plot.Tick
		for v := math.Ceil(min/step-1e-9) * step; v <= max+step*1e-9; v += step {
			x := math.Round(v/step) * step
			var label string
			switch {
			case math.Abs(x) < step*1e-9:
				label = "0"
				if pct {
					label = "0%"
				}
			case pct:
				label = strconv.FormatFloat(100*x, 'f', dec, 64) + "%"
			default:
				label = strconv.FormatFloat(x, 'f', dec, 64)
			}
			out = append(out, plot.Tick{Value: x, Label: label})
		}
		return out
	})
}

// setAxis sets an axis to a nice range over [lo, hi] with its ticks.
func setAxis(a *plot.Axis, lo, hi float64, zero, pct bool) {
	min, max, step := niceRange(lo, hi, zero)
	if pct {
		min, max = math.Max(min, 0), math.Min(max, 1)
		if max-min < step {
			max = math.Min(1, min+step)
		}
	}
	a.Min, a.Max = min, max
	a.Tick.Marker = ticks(step, pct)
}

// vline is a vertical reference line over the whole y range.
func vline(x, y0, y1 float64, c color.Color, dashed bool) plot.Plotter {
	l, _ := plotter.NewLine(plotter.XYs{{X: x, Y: y0}, {X: x, Y: y1}})
	l.Color, l.Width = c, vg.Points(1)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	}
	return l
}

// interval is one row of a forest plot: a labelled estimate with its CI.
type interval struct {
	label          string
	est, low, high float64
}

// forest draws estimates with their intervals as horizontal bars, the
// first row on top: the x axis takes in zero (a difference) and every
// interval with room to spare, a dashed line at zero, dotted lines at the
// given thresholds (the love plot's ±0.1).
func forest(title, xlabel string, rows []interval, col color.Color, thresholds ...float64) Drawing {
	var kept []interval
	for _, r := range rows {
		if finite(r.est, r.low, r.high) {
			kept = append(kept, r)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	p := newPlot(title, xlabel, "")
	grid(p, true, false)
	lo, hi := 0.0, 0.0
	for _, r := range kept {
		lo, hi = math.Min(lo, r.low), math.Max(hi, r.high)
	}
	for _, t := range thresholds {
		lo, hi = math.Min(lo, t), math.Max(hi, t)
	}
	setAxis(&p.X, lo, hi, true, false)
	top := float64(len(kept)) - 0.5
	p.Add(vline(0, -0.5, top, refGray, true))
	for _, t := range thresholds {
		l := vline(t, -0.5, top, refGray, true).(*plotter.Line)
		l.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
		p.Add(l)
	}
	pts := make(plotter.XYs, len(kept))
	errs := make(plotter.XErrors, len(kept))
	names := make([]string, len(kept))
	for i, r := range kept {
		y := float64(len(kept) - 1 - i)
		pts[i] = plotter.XY{X: r.est, Y: y}
		errs[i] = struct{ Low, High float64 }{r.est - r.low, r.high - r.est}
		names[len(kept)-1-i] = r.label
	}
	if eb, err := plotter.NewXErrorBars(&struct {
		plotter.XYs
		plotter.XErrors
	}{pts, errs}); err == nil {
		eb.LineStyle.Width, eb.LineStyle.Color = vg.Points(1.2), col
		p.Add(eb)
	}
	if s, err := plotter.NewScatter(pts); err == nil {
		s.GlyphStyle.Shape, s.GlyphStyle.Radius, s.GlyphStyle.Color = draw.BoxGlyph{}, vg.Points(3), col
		p.Add(s)
	}
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.7, float64(len(kept))-0.3
	p.Y.Tick.Label.Font = font.From(flowFace, 9)
	return framed{p: p}
}

// series is one group's line: its name, colour and points (NaN: none).
type series struct {
	name   string
	color  color.Color
	y      []float64
	lo, hi []float64 // nil: no error bars
}

// framed is a plot drawn a little inside its canvas (no text touches the
// edge, whatever the viewer's font metrics), with its legend, if any,
// below the axes, outside the data.
type framed struct {
	p       *plot.Plot
	entries []series
}

const frameInset = 4 // points

const legendRow = 15 // points

// Draw draws the plot above and the legend in rows below it.
func (w framed) Draw(c draw.Canvas) {
	c = draw.Crop(c, vg.Points(frameInset), -vg.Points(frameInset), vg.Points(frameInset), -vg.Points(frameInset))
	face := font.DefaultCache.Lookup(flowFace, 9)
	rows := [][]series{{}}
	used, room := vg.Length(0), c.Max.X-c.Min.X-vg.Points(20)
	for _, e := range w.entries {
		ew := vg.Points(30) + face.Width(e.name)
		if used+ew > room && len(rows[len(rows)-1]) > 0 {
			rows, used = append(rows, nil), 0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], e)
		used += ew
	}
	pc := c
	if len(w.entries) > 0 {
		pc.Min.Y += vg.Points(float64(len(rows)*legendRow + 4))
	}
	w.p.Draw(pc)
	for i, row := range rows {
		width := vg.Length(0)
		for _, e := range row {
			width += vg.Points(30) + face.Width(e.name)
		}
		x := c.Min.X + (c.Max.X-c.Min.X-width)/2
		y := c.Min.Y + vg.Points(float64((len(rows)-1-i)*legendRow+6))
		for _, e := range row {
			ls := draw.LineStyle{Color: e.color, Width: vg.Points(1.2)}
			c.StrokeLine2(ls, x, y+vg.Points(3), x+vg.Points(16), y+vg.Points(3))
			c.DrawGlyphNoClip(draw.GlyphStyle{Color: e.color, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}, vg.Point{X: x + vg.Points(8), Y: y + vg.Points(3)})
			c.FillText(draw.TextStyle{Color: ink, Font: font.From(flowFace, 9), Handler: plot.DefaultTextHandler}, vg.Point{X: x + vg.Points(20), Y: y}, e.name)
			x += vg.Points(30) + face.Width(e.name)
		}
	}
}

// lines draws one line per group over nominal x positions, dodged apart,
// with error bars when given and the legend below. pct: the y axis is a
// share (0 to 100%).
func lines(title, xlabel, ylabel string, xs []string, groups []series, pct bool) Drawing {
	p := newPlot(title, xlabel, ylabel)
	grid(p, false, true)
	lo, hi := math.Inf(1), math.Inf(-1)
	var drawn []series
	for g, s := range groups {
		var pts plotter.XYs
		var errs plotter.YErrors
		for i := range xs {
			if i >= len(s.y) || !finite(s.y[i]) {
				continue
			}
			x := float64(i) + 0.08*(float64(g)-float64(len(groups)-1)/2)
			pts = append(pts, plotter.XY{X: x, Y: s.y[i]})
			l, h := s.y[i], s.y[i]
			if s.lo != nil && finite(s.lo[i], s.hi[i]) {
				l, h = s.lo[i], s.hi[i]
			}
			errs = append(errs, struct{ Low, High float64 }{s.y[i] - l, h - s.y[i]})
			lo, hi = math.Min(lo, l), math.Max(hi, h)
		}
		if len(pts) == 0 {
			continue
		}
		drawn = append(drawn, s)
		if s.lo != nil {
			if eb, err := plotter.NewYErrorBars(&struct {
				plotter.XYs
				plotter.YErrors
			}{pts, errs}); err == nil {
				eb.Color, eb.Width = s.color, vg.Points(1)
				p.Add(eb)
			}
		}
		if l, sc, err := plotter.NewLinePoints(pts); err == nil {
			l.Color, l.Width = s.color, vg.Points(1.2)
			sc.Color, sc.Shape, sc.Radius = s.color, draw.CircleGlyph{}, vg.Points(2.5)
			p.Add(l, sc)
		}
	}
	if len(drawn) == 0 {
		return nil
	}
	p.NominalX(xs...)
	p.X.Min, p.X.Max = -0.5, float64(len(xs))-0.5
	setAxis(&p.Y, lo, hi, false, pct)
	return framed{p: p, entries: drawn}
}

// histogram draws a randomization distribution with the observed
// statistic (solid) and its mirror (dashed: the test is two-sided). A
// statistic on a lattice (a difference in means of a binary outcome moves
// in steps of about 1/n0 + 1/n1) is binned on it: each bar holds the same
// number of lattice points, so no comb of alternating heights appears.
// step is the lattice's step when known (0: found from the draws).
func histogram(title, xlabel, ylabel string, null []float64, observed, step float64) Drawing {
	var vals []float64
	for _, v := range null {
		if finite(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 || !finite(observed) {
		return nil
	}
	p := newPlot(title, xlabel, ylabel)
	grid(p, false, true)
	h := &plotter.Histogram{Bins: supportBins(vals, observed, step), FillColor: color.Gray{Y: 0xbb}}
	h.LineStyle = draw.LineStyle{Color: color.Gray{Y: 0x88}, Width: vg.Points(0.5)}
	h.Width = h.Bins[0].Max - h.Bins[0].Min
	p.Add(h)
	top := 0.0
	lo, hi := -math.Abs(observed), math.Abs(observed)
	for _, b := range h.Bins {
		top = math.Max(top, b.Weight)
		lo, hi = math.Min(lo, b.Min), math.Max(hi, b.Max)
	}
	setAxis(&p.X, lo, hi, true, false)
	setAxis(&p.Y, 0, top, true, false)
	p.Y.Min = 0
	p.Add(vline(observed, 0, p.Y.Max, palette[1], false), vline(-observed, 0, p.Y.Max, palette[1], true))
	return framed{p: p}
}

// supportBins bins the draws: on the lattice of the given step (or the
// one they lie on exactly), with bars a whole number of steps wide (at
// most 50 bars) centred on lattice points through anchor; else 40 equal
// bins.
func supportBins(vals []float64, anchor, step float64) []plotter.HistogramBin {
	s := slices.Clone(vals)
	slices.Sort(s)
	lo, hi := s[0], s[len(s)-1]
	tol := 1e-9 * math.Max(1e-300, math.Max(math.Abs(lo), math.Abs(hi)))
	if !(step > 0) {
		step = latticeStep(s, tol)
	}
	var edges []float64
	switch {
	case hi-lo <= tol:
		w := math.Max(step, 1e-3*math.Max(1, math.Abs(lo)))
		edges = []float64{lo - w/2, lo + w/2}
	case step > 0:
		w := math.Ceil((hi-lo)/step/50) * step
		first := anchor - w/2 + math.Floor((lo-(anchor-w/2))/w)*w
		for e := first; e <= hi+tol; e += w {
			edges = append(edges, e)
		}
		edges = append(edges, edges[len(edges)-1]+w)
	default:
		w := (hi - lo) / 40
		for i := 0; i <= 40; i++ {
			edges = append(edges, lo+float64(i)*w)
		}
	}
	bins := make([]plotter.HistogramBin, len(edges)-1)
	for i := range bins {
		bins[i] = plotter.HistogramBin{Min: edges[i], Max: edges[i+1]}
	}
	for _, v := range s {
		i, _ := slices.BinarySearch(edges, v)
		i = min(max(i-1, 0), len(bins)-1)
		for i+1 < len(bins) && v >= edges[i+1] {
			i++
		}
		bins[i].Weight++
	}
	return bins
}

// latticeStep is the step of the lattice sorted draws lie on exactly, or 0.
func latticeStep(s []float64, tol float64) float64 {
	distinct := []float64{s[0]}
	for _, v := range s[1:] {
		if v-distinct[len(distinct)-1] > tol {
			distinct = append(distinct, v)
		}
	}
	if len(distinct) < 2 {
		return 0
	}
	step := math.Inf(1)
	for i := 1; i < len(distinct); i++ {
		step = math.Min(step, distinct[i]-distinct[i-1])
	}
	for _, v := range distinct {
		if k := (v - distinct[0]) / step; math.Abs(k-math.Round(k)) > 1e-6 {
			return 0
		}
	}
	return step
}

var svgHeader = regexp.MustCompile(`^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?`)

// SVG renders a figure as an SVG element for inline use.
func (f Figure) SVG() (string, error) {
	if s, ok := f.Plot.(svgWriter); ok {
		return s.SVG(), nil
	}
	c := vgsvg.New(f.W, f.H)
	f.Plot.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	return svgHeader.ReplaceAllString(buf.String(), ""), nil
}

// pngDPI draws PNGs at twice the screen's resolution: sharp on a
// high-density screen and in print at the figure's size.
const pngDPI = 192

// write writes the figure in a format: svg, png or pdf.
func (f Figure) write(w io.Writer, ext string) error {
	var c vg.CanvasWriterTo
	switch ext {
	case "svg":
		s, err := f.SVG()
		if err == nil {
			_, err = io.WriteString(w, s)
		}
		return err
	case "png":
		return f.writePNG(w)
	default:
		var err error
		if c, err = draw.NewFormattedCanvas(f.W, f.H, ext); err != nil {
			return err
		}
	}
	f.Plot.Draw(draw.New(c))
	_, err := c.WriteTo(w)
	return err
}

// writePNG draws the figure as vgimg.NewWith(UseWH(f.W, f.H), UseDPI)
// does, without its second image: NewWith makes an image, and gg copies it
// into another before drawing (for the 2347 × 2301 flow, 21 MB made and
// copied). Here the image is made once, the same size, and handed over
// with its context. vgimg refuses UseWH beside UseImageWithContext (both
// set the size), so one option applies both: the canvas keeps the
// figure's exact size, which places the text, and the pixels are the same.
func (f Figure) writePNG(w io.Writer) error {
	px := func(l vg.Length) int { return int(l/vg.Inch*vg.Length(pngDPI) + 0.5) }
	img := image.NewRGBA(image.Rect(0, 0, px(f.W), px(f.H)))
	ctx := gg.NewContextForRGBA(img)
	ctx.SetLineCapButt()
	ctx.InvertY()
	sizeAndImage := func(c *vgimg.Canvas) uint32 {
		vgimg.UseWH(f.W, f.H)(c)
		vgimg.UseImageWithContext(img, ctx)(c)
		return 0
	}
	c := vgimg.NewWith(sizeAndImage, vgimg.UseDPI(pngDPI))
	f.Plot.Draw(draw.New(c))
	// zlib's fastest level, the same pixels: at the default level the PNG
	// encoding was 40% of a blinded report's CPU at 112 families, for
	// files 3% smaller.
	b := bufio.NewWriter(w)
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(b, img); err != nil {
		return err
	}
	return b.Flush()
}

// PNG renders a figure as PNG (for the XLSX).
func (f Figure) PNG() ([]byte, error) {
	var b bytes.Buffer
	err := f.write(&b, "png")
	return b.Bytes(), err
}

// WriteFigures writes every figure as SVG, PNG and PDF into dir, the
// figures drawn on every core.
func WriteFigures(dir string, figs []Figure) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	exts := []string{"svg", "png", "pdf"}
	paths := make([]string, len(figs)*len(exts))
	for i, f := range figs {
		for j, ext := range exts {
			paths[i*len(exts)+j] = filepath.Join(dir, f.Name+"."+ext)
		}
	}
	done, err := eachFigure(figs, func(i int, f Figure) error {
		for j, ext := range exts {
			path := paths[i*len(exts)+j]
			if err := files.WriteAtomic(path, 0o600, files.Replace, func(w io.Writer) error { return f.write(w, ext) }); err != nil {
				return fmt.Errorf("reports: figure %s: %w", path, err)
			}
		}
		return nil
	})
	return paths[:done*len(exts)], err
}

// eachFigure calls fn for every figure, on every core (a figure's plot is
// drawn by one goroutine at a time). It returns the error of the first
// figure that failed, and how many figures before it are done.
func eachFigure(figs []Figure, fn func(i int, f Figure) error) (int, error) {
	errs := make([]error, len(figs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(figs)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = fn(i, figs[i])
			}
		})
	}
	for i := range figs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return i, err
		}
	}
	return len(figs), nil
}

// pIs writes a p-value in a sentence: "p = 0.032" or "p < 0.001".
func pIs(p float64) string {
	c := num(p, "p")
	if s := c.String(); len(s) > 0 && s[0] == '<' {
		return "p " + s
	}
	return "p = " + c.String()
}
