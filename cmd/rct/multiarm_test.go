package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/simulate"
)

// rscript returns the Rscript program with estimatr and jsonlite, or
// skips — in CI (CI=true) it fails instead: .ci/run installs R.
func rscript(t *testing.T) string {
	t.Helper()
	r, err := exec.LookPath("Rscript")
	if err == nil {
		err = exec.Command(r, "-e", "suppressMessages({library(estimatr); library(jsonlite)})").Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Rscript with estimatr and jsonlite is not installed (%v); .ci/run installs it", err)
		}
		t.Skip("Rscript with estimatr and jsonlite not installed (apt-get install r-base-core r-cran-estimatr r-cran-jsonlite)")
	}
	return r
}

// checkExport exports the trial's data set (with the key when key is
// given) beside `rct analyze --json` and runs testdata/check_export.R on
// them: estimatr on the exported data reproduces every estimate of every
// contrast to 1e-8, and the declared missing codes are NA in R.
func checkExport(t *testing.T, r *inProcess, key string) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"data", "export", "-o", filepath.Join(dir, "data.csv")}
	an := []string{"analyze", "--draws", "200", "--json"}
	if key != "" {
		args, an = append(args, "--key", key), append(an, "--key", key)
	}
	r.must(args...)
	if err := os.WriteFile(filepath.Join(dir, "analysis.json"), []byte(r.must(an...)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(rscript(t), filepath.Join("..", "..", "testdata", "check_export.R"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("check_export.R: %v\n%s", err, out)
	}
	t.Logf("key %q: %s", key, strings.TrimSpace(string(out)))
}

// TestThreeArmJourney: a simulated 2:1:1 trial (intervention, phone
// guidance, control) through every command: protocol check warns, the
// analysis compares each arm with control (blinded: each group with group
// A) with a joint balance test across the three groups, p-values adjusted
// over both contrasts, complier effects for both, the report and the
// export with three groups, each contrast reproduced by estimatr from the
// exported data, and truth.json's effects within the intervals.
func TestThreeArmJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := simulatedTrial(t, 80, 3, "--arms", "3")
	_, warn, code := r.run("protocol", "check", r.path("trial.yaml"))
	if code != 0 {
		t.Fatalf("protocol check: exit %d\n%s", code, warn)
	}
	for _, want := range []string{"ratio 2:1:1", "analysis.compliance with 3 arms"} {
		if !strings.Contains(warn, want) {
			t.Errorf("protocol check does not warn %q:\n%s", want, warn)
		}
	}
	var blind plan.Analysis
	if err := json.Unmarshal([]byte(r.must("analyze", "--draws", "300", "--json")), &blind); err != nil {
		t.Fatal(err)
	}
	if len(blind.Contrasts) != 2 || blind.Contrasts[0].ID != "B-A" || blind.Contrasts[1].ID != "C-A" || blind.Across == nil || blind.Across.Test == nil || blind.Across.RI == nil {
		t.Fatalf("blinded contrasts %+v, across %+v", blind.Contrasts, blind.Across)
	}
	var a plan.Analysis
	if err := json.Unmarshal([]byte(r.must("analyze", "--key", r.path("trial.key"), "--draws", "300", "--json")), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Contrasts) != 2 || a.Contrasts[0].ID != "intervention-control" || a.Contrasts[1].ID != "light-control" {
		t.Fatalf("keyed contrasts %v", a.Contrasts)
	}
	if a.Across.Test.F != blind.Across.Test.F || *a.Across.RI != *blind.Across.RI {
		t.Errorf("the joint test across groups differs with the key: %v vs %v", a.Across.Test, blind.Across.Test)
	}
	var truth simulate.Truth
	b, _ := os.ReadFile(r.path("truth.json"))
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, want := range truth.Outcomes {
		for _, tc := range want.Contrasts {
			for _, c := range a.Contrasts {
				if c.ID != tc.Contrast {
					continue
				}
				for _, got := range c.Outcomes {
					if got.Outcome != want.Outcome {
						continue
					}
					checked++
					e := got.Estimate
					if e == nil || got.RIP == nil || got.PAdjusted == nil || got.CACE == nil {
						t.Fatalf("%s %s: estimate, RI, adjusted p or complier effect missing (%s)", c.ID, got.Outcome, got.Note())
					}
					t.Logf("%s %s: true effect %.3f, estimate %.3f [%.3f, %.3f], RI p %.3f, holm p %.3f", c.ID, got.Outcome, tc.Effect, e.Estimate, e.ConfLow, e.ConfHigh, *got.RIP, *got.PAdjusted)
					if tc.Effect < e.ConfLow || tc.Effect > e.ConfHigh {
						t.Errorf("%s %s: the interval misses the true effect %.3f", c.ID, got.Outcome, tc.Effect)
					}
				}
			}
		}
	}
	if checked != 4 {
		t.Fatalf("checked %d contrasts of primary outcomes, want 4", checked)
	}
	// Holm over both contrasts: the adjusted p-values of the primary
	// family are those of the four tests together.
	var ps, adjusted []float64
	for _, c := range a.Contrasts {
		for _, o := range c.Outcomes {
			if o.Family == "primary" && o.Estimate != nil {
				ps, adjusted = append(ps, o.Estimate.PValue), append(adjusted, *o.PAdjusted)
			}
		}
	}
	holm, err := analysis.PAdjust(ps, "holm")
	if err != nil || len(ps) != 4 {
		t.Fatalf("%d primary tests (%v)", len(ps), err)
	}
	for i := range holm {
		if holm[i] != adjusted[i] {
			t.Errorf("holm over both contrasts: %v, the analysis gives %v", holm, adjusted)
		}
	}
	var bal plan.BalanceResult
	if err := json.Unmarshal([]byte(r.must("balance", "--draws", "300", "--json")), &bal); err != nil {
		t.Fatal(err)
	}
	if len(bal.Contrasts) != 2 || bal.Across == nil || bal.Across.Test.F != blind.Across.Test.F {
		t.Errorf("balance %+v", bal)
	}
	tsv := r.must("analyze", "--draws", "200")
	if !strings.HasPrefix(tsv, "contrast\toutcome\twave") || !strings.Contains(tsv, "\nC-A\tsupp_aid_6m\t") {
		t.Errorf("the table lacks the contrast column:\n%s", tsv)
	}
	_, errOut, _ := r.run("report", "-o", r.path("report.html"), "--key", r.path("trial.key"), "--draws", "200", "--xlsx", r.path("tables.xlsx"))
	html, err := os.ReadFile(r.path("report.html"))
	if err != nil {
		t.Fatalf("report: %v\n%s", err, errOut)
	}
	for _, want := range []string{"intervention minus control", "light minus control", "Joint test across every group", "Phone guidance", `data-figure="ri_supp_aid_6m_2"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	r.must("audit", "verify", "--key", r.path("trial.key"))
	checkExport(t, r, "")
	checkExport(t, r, r.path("trial.key"))
}
