package main

import (
	"encoding/json"
	"testing"

	"github.com/rct-trials/rct/plan"
)

// TestAnalyzeAndBalanceAgree: rct analyze and rct balance resolve their
// settings in one place, so the same trial, draws and seed give the same
// joint balance test and randomization-inference p-value — with the
// protocol's settings and with flags.
func TestAnalyzeAndBalanceAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := simulatedTrial(t, 40, 2)
	for _, flags := range [][]string{nil, {"--draws", "300", "--seed", "4"}} {
		var a plan.Analysis
		if err := json.Unmarshal([]byte(r.must(append([]string{"analyze", "--json"}, flags...)...)), &a); err != nil {
			t.Fatal(err)
		}
		var br plan.BalanceResult
		if err := json.Unmarshal([]byte(r.must(append([]string{"balance", "--json"}, flags...)...)), &br); err != nil {
			t.Fatal(err)
		}
		if len(a.Contrasts) != 1 || len(br.Contrasts) != 1 {
			t.Fatalf("flags %q: %d and %d contrasts", flags, len(a.Contrasts), len(br.Contrasts))
		}
		ab, b := a.Contrasts[0].Balance, br.Contrasts[0]
		if ab == nil || ab.JointRI == nil || b.JointRI == nil {
			t.Fatalf("flags %q: no joint RI p-value (analyze %+v, balance %+v)", flags, ab, b)
		}
		if *ab.JointRI != *b.JointRI || ab.Draws != b.Draws || ab.Seed != b.Seed || ab.Joint.F != b.Joint.F {
			t.Errorf("flags %q: analyze p %v (%d draws, seed %d), balance p %v (%d draws, seed %d)", flags,
				*ab.JointRI, ab.Draws, ab.Seed, *b.JointRI, b.Draws, b.Seed)
		}
		t.Logf("flags %q: joint F %.4f, RI p %.4f over %d draws", flags, b.Joint.F, *b.JointRI, b.Draws)
	}
}
