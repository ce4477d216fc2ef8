package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
)

// TestEnrollRandomize: `rct enroll LIST --randomize --key` month by month
// makes the allocations that `rct enroll LIST` followed by `rct randomize
// --pending --key` make, and its key and flags are checked before anything
// is written.
func TestEnrollRandomize(t *testing.T) {
	start := func(dir string) (*inProcess, []string) {
		r := newInProcess(t, dir, 5)
		r.now = time.Date(2016, 8, 1, 12, 0, 0, 0, time.UTC)
		r.must("simulate", "--families", "60", "--seed", "5", "-o", r.dir)
		r.must("init", "--protocol", r.path("trial.yaml"))
		lists, _ := filepath.Glob(r.path(simulate.ReferralDir + "/*.xlsx"))
		sort.Strings(lists)
		return r, lists
	}
	day := func(l string) time.Time {
		d, err := time.Parse("2006-01-02", strings.TrimSuffix(filepath.Base(l), ".xlsx"))
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(17 * time.Hour)
	}
	two, lists := start(filepath.Join(t.TempDir(), "two"))
	one, _ := start(filepath.Join(t.TempDir(), "one"))
	if len(lists) < 3 {
		t.Fatalf("%d referral lists, want several months", len(lists))
	}

	// The flags and the key are refused before the first list is enrolled.
	one.now = day(lists[0])
	other := newInProcess(t, t.TempDir(), 6) // another trial, another key
	other.must("init", "--protocol", one.path("trial.yaml"))
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"enroll", lists[0], "--randomize"}, exitKey},
		{[]string{"enroll", lists[0], "--randomize", "--key", other.path("trial.key")}, exitKey},
		{[]string{"enroll", lists[0], "--randomize", "--key", one.path("no-such.key")}, exitKey},
		{[]string{"enroll", lists[0], "--randomize", "--dry-run", "--key", one.path("trial.key")}, exitUsage},
		{[]string{"enroll", lists[0], "--key", one.path("trial.key")}, exitUsage},
	} {
		if out, errOut, code := one.run(c.args...); code != c.code {
			t.Errorf("rct %s: exit %d, want %d\n%s%s", strings.Join(c.args[2:], " "), code, c.code, out, errOut)
		}
		if st := one.must("status"); !strings.Contains(st, "enrolled\t0") {
			t.Fatalf("after the refused rct %s, the status is\n%s", strings.Join(c.args[2:], " "), st)
		}
	}

	var wantAll, gotAll []trial.AllocationResult
	for _, l := range lists {
		two.now, one.now = day(l), day(l)
		two.must("enroll", l)
		var want []trial.AllocationResult
		if err := json.Unmarshal([]byte(two.must("randomize", "--pending", "--key", two.path("trial.key"), "--json")), &want); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Enrolment   *trial.EnrollResult      `json:"enrolment"`
			Allocations []trial.AllocationResult `json:"allocations"`
		}
		if err := json.Unmarshal([]byte(one.must("enroll", l, "--randomize", "--key", one.path("trial.key"), "--json")), &got); err != nil {
			t.Fatal(err)
		}
		if got.Enrolment == nil || got.Enrolment.Enrolled != len(got.Allocations) {
			t.Fatalf("%s: the JSON should hold the enrolment and an allocation per family enrolled, got %+v", l, got)
		}
		wantAll, gotAll = append(wantAll, want...), append(gotAll, got.Allocations...)
	}
	if len(wantAll) == 0 || !reflect.DeepEqual(gotAll, wantAll) {
		t.Fatalf("enroll --randomize allocated\n%+v\nenroll then randomize --pending\n%+v", gotAll, wantAll)
	}
	// The table output names both steps.
	out, errOut, code := one.run("enroll", lists[0], "--randomize", "--key", one.path("trial.key"))
	if code != 0 || !strings.Contains(errOut, "already imported") || !strings.Contains(errOut, "Randomized 0 families.") {
		t.Fatalf("enrolling a list again with --randomize: exit %d\n%s%s", code, out, errOut)
	}
	if a, b := one.must("audit", "verify", "--key", one.path("trial.key")), two.must("audit", "verify", "--key", two.path("trial.key")); a == "" || b == "" {
		t.Fatal("audit verify printed nothing")
	}
}
