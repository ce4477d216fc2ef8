package main

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
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

// TestSurveyTemplatePerInterviewer: each interviewer gets their own
// families, by --families or by an assignment file (one template each).
func TestSurveyTemplatePerInterviewer(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := randomizedTrial(t, 40, 6)
	r.now = time.Date(2018, 9, 1, 12, 0, 0, 0, time.UTC)
	all := templateCodes(t, r, "all.xlsx")
	if len(all) < 6 {
		t.Fatalf("only %d families due at m6", len(all))
	}
	// --families: only those; one not due is named and left out.
	_, errOut, code := r.run("survey", "template", "--wave", "m6", "-o", r.path("ann.xlsx"), "--interviewer", "Ann", "--families", strings.ToLower(all[0])+","+all[2]+",K-9999")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := readCodes(t, r.path("ann.xlsx")); strings.Join(got, ",") != all[0]+","+all[2] {
		t.Errorf("Ann's template holds %v, want %s and %s", got, all[0], all[2])
	}
	if !strings.Contains(errOut, "Not due at m6, left out: K-9999") {
		t.Errorf("stderr: %s", errOut)
	}
	if _, _, code := r.run("survey", "template", "--wave", "m6", "-o", r.path("none.xlsx"), "--families", " , "); code != exitUsage {
		t.Errorf("--families without a code: exit %d, want 2", code)
	}
	// --assignments: one template per interviewer, the rest named.
	csv := "interviewer,study_code\nAnn," + all[0] + "\nBert," + all[1] + "\nAnn," + all[3] + "\n"
	os.WriteFile(r.path("visits.csv"), []byte(csv), 0o644)
	_, errOut, code = r.run("survey", "template", "--wave", "m6", "--assignments", r.path("visits.csv"), "-o", r.path("m6"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := readCodes(t, r.path("m6/m6-Ann.xlsx")); strings.Join(got, ",") != all[0]+","+all[3] {
		t.Errorf("Ann's template holds %v", got)
	}
	if got := readCodes(t, r.path("m6/m6-Bert.xlsx")); strings.Join(got, ",") != all[1] {
		t.Errorf("Bert's template holds %v", got)
	}
	if want := fmt.Sprintf("%d families due at m6 have no interviewer", len(all)-3); !strings.Contains(errOut, want) {
		t.Errorf("stderr lacks %q: %s", want, errOut)
	}
	// A bad assignment file: exit 3, the place named, nothing written.
	os.WriteFile(r.path("bad.csv"), []byte("interviewer,study_code\nAnn,K-0404\n,"+all[1]+"\nBert,"+all[0]+"\nCas,"+all[0]+"\n"), 0o644)
	_, errOut, code = r.run("survey", "template", "--wave", "m6", "--assignments", r.path("bad.csv"), "-o", r.path("bad"))
	if code != exitInvalid {
		t.Errorf("bad assignments: exit %d", code)
	}
	for _, want := range []string{"row 2 column B (study_code)", "row 3 column A (interviewer)", "assigned twice (also row 4)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the error lacks %q: %s", want, errOut)
		}
	}
	if _, err := os.Stat(r.path("bad")); err == nil {
		t.Error("a refused assignment file made the folder")
	}
}

// templateCodes writes the whole m6 template and returns its study codes.
func templateCodes(t *testing.T, r *inProcess, name string) []string {
	t.Helper()
	r.must("survey", "template", "--wave", "m6", "-o", r.path(name))
	return readCodes(t, r.path(name))
}

// readCodes reads the study codes of a template's m6 sheet.
func readCodes(t *testing.T, path string) []string {
	t.Helper()
	x, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, _ := x.GetRows("m6")
	var out []string
	for _, row := range rows[1:] {
		if len(row) > 0 && row[0] != "" {
			out = append(out, row[0])
		}
	}
	return out
}

// TestOutputFolderMade: an -o in a folder not there yet is made once the
// command has its result (export, report), as the survey's --annotate is.
func TestOutputFolderMade(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := simulatedTrial(t, 30, 5)
	out := filepath.Join(t.TempDir(), "exports", "2019")
	r.must("data", "export", "-o", filepath.Join(out, "data.csv"), "--key", r.path("trial.key"))
	r.must("report", "-o", filepath.Join(out, "report.html"), "--draws", "50")
	for _, name := range []string{"data.csv", "data_codebook.csv", "data.R", "data.do", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
}

// TestWorkbookDimensions: every workbook rct writes records its sheets'
// used range (excelize leaves "A1"; openpyxl's read-only mode, and so
// many analysts' scripts, then read one cell of a template or an export),
// and holds each part once: a workbook with two entries of one sheet is
// read from the first by rct and from the last by openpyxl and pandas,
// as the survey-import benchmark's filled workbook once was.
func TestWorkbookDimensions(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := simulatedTrial(t, 30, 5)
	r.now = time.Date(2019, 12, 31, 17, 0, 0, 0, time.UTC)
	key := r.path("trial.key")
	outputs := map[string][]string{
		"data.xlsx":      {"data", "export", "-o", r.path("data.xlsx"), "--key", key},
		"tables.xlsx":    {"report", "-o", r.path("report.html"), "--draws", "20", "--xlsx", r.path("tables.xlsx")},
		"referrals.xlsx": {"referrals", "template", "-o", r.path("referrals.xlsx")},
		"m12.xlsx":       {"survey", "template", "--wave", "m12", "-o", r.path("m12.xlsx"), "--within", "3650d"},
		"issues.xlsx":    {"survey", "import", "--wave", "m6", r.path("m6-interviews.xlsx"), "--report", r.path("issues.xlsx")},
	}
	for _, filled := range []string{"m6-interviews.xlsx", "caselog.xlsx"} { // the simulator's, written as the templates are
		outputs[filled] = nil
	}
	for name, args := range outputs {
		if args != nil {
			r.run(args...)
		}
		if z, err := zip.OpenReader(r.path(name)); err == nil {
			seen := map[string]bool{}
			for _, e := range z.File {
				if seen[e.Name] {
					t.Errorf("%s: two entries %s", name, e.Name)
				}
				seen[e.Name] = true
			}
			z.Close()
		}
		f, err := excelize.OpenFile(r.path(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, sh := range f.GetSheetList() {
			rows, _ := f.GetRows(sh, excelize.Options{RawCellValue: true})
			cols := 0
			for _, row := range rows {
				cols = max(cols, len(row))
			}
			want := "A1"
			if len(rows) > 0 && cols > 0 {
				end, _ := excelize.CoordinatesToCellName(cols, len(rows))
				want = "A1:" + end
			}
			if got, _ := f.GetSheetDimension(sh); got != want {
				t.Errorf("%s sheet %s: dimension %q, used %q", name, sh, got, want)
			}
		}
		f.Close()
	}
}
