package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/trial"
)

// flowCount is one count read back from the drawn flow: the text a reader
// sees and the stage it counts.
type flowCount struct {
	group, stage, text string
	n                  int
}

// readFlowSVG reads every counted line of a flow.svg: its box's group,
// its data-stage and data-n, and the visible text.
func readFlowSVG(t *testing.T, path string) []flowCount {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		G []struct {
			Class string `xml:"class,attr"`
			Group string `xml:"data-group,attr"`
			Text  []struct {
				Stage string `xml:"data-stage,attr"`
				N     string `xml:"data-n,attr"`
				Body  string `xml:",chardata"`
			} `xml:"text"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not well-formed SVG: %v", path, err)
	}
	var out []flowCount
	for _, g := range doc.G {
		for _, tx := range g.Text {
			if tx.Stage == "" {
				continue
			}
			n, err := strconv.Atoi(tx.N)
			if err != nil {
				t.Fatalf("%s: data-n %q", tx.Stage, tx.N)
			}
			out = append(out, flowCount{g.Group, tx.Stage, tx.Body, n})
		}
	}
	return out
}

// checkFlow reads the drawn CONSORT flow back and checks every count
// against `rct status` and `rct analyze` (the same draws, the same key).
func checkFlow(t *testing.T, r *inProcess, key bool) {
	t.Helper()
	figs := filepath.Join(t.TempDir(), "figures")
	args := []string{"report", "-o", filepath.Join(t.TempDir(), "r.html"), "--draws", "50", "--figures", figs}
	an := []string{"analyze", "--json", "--draws", "50"}
	if key {
		args = append(args, "--key", r.path("trial.key"))
		an = append(an, "--key", r.path("trial.key"))
	}
	r.must(args...)
	var st trial.Status
	if err := json.Unmarshal([]byte(r.must("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	var a plan.Analysis
	if err := json.Unmarshal([]byte(r.must(an...)), &a); err != nil {
		t.Fatal(err)
	}
	counts := readFlowSVG(t, filepath.Join(figs, "flow.svg"))
	for _, ext := range []string{"png", "pdf"} {
		if fi, err := os.Stat(filepath.Join(figs, "flow."+ext)); err != nil || fi.Size() < 1000 {
			t.Errorf("flow.%s: %v", ext, err)
		}
	}
	group := map[string]int{}
	for i, g := range a.Groups {
		group[strings.Replace(g, "group ", "Group ", 1)] = i
	}
	want := map[string]int{"referred": st.Referred, "duplicates": st.Duplicates, "assessed": st.Assessed,
		"excluded": st.NotEligible + st.Declined, "not_eligible": st.NotEligible, "declined": st.Declined, "randomized": st.Randomized}
	seen := map[string]int{}
	allocated := 0
	for _, c := range counts {
		if !strings.Contains(c.text, "(n = "+strconv.Itoa(c.n)+")") {
			t.Errorf("%s %s: the text %q does not show n = %d", c.group, c.stage, c.text, c.n)
		}
		seen[c.stage]++
		if c.group == "" {
			if w, ok := want[c.stage]; !ok || w != c.n {
				t.Errorf("%s: the flow shows %d, status %d", c.stage, c.n, w)
			}
			continue
		}
		g, ok := group[c.group]
		if !ok {
			t.Fatalf("the flow names a group %q that the analysis does not have (%v)", c.group, a.Groups)
		}
		fl := a.Flow
		exp := -1
		switch kind, rest, _ := strings.Cut(c.stage, ":"); kind {
		case "allocated":
			exp = fl.Allocated[g]
			allocated += c.n
		case "received":
			exp = fl.Received[g]
		case "not_received":
			exp = fl.Allocated[g] - fl.Received[g]
		case "withdrawn":
			exp = fl.Withdrawn[g]
		case "interviewed", "lost":
			for _, w := range fl.Responded {
				if w.Wave == rest {
					exp = w.N[g]
					if kind == "lost" {
						exp = fl.Allocated[g] - w.N[g]
					}
				}
			}
		case "analysed", "excluded_analysis":
			for _, o := range fl.Analysed {
				if o.Outcome+":"+o.Wave == rest {
					exp = o.N[g]
					if kind == "excluded_analysis" {
						exp = fl.Allocated[g] - o.N[g]
					}
					if o.Family != "primary" {
						t.Errorf("the flow analyses the %s outcome %s", o.Family, o.Outcome)
					}
				}
			}
		}
		if exp != c.n {
			t.Errorf("%s %s: the flow shows %d, analyze %d", c.group, c.stage, c.n, exp)
		}
	}
	if allocated != st.Randomized {
		t.Errorf("allocated %d in all, randomized %d", allocated, st.Randomized)
	}
	k := len(a.Groups)
	for stage, n := range map[string]int{"randomized": 1, "allocated": k, "interviewed:m6": k, "lost:m12": k, "analysed:supp_aid_6m:": k} {
		if seen[stage] != n {
			t.Errorf("%d boxes count %s, want %d", seen[stage], stage, n)
		}
	}
	// Receipt of the intervention: only for the arms that offer it, with
	// the key and the log; never for the reference arm or blinded.
	switch {
	case key && a.Flow.Received != nil && seen["received"] != k-1:
		t.Errorf("keyed: %d groups show receipt, want %d (every arm but the reference)", seen["received"], k-1)
	case !key && seen["received"] != 0:
		t.Errorf("blinded: %d groups show receipt", seen["received"])
	}
}

// TestReportFlow: the drawn CONSORT flow of the demo trial (1:1, blinded
// and keyed) and of a 2:1 trial shows exactly the numbers of `rct status`
// and `rct analyze`, and names no receipt where none is known.
func TestReportFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := reportFixture(t)
	checkFlow(t, r, false)
	checkFlow(t, r, true)
	r21 := simulatedTrial(t, 90, 2, "--ratio", "2:1")
	checkFlow(t, r21, true)
	var a plan.Analysis
	json.Unmarshal([]byte(r21.must("analyze", "--json", "--draws", "10", "--key", r21.path("trial.key"))), &a)
	if n := a.Flow.Allocated; len(n) != 2 || n[0]+n[1] != 90 || max(n[0], n[1]) != 60 {
		t.Errorf("a 2:1 trial of 90 allocated %v", n)
	}
	// An imbalance against a 2:1 ratio is a multiple of 1/3: written 1.33.
	if _, out, _ := r21.run("randomize", "check"); !regexp.MustCompile(`(?m)^Largest imbalance: [0-9]+(\.[0-9]{1,2})? \(`).MatchString(out) {
		t.Errorf("randomize check says:\n%s", out)
	}
}

// TestReportFlowWithoutLog: with the key but no activity log imported,
// receipt of the intervention is "not known", not a refusal.
func TestReportFlowWithoutLog(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := simulateTrial(t, 40, 3, true)
	checkFlow(t, r, true)
	figs := filepath.Join(t.TempDir(), "figures")
	r.must("report", "-o", filepath.Join(t.TempDir(), "r.html"), "--draws", "20", "--key", r.path("trial.key"), "--figures", figs)
	for _, c := range readFlowSVG(t, filepath.Join(figs, "flow.svg")) {
		if c.stage == "received" || c.stage == "not_received" {
			t.Errorf("without a log the flow counts %s: %d", c.stage, c.n)
		}
	}
	b, _ := os.ReadFile(filepath.Join(figs, "flow.svg"))
	var all struct {
		Text []string `xml:"g>text"`
	}
	if err := xml.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	if words := strings.Join(strings.Fields(strings.Join(all.Text, " ")), " "); !strings.Contains(words, "not known (no activity log imported)") {
		t.Error("the flow does not say why receipt is not known")
	}
}
