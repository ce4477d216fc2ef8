package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/iostreams"
	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/simulate"
)

// inProcess runs rct commands in this process against one trial directory,
// with a pinned clock and the trial's secrets drawn from a seeded source,
// so the same seed gives the same trial.
type inProcess struct {
	t    testing.TB
	dir  string
	now  time.Time
	rand *rand.ChaCha8
	in   string // standard input of the next command
	tty  bool   // stderr is a terminal: progress is shown
}

func newInProcess(t testing.TB, dir string, seed uint64) *inProcess {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return &inProcess{t: t, dir: dir, rand: rand.NewChaCha8(s)}
}

// run runs one command and returns its stdout, stderr and exit code.
func (r *inProcess) run(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	in := r.in
	r.in = ""
	f := &factory{IO: &iostreams.IO{In: strings.NewReader(in), Out: &out, ErrOut: &errOut, ErrTTY: r.tty}, Rand: r.rand,
		Getenv: func(k string) string {
			switch k {
			case "RCT_USER":
				return "demo"
			case "RCT_DB":
				return filepath.Join(r.dir, "trial.db")
			}
			return ""
		},
		Now: func() time.Time { return r.now }}
	code := run(context.Background(), f, args)
	return out.String(), errOut.String(), code
}

// must runs a command that has to succeed and returns its stdout.
func (r *inProcess) must(args ...string) string {
	r.t.Helper()
	out, errOut, code := r.run(args...)
	if code != 0 {
		r.t.Fatalf("rct %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (r *inProcess) path(name string) string { return filepath.Join(r.dir, name) }

// simulatedTrial runs `make demo`'s pipeline in-process on a simulated
// trial of families at seed, up to and including `rct outcomes derive`:
// simulate, init, codebook install, monthly enrolment and randomization on
// each referral list's day, the fieldwork at the end of 2019, the survey
// imports (the first workbooks refused with exit 3, the corrected ones
// imported), the activity log, both register extracts and the outcomes.
func simulatedTrial(t testing.TB, families int, seed uint64, flags ...string) *inProcess {
	t.Helper()
	return simulateTrial(t, families, seed, false, flags...)
}

// simulateTrial is simulatedTrial, without importing the case managers'
// activity log when withoutLog.
func simulateTrial(t testing.TB, families int, seed uint64, withoutLog bool, flags ...string) *inProcess {
	t.Helper()
	r := randomizedTrial(t, families, seed, flags...)
	r.now = time.Date(2019, 12, 31, 17, 0, 0, 0, time.UTC)
	r.must("simulate", "fieldwork", "--key", r.path("trial.key"), "-o", r.dir)
	for _, w := range []string{"m0", "m6", "m12"} {
		if out, errOut, code := r.run("survey", "import", "--wave", w, r.path(w+"-interviews.xlsx")); code != exitInvalid {
			t.Fatalf("the first %s workbook, with the interviewers' mistakes, gave exit %d, not 3\n%s%s", w, code, out, errOut)
		}
		r.must("survey", "import", "--wave", w, r.path(w+"-interviews-corrected.xlsx"))
	}
	if !withoutLog {
		r.must("caselog", "import", "--key", r.path("trial.key"), r.path("caselog.xlsx"))
	}
	r.must("link", "import", "--register", "ocmw", r.path("ocmw.csv"))
	r.must("link", "import", "--register", "vdab", r.path("vdab.csv"))
	r.must("outcomes", "derive")
	return r
}

// randomizedTrial is a simulated trial up to randomization: simulate,
// init, codebook install, monthly enrolment and randomization on each
// referral list's day (one command, as the demo runs it;
// TestEnrollRandomize holds it to enroll followed by randomize --pending).
func randomizedTrial(t testing.TB, families int, seed uint64, flags ...string) *inProcess {
	t.Helper()
	r := newInProcess(t, t.TempDir(), seed)
	r.now = time.Date(2016, 8, 1, 12, 0, 0, 0, time.UTC)
	r.must(append([]string{"simulate", "--families", strconv.Itoa(families), "--seed", strconv.FormatUint(seed, 10), "-o", r.dir}, flags...)...)
	r.must("init", "--protocol", r.path("trial.yaml"))
	r.must("codebook", "install", r.path("codebook.yaml"))
	lists, _ := filepath.Glob(r.path(simulate.ReferralDir + "/*.xlsx"))
	sort.Strings(lists)
	for _, l := range lists {
		d, err := time.Parse("2006-01-02", strings.TrimSuffix(filepath.Base(l), ".xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		r.now = d.Add(17 * time.Hour)
		r.must("enroll", l, "--randomize", "--key", r.path("trial.key"))
	}
	return r
}

// TestDemoRecoversTruth: at the default seed, the unblinded analysis of the
// simulated MISSION trial finds each primary effect in its 95% interval,
// and the outputs along the way say what they should.
func TestDemoRecoversTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := simulatedTrial(t, 112, 1)
	status := r.must("status")
	for _, want := range []string{"enrolled\t112", "randomized\t112"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	var truth simulate.Truth
	b, err := os.ReadFile(r.path("truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	var a plan.Analysis
	if err := json.Unmarshal([]byte(r.must("analyze", "--key", r.path("trial.key"), "--draws", "500", "--json")), &a); err != nil {
		t.Fatal(err)
	}
	if a.Blinded || len(a.Contrasts) != 1 || a.Contrasts[0].Names[1] != "Outreaching case management" {
		t.Fatalf("the keyed analysis should contrast the intervention with control, got groups %q", a.Groups)
	}
	checked := 0
	for _, want := range truth.Outcomes {
		if !want.Primary {
			continue
		}
		for _, got := range a.Contrasts[0].Outcomes {
			if got.Outcome != want.Outcome {
				continue
			}
			checked++
			e := got.Estimate
			if e == nil {
				t.Fatalf("%s: no estimate (%s)", got.Outcome, got.Note())
			}
			t.Logf("%s: true effect %.3f (sample %.3f), estimate %.3f [%.3f, %.3f]", got.Outcome, want.Effect, want.SampleEffect, e.Estimate, e.ConfLow, e.ConfHigh)
			if want.Effect < e.ConfLow || want.Effect > e.ConfHigh {
				t.Errorf("%s: the 95%% interval [%.3f, %.3f] misses the true effect %.3f", got.Outcome, e.ConfLow, e.ConfHigh, want.Effect)
			}
			if got.CACE == nil {
				t.Errorf("%s: no complier effect with the key", got.Outcome)
			}
		}
	}
	if checked != 2 {
		t.Fatalf("checked %d primary outcomes, want 2", checked)
	}
	// The export loads in R through data.R, NA where the declared missing
	// codes were, and estimatr reproduces every estimate from it.
	checkExport(t, r, "")
	checkExport(t, r, r.path("trial.key"))
}

// TestFieldworkProgress: at a terminal, simulate shows the referral lists
// it writes, and simulate fieldwork the interviews of each wave, the log's
// rows and each extract's rows as it writes them, each step ending its
// line.
func TestFieldworkProgress(t *testing.T) {
	iostreams.ProgressAfter, iostreams.ProgressEvery = 0, 0
	defer func() { iostreams.ProgressAfter, iostreams.ProgressEvery = 2*time.Second, 200*time.Millisecond }()
	r := newInProcess(t, t.TempDir(), 5)
	r.tty = true
	_, errOut, code := r.run("simulate", "--families", "40", "--seed", "5", "-o", r.path("other"))
	if code != 0 || !strings.Contains(errOut, "referral lists written: 100% (") {
		t.Errorf("simulate: exit %d, progress %q", code, errOut)
	}
	r = randomizedTrial(t, 40, 5)
	r.now, r.tty = time.Date(2019, 12, 31, 17, 0, 0, 0, time.UTC), true
	_, errOut, code = r.run("simulate", "fieldwork", "--key", r.path("trial.key"), "-o", r.dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(errOut, "\n")
	for _, step := range []string{"fieldwork, workbooks and extracts written: 100% (6 of 6)"} {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, "\r"+step) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q on %d lines, want one, ended:\n%q", step, n, errOut)
		}
	}
}

// TestDeriveProgress: at a terminal, outcomes derive counts each family's
// value of each window to its total, and derives what it derived before.
func TestDeriveProgress(t *testing.T) {
	r := simulatedTrial(t, 40, 5)
	before := r.must("outcomes", "derive", "--json")
	iostreams.ProgressAfter, iostreams.ProgressEvery = 0, 0
	defer func() { iostreams.ProgressAfter, iostreams.ProgressEvery = 2*time.Second, 200*time.Millisecond }()
	r.tty = true
	out, errOut, code := r.run("outcomes", "derive", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != before {
		t.Errorf("derived again at a terminal: %s\nbefore: %s", out, before)
	}
	var res []struct{ Families int }
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) == 0 {
		t.Fatalf("%v %s", err, out)
	}
	total := 0
	for _, x := range res {
		total += x.Families
	}
	want := fmt.Sprintf("register outcomes derived (families × windows): 100%% (%d of %d)\x1b[K\n", total, total)
	if !strings.Contains(errOut, want) {
		t.Errorf("no %q in %q", want, errOut)
	}
}

// TestLinkProgress: at a terminal, link import shows the candidate pairs
// compared and scored after the rows read, and links as it does without
// (on a second trial made the same way).
func TestLinkProgress(t *testing.T) {
	linked := func(tty bool) (string, string) {
		r := randomizedTrial(t, 40, 5)
		r.now = time.Date(2019, 12, 31, 17, 0, 0, 0, time.UTC)
		r.must("simulate", "fieldwork", "--key", r.path("trial.key"), "-o", r.dir)
		r.tty = tty
		out, errOut, code := r.run("link", "import", "--register", "ocmw", r.path("ocmw.csv"), "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		return strings.ReplaceAll(out, r.dir, "DIR"), errOut
	}
	without, _ := linked(false)
	iostreams.ProgressAfter, iostreams.ProgressEvery = 0, 0
	defer func() { iostreams.ProgressAfter, iostreams.ProgressEvery = 2*time.Second, 200*time.Millisecond }()
	out, errOut := linked(true)
	if out != without {
		t.Errorf("linked otherwise at a terminal: %s\nwithout: %s", out, without)
	}
	if !strings.Contains(out, `"linked_tier1": `) || strings.Contains(out, `"linked_tier1": 0,`) {
		t.Errorf("nothing linked on names: the steps were not run\n%s", out)
	}
	for _, step := range []string{"linkage, candidate pairs compared", "linkage, candidate pairs scored"} {
		if i := strings.Index(errOut, step); i < 0 || !strings.Contains(errOut[i:], "100%") {
			t.Errorf("no %q to 100%% in %q", step, errOut)
		}
	}
}
