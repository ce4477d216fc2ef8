package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"

	"github.com/rct-trials/rct/internal/files"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is one plot of the report.
type Figure struct {
	Name    string // file name without extension: love, attrition, forest_primary, ...
	Caption string
	Plot    Drawing
	W, H    vg.Length
}

// Drawing draws on a gonum canvas: a plot, or the flow diagram (which
// writes its own SVG too).
type Drawing interface {
	Draw(draw.Canvas)
}

// svgWriter is a drawing with an SVG of its own.
type svgWriter interface {
	SVG() string
}

var groupColors = [2]color.Color{color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}}

// finite keeps a value gonum/plot accepts (it refuses NaN and infinities).
func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Title.TextStyle.Font.Size = vg.Points(11)
	return p
}

// interval is one row of a forest plot: a labelled estimate with its CI.
type interval struct {
	label          string
	est, low, high float64
}

// forest draws estimates with their intervals as horizontal bars, the
// first row on top, and a dashed line at ref (0: no effect).
func forest(title, xlabel string, rows []interval, ref float64) *plot.Plot {
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
	pts := make(plotter.XYs, len(kept))
	errs := make(plotter.XErrors, len(kept))
	names := make([]string, len(kept))
	for i, r := range kept {
		y := float64(len(kept) - 1 - i)
		pts[i] = plotter.XY{X: r.est, Y: y}
		errs[i] = struct{ Low, High float64 }{r.est - r.low, r.high - r.est}
		names[len(kept)-1-i] = r.label
	}
	bars := &struct {
		plotter.XYs
		plotter.XErrors
	}{pts, errs}
	eb, err := plotter.NewXErrorBars(bars)
	if err == nil {
		eb.LineStyle.Width = vg.Points(1.2)
		p.Add(eb)
	}
	if s, err := plotter.NewScatter(pts); err == nil {
		s.GlyphStyle.Shape = draw.BoxGlyph{}
		s.GlyphStyle.Radius = vg.Points(3)
		p.Add(s)
	}
	if l, err := plotter.NewLine(plotter.XYs{{X: ref, Y: -0.5}, {X: ref, Y: float64(len(kept)) - 0.5}}); err == nil {
		l.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		l.LineStyle.Color = color.Gray{Y: 0x80}
		p.Add(l)
	}
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.7, float64(len(kept))-0.3
	return p
}

// lines draws one line per group over nominal x positions, with error
// bars when given (lo, hi per point; NaN points are left out).
func lines(title, xlabel, ylabel string, xs []string, groups [2]string, y, lo, hi [2][]float64) *plot.Plot {
	p := newPlot(title, xlabel, ylabel)
	drawn := false
	for g := 0; g < 2; g++ {
		var pts plotter.XYs
		var errs plotter.YErrors
		for i := range xs {
			if i >= len(y[g]) || !finite(y[g][i]) {
				continue
			}
			x := float64(i) + 0.06*float64(2*g-1)
			pts = append(pts, plotter.XY{X: x, Y: y[g][i]})
			if lo[g] != nil && finite(lo[g][i], hi[g][i]) {
				errs = append(errs, struct{ Low, High float64 }{y[g][i] - lo[g][i], hi[g][i] - y[g][i]})
			} else {
				errs = append(errs, struct{ Low, High float64 }{0, 0})
			}
		}
		if len(pts) == 0 {
			continue
		}
		drawn = true
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			continue
		}
		l.Color, s.Color = groupColors[g], groupColors[g]
		p.Add(l, s)
		p.Legend.Add(groups[g], l, s)
		if lo[g] != nil {
			eb, err := plotter.NewYErrorBars(&struct {
				plotter.XYs
				plotter.YErrors
			}{pts, errs})
			if err == nil {
				eb.Color = groupColors[g]
				p.Add(eb)
			}
		}
	}
	if !drawn {
		return nil
	}
	p.NominalX(xs...)
	p.X.Min, p.X.Max = -0.5, float64(len(xs))-0.5
	p.Legend.Top = true
	return p
}

// histogram draws a null distribution with the observed statistic (and
// its mirror: the test is two-sided) as vertical lines.
func histogram(title, xlabel string, null []float64, observed float64) *plot.Plot {
	var vals plotter.Values
	for _, v := range null {
		if finite(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 || !finite(observed) {
		return nil
	}
	p := newPlot(title, xlabel, "draws")
	h, err := plotter.NewHist(vals, 40)
	if err != nil {
		return nil
	}
	h.FillColor = color.Gray{Y: 0xc0}
	p.Add(h)
	top := 0.0
	for _, b := range h.Bins {
		top = math.Max(top, b.Weight)
	}
	for i, x := range []float64{observed, -observed} {
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: top}})
		if err != nil {
			continue
		}
		l.Color = groupColors[1]
		l.Width = vg.Points(1.5)
		if i == 1 {
			l.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		}
		p.Add(l)
	}
	return p
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
	s := svgHeader.ReplaceAllString(buf.String(), "")
	return s, nil
}

// write writes the figure in a format: svg, png or pdf.
func (f Figure) write(w io.Writer, ext string) error {
	if ext == "svg" {
		s, err := f.SVG()
		if err == nil {
			_, err = io.WriteString(w, s)
		}
		return err
	}
	c, err := draw.NewFormattedCanvas(f.W, f.H, ext)
	if err != nil {
		return err
	}
	f.Plot.Draw(draw.New(c))
	_, err = c.WriteTo(w)
	return err
}

// WriteFigures writes every figure as SVG, PNG and PDF into dir.
func WriteFigures(dir string, figs []Figure) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range figs {
		for _, ext := range []string{"svg", "png", "pdf"} {
			path := filepath.Join(dir, f.Name+"."+ext)
			err := files.WriteAtomic(path, 0o600, files.Replace, func(w io.Writer) error { return f.write(w, ext) })
			if err != nil {
				return out, fmt.Errorf("reports: figure %s: %w", path, err)
			}
			out = append(out, path)
		}
	}
	return out, nil
}
