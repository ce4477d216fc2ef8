package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserPath finds Chromium, or skips — in CI (CI=true) it fails instead:
// .ci/run installs chromium.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing in CI (.ci/run installs it)")
	}
	t.Skip("chromium not installed (apt-get install chromium)")
	return ""
}

// TestServeInBrowser drives headless Chromium as an interviewer would,
// without a line of script on the pages: log in, read the status, upload
// the m6 workbook with mistakes and see it refused with its findings,
// upload the corrected one and see it imported, and the status page
// count it. Screenshots go to $RCT_ARTEFACTS when set.
func TestServeInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	browser := browserPath(t)
	r, _ := servedTrial(t, 30, 12, 0)
	assignAll(t, r)
	ts, _ := startServer(t, r, true)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Headless, chromedp.WindowSize(1280, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	into := func(dst *string, a chromedp.Action[string]) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			v, err := a(ctx, t)
			*dst = v
			return err
		})
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			dir := os.Getenv("RCT_ARTEFACTS")
			if dir == "" {
				return nil
			}
			b, err := chromedp.FullScreenshot(100)(ctx, t)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "serve-"+name+".png"), b, 0o644)
		})
	}
	var before, after, verdict, findings, imported string
	done := make(chan error, 1)
	go func() {
		done <- chromedp.Do(ctx,
			chromedp.Navigate(ts.URL+"/"),
			chromedp.WaitVisible(chromedp.ID("user")),
			chromedp.SendKeys(chromedp.ID("user"), "interviewer"),
			chromedp.SendKeys(chromedp.ID("password"), password("interviewer")),
			chromedp.Click(chromedp.ID("login")),
			chromedp.WaitVisible(chromedp.CSS("main ul")),
			chromedp.Navigate(ts.URL+"/status"),
			into(&before, chromedp.Text(chromedp.ID("waves"))),
			shot("status-before"),
			chromedp.Navigate(ts.URL+"/survey/upload?wave=m6"),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{r.path("m6-interviews.xlsx")}),
			chromedp.Click(chromedp.ID("send")),
			chromedp.WaitVisible(chromedp.ID("verdict")),
			into(&verdict, chromedp.Text(chromedp.ID("verdict"))),
			into(&findings, chromedp.Text(chromedp.CSS("table"))),
			shot("refused"),
			chromedp.Navigate(ts.URL+"/survey/upload?wave=m6"),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{r.path("m6-interviews-corrected.xlsx")}),
			chromedp.Click(chromedp.ID("send")),
			chromedp.WaitVisible(chromedp.ID("verdict")),
			into(&imported, chromedp.Text(chromedp.ID("verdict"))),
			shot("imported"),
			chromedp.Navigate(ts.URL+"/status"),
			into(&after, chromedp.Text(chromedp.ID("waves"))),
			shot("status-after"),
		)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the browser journey took more than 90 s")
	}
	if !strings.Contains(verdict, "errors") || !strings.Contains(findings, "m6-interviews.xlsx") || !strings.Contains(findings, "error") {
		t.Errorf("the refusal shows %q and findings %.300q", verdict, findings)
	}
	if !strings.Contains(imported, "rows imported") {
		t.Errorf("the corrected upload shows %q", imported)
	}
	if before == after {
		t.Errorf("the status did not change:\n%s", after)
	}
	t.Logf("status before:\n%s\nafter:\n%s", before, after)
}
