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
		var b plan.BalanceReport
		if err := json.Unmarshal([]byte(r.must(append([]string{"balance", "--json"}, flags...)...)), &b); err != nil {
			t.Fatal(err)
		}
		if a.Balance == nil || a.Balance.JointRI == nil || b.JointRI == nil {
			t.Fatalf("flags %q: no joint RI p-value (analyze %+v, balance %+v)", flags, a.Balance, b)
		}
		if *a.Balance.JointRI != *b.JointRI || a.Balance.Draws != b.Draws || a.Balance.Seed != b.Seed || a.Balance.Joint.F != b.Joint.F {
			t.Errorf("flags %q: analyze p %v (%d draws, seed %d), balance p %v (%d draws, seed %d)", flags,
				*a.Balance.JointRI, a.Balance.Draws, a.Balance.Seed, *b.JointRI, b.Draws, b.Seed)
		}
		t.Logf("flags %q: joint F %.4f, RI p %.4f over %d draws", flags, b.Joint.F, *b.JointRI, b.Draws)
	}
}
