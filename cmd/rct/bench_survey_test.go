package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rct-trials/rct/survey"
	"github.com/xuri/excelize/v2"
)

// benchExtraVariables are four more m6 questions, appended to the example
// codebook's variables: its m6 template has 36 columns, the issue's
// benchmark wave 40.
var benchExtraVariables = []byte(`
  - {name: visits_gp, type: integer, waves: [m6], hard: {min: 0, max: 50},
     label: {nl: Bezoeken aan de huisarts, en: Visits to the GP, fr: Visites chez le médecin}}
  - {name: meals_skipped, type: integer, required: true, waves: [m6], hard: {min: 0, max: 31},
     label: {nl: Overgeslagen maaltijden, en: Meals skipped, fr: Repas sautés}}
  - {name: has_car, type: select_one yes_no, required: true, waves: [m6],
     label: {nl: Heeft een auto, en: Has a car, fr: A une voiture}}
  - {name: energy_bill, type: decimal, unit: "EUR per month", waves: [m6], hard: {min: 0, max: 2000},
     label: {nl: Energiefactuur, en: Energy bill, fr: Facture d'énergie}}
`)

// BenchmarkSurveyImport runs `rct survey import` as a child process on an
// m6 workbook of about 100,000 answered rows × 40 columns (the template
// rct wrote, filled through excelize's cell API), into a trial of as
// many randomized families: every cell checked, every answer stored as its
// first version, in one transaction. It reports rows/s and the child's
// peak resident memory. Setting up the trial takes about a minute;
// RCT_BENCH_KEEP=DIR keeps it there (make bench-compare).
func BenchmarkSurveyImport(b *testing.B) {
	dir := enrolledDir(b, 163_000)          // about 100,500 enrolled and randomized
	later := "RCT_NOW=2020-01-05T10:00:00Z" // the m6 window of families randomized on 2019-06-30
	run := func(env string, args ...string) {
		c := rctCmd(&testing.T{}, dir, args...)
		if env != "" {
			c.Env = append(c.Env, env)
		}
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	os.WriteFile(filepath.Join(dir, "codebook.yaml"), append(survey.ExampleCodebook(), benchExtraVariables...), 0o644)
	run("", "randomize", "--pending", "--key", "trial.key")
	run("", "codebook", "install", "codebook.yaml")
	run(later, "survey", "template", "--wave", "m6", "-o", "m6.xlsx")
	rows := fillTemplate(b, filepath.Join(dir, "m6.xlsx"), filepath.Join(dir, "m6_filled.xlsx"))
	pristine, err := os.ReadFile(filepath.Join(dir, "trial.db"))
	if err != nil {
		b.Fatal(err)
	}
	if keep := os.Getenv("RCT_BENCH_KEEP"); keep != "" {
		// For make bench-compare: the trial before the import and both
		// workbooks, to run rct and pandas/openpyxl side by side.
		os.MkdirAll(keep, 0o755)
		for _, name := range []string{"trial.yaml", "trial.key", "trial.witness", "m6.xlsx", "m6_filled.xlsx"} {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				b.Fatal(err)
			}
			os.WriteFile(filepath.Join(keep, name), data, 0o600)
		}
		os.WriteFile(filepath.Join(keep, "trial.db.pristine"), pristine, 0o600)
	}
	b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
		var maxRSS float64
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			os.Remove(filepath.Join(dir, "trial.db-wal"))
			os.Remove(filepath.Join(dir, "trial.db-shm"))
			os.WriteFile(filepath.Join(dir, "trial.db"), pristine, 0o600)
			c := rctCmd(&testing.T{}, dir, "survey", "import", "--wave", "m6", "--json", "m6_filled.xlsx")
			c.Env = append(c.Env, later, "RCT_REPORT_RSS=1")
			b.StartTimer()
			out, err := c.CombinedOutput()
			if err != nil {
				b.Fatalf("import: %v\n%.2000s", err, out)
			}
			maxRSS = max(maxRSS, peakRSS(out))
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(maxRSS, "peak-RSS-MB")
	})
}

// fillTemplate answers every row of a template, as interviewers would,
// and returns the number of rows.
func fillTemplate(b *testing.B, src, dst string) int {
	f, err := excelize.OpenFile(src)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	all, err := f.GetRows("m6")
	if err != nil {
		b.Fatal(err)
	}
	header := all[0]
	answer := map[string]any{"interview_date": time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC), "interviewer": "Ann", "phone": "0470 12 34 56",
		"hh_size": 4, "hh_adults": 2, "single_parent": "Nee", "income_total": 1450, "income_source": "work; child_benefit", "arrears": "Ja",
		"arrears_types": "rent", "arrears_amount": 1200.5, "depriv_heating": 0, "depriv_meal": 0, "depriv_unexpected": 1, "work_status": "Werknemer",
		"work_hours": 30, "childcare_use": "Ja", "childcare_type": "Kinderdagverblijf", "housing_tenure": "Sociale huur", "social_housing": 1,
		"rent_amount": 420, "housing_problems": "damp", "health_self": "Goed", "stress_score": 14, "depression_score": 6, "network_size": 5,
		"can_ask_help": 1, "knows_leefloon": 1, "knows_supp_aid": 0, "knows_social_tariff": 1, "services_used": "ocmw; vdab", "satisfaction_services": 8,
		"visits_gp": 2, "meals_skipped": 3, "has_car": "Nee", "energy_bill": 142.5}
	// The cell API, row by row: a stream writer opened on a sheet that has
	// content left the package with two parts of that sheet's name, read
	// as the filled one by rct and as the empty template by openpyxl and
	// pandas (which the side-by-side benchmark then compared).
	for r, row := range all[1:] {
		vals := make([]any, len(header))
		for i, h := range header {
			if v, ok := answer[h]; ok {
				vals[i] = v
			} else if i < len(row) {
				vals[i] = row[i]
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, r+2)
		if err := f.SetSheetRow("m6", cell, &vals); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.SaveAs(dst); err != nil {
		b.Fatal(err)
	}
	return len(all) - 1
}
