package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The frictions a first hour with rct met (issue 16), each pinned.

// TestSurveyAnnotateMakesDir: --annotate DIR makes DIR when it is not
// there (it failed unless DIR existed); a file in its place is refused.
func TestSurveyAnnotateMakesDir(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := simulateTrial(t, 30, 5, true)
	dir := filepath.Join(t.TempDir(), "checked", "m6")
	if _, errOut, code := r.run("survey", "import", "--wave", "m6", r.path("m6-interviews.xlsx"), "--annotate", dir); code != exitInvalid {
		t.Fatalf("exit %d, want 3 (the first workbook has mistakes)\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "m6-interviews.checked.xlsx")); err != nil {
		t.Errorf("no annotated copy: %v", err)
	}
	if _, _, code := r.run("survey", "import", "--wave", "m6", r.path("m6-interviews.xlsx"), "--annotate", r.path("trial.yaml")); code != exitUsage {
		t.Errorf("--annotate on a file: exit %d, want 2", code)
	}
}
