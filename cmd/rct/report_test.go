package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// reportFixture is the simulated trial of the report tests: seed 1, 112
// families, through `rct outcomes derive`.
func reportFixture(t *testing.T) *inProcess { return simulatedTrial(t, 112, 1) }

// TestReportGolden pins the blinded English report of the simulated trial
// at seed 1: no date unless --date, the same trial gives the same bytes.
func TestReportGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := reportFixture(t)
	out := filepath.Join(t.TempDir(), "report.html")
	r.must("report", "-o", out, "--draws", "500")
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 3<<20 {
		t.Errorf("report is %d bytes, more than 3 MB", len(got))
	}
	// The database's hash depends on where the test runs (imported files
	// are recorded with their paths): mask it.
	got = regexp.MustCompile(`(<td>database sha256</td>\s*<td>)[0-9a-f]{64}`).ReplaceAll(got, []byte("${1}MASKED"))
	golden := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestReportGolden -update ./cmd/rct/)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the report differs from %s (%d vs %d bytes); if the change is meant, rerun with -update", golden, len(got), len(want))
	}
	// Again: the same bytes (no time, no map order in the output).
	again := filepath.Join(t.TempDir(), "again.html")
	r.must("report", "-o", again, "--draws", "500")
	if b, _ := os.ReadFile(again); !bytes.Equal(regexp.MustCompile(`(<td>database sha256</td>\s*<td>)[0-9a-f]{64}`).ReplaceAll(b, []byte("${1}MASKED")), got) {
		t.Error("two reports of the same trial differ")
	}
}

// TestReportBlinding: the blinded report names no arm; the keyed one does,
// in Dutch with --lang nl, and writes its tables and figures.
func TestReportBlinding(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := reportFixture(t)
	dir := t.TempDir()
	blind := filepath.Join(dir, "blind.html")
	r.must("report", "-o", blind, "--draws", "200")
	b, _ := os.ReadFile(blind)
	html := strings.ReplaceAll(string(b), "Outreaching case management for families with a newborn in poverty", "") // the trial's title
	for _, arm := range []string{"Outreaching case management", "Usual services", "intervention", "control", "Intervention", "Control"} {
		if regexp.MustCompile(`\b` + arm + `\b`).MatchString(html) {
			t.Errorf("the blinded report names %q", arm)
		}
	}
	if !strings.Contains(html, "block sizes hidden until unblinding") {
		t.Error("the blinded report should hide the block sizes")
	}
	keyed := filepath.Join(dir, "keyed.html")
	xlsx := filepath.Join(dir, "tables.xlsx")
	figs := filepath.Join(dir, "figures")
	r.must("report", "-o", keyed, "--key", r.path("trial.key"), "--lang", "nl", "--draws", "200", "--xlsx", xlsx, "--figures", figs, "--date", "2020-01-15")
	k, _ := os.ReadFile(keyed)
	for _, want := range []string{"Usual services", "gedeblindeerd", "Verloop van de deelnemers", "blokgroottes [2 4 6]", "2020-01-15", "kreeg de toegewezen interventie niet", "Toegewezen aan"} {
		if !strings.Contains(string(k), want) {
			t.Errorf("the keyed Dutch report lacks %q", want)
		}
	}
	svgs, _ := filepath.Glob(filepath.Join(figs, "*.svg"))
	pngs, _ := filepath.Glob(filepath.Join(figs, "*.png"))
	pdfs, _ := filepath.Glob(filepath.Join(figs, "*.pdf"))
	n := strings.Count(string(k), "<figure data-figure=") // the flow diagram (class="flow") is not among them
	if len(svgs) != n || len(pngs) != n || len(pdfs) != n || n < 8 {
		t.Errorf("figures: %d in the report, %d svg, %d png, %d pdf files", n, len(svgs), len(pngs), len(pdfs))
	}
	// exit codes: bad language, existing file
	if _, _, code := r.run("report", "-o", keyed, "--lang", "de"); code != exitUsage {
		t.Errorf("--lang de: exit %d", code)
	}
	if _, _, code := r.run("report", "-o", keyed); code != exitUsage {
		t.Errorf("an existing report was overwritten without --force (exit %d)", code)
	}
	// The XLSX opens in openpyxl, a reader other than excelize.
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import openpyxl").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-openpyxl is missing in CI: %v", err)
		}
		t.Skip("python3-openpyxl not installed")
	}
	out, err := exec.Command(py, "-c", `
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
print(len(wb.sheetnames))
ws = wb["effects_primary"]
for row in ws.iter_rows(min_row=4, max_row=4):
    for c in row:
        if isinstance(c.value, float):
            print("number", c.number_format)
            break
`, xlsx).CombinedOutput()
	if err != nil {
		t.Fatalf("openpyxl: %v\n%s", err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) < 3 || lines[1] != "number" {
		t.Fatalf("openpyxl read %q", out)
	}
	if sheets, _ := strconv.Atoi(lines[0]); sheets < 10 {
		t.Errorf("openpyxl found %d sheets", sheets)
	}
}

