package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// layoutCheck runs in the page: every text of every figure (the flow
// included) stays inside its figure and, in the flow, inside its box;
// no two texts of a figure overlap; the page does not scroll sideways.
// It returns the problems found.
const layoutCheck = `(() => {
  const probs = [];
  const inside = (a, b, tol) => a.left >= b.left - tol && a.right <= b.right + tol && a.top >= b.top - tol && a.bottom <= b.bottom + tol;
  const meets = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
  let texts = 0;
  document.querySelectorAll('figure').forEach(fig => {
    const name = fig.dataset.figure;
    const svg = fig.querySelector('svg');
    if (!svg) { probs.push(name + ': no svg'); return; }
    const sb = svg.getBoundingClientRect();
    if (sb.width < 50 || sb.height < 50) probs.push(name + ': drawn ' + sb.width + ' x ' + sb.height);
    const ts = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim() !== '');
    const bs = ts.map(t => t.getBoundingClientRect());
    texts += ts.length;
    bs.forEach((b, i) => {
      const s = JSON.stringify(ts[i].textContent.trim());
      if (!inside(b, sb, 1)) probs.push(name + ': ' + s + ' runs outside the figure (' + [b.left - sb.left, sb.right - b.right, b.top - sb.top, sb.bottom - b.bottom].map(x => x.toFixed(1)).join(' ') + ')');
      const g = ts[i].closest('g.box');
      if (g && !inside(b, g.querySelector('rect').getBoundingClientRect(), 0.5)) probs.push(name + ': ' + s + ' runs outside its box');
      for (let j = 0; j < i; j++) {
        if (meets(b, bs[j])) probs.push(name + ': ' + s + ' overlaps ' + JSON.stringify(ts[j].textContent.trim()) + ' by ' + (Math.min(b.right, bs[j].right) - Math.max(b.left, bs[j].left)).toFixed(1) + ' x ' + (Math.min(b.bottom, bs[j].bottom) - Math.max(b.top, bs[j].top)).toFixed(1) + ' px');
      }
    });
  });
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    probs.push('the page is ' + document.documentElement.scrollWidth + ' px wide in a ' + window.innerWidth + ' px window');
  }
  if (texts < 100) probs.push('only ' + texts + ' texts in the figures');
  return probs;
})()`

// TestReportInBrowser: the keyed reports of the demo trial (1:1) and of a
// 2:1 trial, in headless Chromium at 1280 px and as printed (A4, print
// media): no text of a figure or of the flow overlaps another or runs out
// of its box, the page does not scroll sideways, and the PDF prints.
// Screenshots and PDFs go to $RCT_ARTEFACTS when set.
func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	browser := browserPath(t)
	dir := t.TempDir()
	trials := map[string]*inProcess{"demo": reportFixture(t), "ratio21": simulatedTrial(t, 90, 2, "--ratio", "2:1")}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Headless, chromedp.WindowSize(1280, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	art := os.Getenv("RCT_ARTEFACTS")
	keep := func(name string, b []byte) {
		if art != "" {
			os.WriteFile(filepath.Join(art, name), b, 0o644)
		}
	}
	for _, name := range []string{"demo", "ratio21"} {
		r := trials[name]
		for _, lang := range []string{"en", "nl", "fr"} {
			page := filepath.Join(dir, name+"-"+lang+".html")
			r.must("report", "-o", page, "--key", r.path("trial.key"), "--draws", "200", "--lang", lang)
			var screen, printed []string
			var shot, pdf []byte
			run := func(steps ...chromedp.Action[chromedp.Void]) {
				done := make(chan error, 1)
				go func() { done <- chromedp.Do(ctx, steps...) }()
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(90 * time.Second):
					t.Fatal("the browser took more than 90 s")
				}
			}
			eval := func(dst *[]string) chromedp.Action[chromedp.Void] {
				return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					v, err := chromedp.Evaluate[[]string](layoutCheck)(ctx, tg)
					*dst = v
					return err
				})
			}
			media := func(m string) chromedp.Action[chromedp.Void] {
				return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
					return err
				})
			}
			run(chromedp.EmulateViewport(1280, 1000), media(""), chromedp.Navigate("file://"+page), eval(&screen),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
					shot, err = chromedp.FullScreenshot(80)(ctx, tg)
					return err
				}),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
					pdf, err = chromedp.PrintToPDF()(ctx, tg)
					return err
				}),
				// A4 at 96 dpi less the printer's margins: 718 px of text.
				chromedp.EmulateViewport(718, 1000), media("print"), eval(&printed))
			for _, p := range screen {
				t.Errorf("%s %s at 1280 px: %s", name, lang, p)
			}
			for _, p := range printed {
				t.Errorf("%s %s printed: %s", name, lang, p)
			}
			if len(pdf) < 10000 || !strings.HasPrefix(string(pdf), "%PDF") {
				t.Errorf("%s %s: the printed PDF is %d bytes", name, lang, len(pdf))
			}
			keep("report-"+name+"-"+lang+".png", shot)
			keep("report-"+name+"-"+lang+".pdf", pdf)
		}
	}
}
