package reports

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// TestAxisTicks: round ticks, a labelled zero for a difference, and a
// range that leaves room around every mark.
func TestAxisTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		zero   bool
		want   []string
	}{
		{-0.13, 0.57, true, []string{"0", "0.2", "0.4", "0.6"}},
		{0.05, 0.31, true, []string{"0", "0.1", "0.2", "0.3"}},
		{1330, 1640, false, []string{"1400", "1500", "1600"}},
		{-0.27, 0.25, true, []string{"-0.3", "-0.2", "-0.1", "0", "0.1", "0.2"}},
		{0.3, 0.3, true, []string{"0", "0.1", "0.2", "0.3"}},
	} {
		min, max, step := niceRange(c.lo, c.hi, c.zero)
		if !(min < c.lo && max > c.hi) {
			t.Errorf("[%g, %g]: range [%g, %g] touches a mark", c.lo, c.hi, min, max)
		}
		var got []string
		for _, tk := range ticks(step, false).Ticks(min, max) {
			got = append(got, tk.Label)
		}
		if len(got) != len(c.want) {
			t.Errorf("[%g, %g]: ticks %v, want %v", c.lo, c.hi, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("[%g, %g]: ticks %v, want %v", c.lo, c.hi, got, c.want)
				break
			}
		}
	}
	var pct []string
	for _, tk := range ticks(0.05, true).Ticks(0.75, 1) {
		pct = append(pct, tk.Label)
	}
	if want := "[75% 80% 85% 90% 95% 100%]"; "["+join(pct)+"]" != want {
		t.Errorf("percent ticks %v, want %s", pct, want)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// TestSupportBins: a difference in means of a binary outcome lies on a
// lattice of step about 1/n0 + 1/n1 (exactly, when the group sizes are
// fixed; near it, when a stratified design lets them vary by a few); bars
// a whole number of steps wide hold the same number of its points, so the
// histogram of a smooth distribution shows no comb (40 equal bins over the
// range put 1 or 2 points in alternate bars).
func TestSupportBins(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Re-randomizations of 112 families, 39 of them with the outcome: the
	// outcomes stay, the assignment is drawn again.
	draw := func(vary bool) []float64 {
		var vals []float64
		for range 20000 {
			n1 := 56
			if vary {
				n1 = 53 + rng.IntN(7)
			}
			perm := rng.Perm(112)
			k1 := 0
			for _, i := range perm[:n1] {
				if i < 39 {
					k1++
				}
			}
			vals = append(vals, float64(k1)/float64(n1)-float64(39-k1)/float64(112-n1))
		}
		return vals
	}
	for _, vary := range []bool{false, true} {
		vals := draw(vary)
		step := 1.0/56 + 1.0/56 // what the report gives: 1/n0 + 1/n1
		if c := combs(fixedBins(vals, 40)); c < 0.2 {
			t.Errorf("vary %v: 40 equal bins show no comb (%.2f): the test does not test", vary, c)
		}
		for _, st := range []float64{step, 0} {
			if vary && st == 0 {
				continue
			}
			bins := supportBins(vals, vals[0], st)
			n := 0.0
			for _, b := range bins {
				n += b.Weight
			}
			if n != float64(len(vals)) {
				t.Errorf("bins hold %g of %d draws", n, len(vals))
			}
			if c := combs(bins); c > 0.05 {
				t.Errorf("vary %v, step %g: comb in %.2f of the bars", vary, st, c)
			}
			if !vary {
				w := bins[0].Max - bins[0].Min
				if m := w / step; math.Abs(m-math.Round(m)) > 1e-6 {
					t.Errorf("bin width %g is not a whole number of lattice steps (%g)", w, step)
				}
			}
		}
	}
	var cont []float64
	for range 1000 {
		cont = append(cont, rng.NormFloat64())
	}
	if b := supportBins(cont, 0, 0); len(b) != 40 {
		t.Errorf("%d bins for continuous draws", len(b))
	}
	if b := supportBins([]float64{0.3, 0.3}, 0.3, 0); len(b) != 1 || b[0].Weight != 2 {
		t.Errorf("one value: %+v", b)
	}
}

// fixedBins is what the report drew before: 40 equal bins over the range.
func fixedBins(vals []float64, n int) []plotter.HistogramBin {
	lo, hi := slices.Min(vals), slices.Max(vals)
	w := (hi - lo) / float64(n)
	bins := make([]plotter.HistogramBin, n)
	for i := range bins {
		bins[i] = plotter.HistogramBin{Min: lo + float64(i)*w, Max: lo + float64(i+1)*w}
	}
	for _, v := range vals {
		bins[min(int((v-lo)/w), n-1)].Weight++
	}
	return bins
}

// combs is the share of the bars in the bulk of the distribution (both
// neighbours at least a quarter of the highest) that stand out from both
// neighbours, up or down, by more than 30%: the teeth of a comb.
func combs(bins []plotter.HistogramBin) float64 {
	top := 0.0
	for _, b := range bins {
		top = math.Max(top, b.Weight)
	}
	teeth, n := 0, 0
	for i := 1; i+1 < len(bins); i++ {
		l, c, r := bins[i-1].Weight, bins[i].Weight, bins[i+1].Weight
		if l < top/4 || r < top/4 {
			continue
		}
		n++
		if (c > 1.3*l && c > 1.3*r) || (c < l/1.3 && c < r/1.3) {
			teeth++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(teeth) / float64(n)
}

func TestPIs(t *testing.T) {
	for p, want := range map[float64]string{0.0004: "p < 0.001", 0.0321: "p = 0.032", 1: "p = 1.000"} {
		if got := pIs(p); got != want {
			t.Errorf("pIs(%g) = %q, want %q", p, got, want)
		}
	}
}

// TestPNGAsNewWith: a figure drawn on the one image gives the pixels of
// vgimg's own canvas (two images, the size from UseWH), on every figure of
// a report and on sizes that are not whole pixels. (The bytes differ:
// writePNG deflates at zlib's fastest level.)
func TestPNGAsNewWith(t *testing.T) {
	r, _ := holesReport(t)
	figs := r.Figures()
	if len(figs) == 0 {
		t.Fatal("no figures")
	}
	odd := figs[0]
	odd.W, odd.H = odd.W+0.37, odd.H+0.61
	for _, f := range append(figs, odd) {
		c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.W, f.H), vgimg.UseDPI(pngDPI))}
		f.Plot.Draw(draw.New(c))
		var want bytes.Buffer
		if _, err := c.WriteTo(&want); err != nil {
			t.Fatal(err)
		}
		got, err := f.PNG()
		if err != nil {
			t.Fatal(err)
		}
		g, err := png.Decode(bytes.NewReader(got))
		if err != nil {
			t.Fatal(err)
		}
		w, err := png.Decode(&want)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s (%v × %v): the PNG's pixels differ from vgimg's", f.Name, f.W, f.H)
		}
	}
}