// TestReportInChromium opens the report in headless Chromium: no console
// error, a screenshot, every figure drawn with a non-zero size.
func TestReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	browser := ""
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is missing in CI (.ci/run installs it)")
		}
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	r := reportFixture(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	r.must("report", "-o", page, "--key", r.path("trial.key"), "--draws", "200")
	chrome := func(args ...string) (string, string) {
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
			"--user-data-dir=" + filepath.Join(dir, "profile"), "--virtual-time-budget=5000"}, args...)
		cmd := exec.Command(browser, args...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, errOut.String())
		}
		return out.String(), errOut.String()
	}
	shot := filepath.Join(dir, "shot.png")
	_, log := chrome("--window-size=1200,3000", "--screenshot="+shot, "file://"+page)
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") || strings.Contains(line, "Refused to") {
			t.Errorf("console: %s", line)
		}
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("no screenshot: %v", err)
	}
	// Measure the figures: the same page with a probe script (the report
	// itself forbids scripts by its Content-Security-Policy).
	b, _ := os.ReadFile(page)
	probe := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`).ReplaceAllString(string(b), "")
	probe = strings.Replace(probe, "</body>", `<script>
window.onerror = function(m) { document.title = "ERROR " + m; };
window.addEventListener("load", function() {
  var out = [];
  document.querySelectorAll("figure[data-figure]").forEach(function(f) {
    var s = f.querySelector("svg"); var r = s ? s.getBoundingClientRect() : {width: 0, height: 0};
    out.push(f.dataset.figure + " " + Math.round(r.width) + " " + Math.round(r.height));
  });
  var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = out.join("\n"); document.body.appendChild(pre);
});
</script></body>`, 1)
	probePath := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probePath, []byte(probe), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, _ := chrome("--dump-dom", "file://"+probePath)
	if strings.Contains(dom, "<title>ERROR") {
		t.Errorf("script error: %s", regexp.MustCompile(`<title>[^<]*`).FindString(dom))
	}
	m := regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not run:\n%.2000s", dom)
	}
	figures := strings.Split(strings.TrimSpace(m[1]), "\n")
	if want := strings.Count(string(b), "<figure "); len(figures) != want || want < 9 {
		t.Errorf("measured %d figures, the report has %d", len(figures), want)
	}
	for _, f := range figures {
		var name string
		var w, h int
		parts := strings.Fields(f)
		if len(parts) == 3 {
			name = parts[0]
			w, _ = strconv.Atoi(parts[1])
			h, _ = strconv.Atoi(parts[2])
		}
		if w <= 0 || h <= 0 {
			t.Errorf("figure %q rendered %dx%d", name, w, h)
		}
	}
	t.Logf("%d figures rendered, screenshot %s", len(figures), shot)
}
