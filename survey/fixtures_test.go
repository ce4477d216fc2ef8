package survey

import (
	"context"
	"path/filepath"
	"testing"
)

// TestWorkbooksOfOtherTools imports m6 workbooks written by openpyxl and
// by LibreOffice (testdata/make_workbooks.py): header moved one column,
// dates as date cells and as text, numbers as text, labels for codes,
// missing codes, trailing spaces, a styled blank row. A formula is refused
// whether or not the writer stored its value.
func TestWorkbooksOfOtherTools(t *testing.T) {
	want := map[string]map[string]string{
		"K-0001": {"interview_date": "2017-04-05", "interviewer": "Ann", "hh_size": "4", "single_parent": "0", "income_total": "1450",
			"income_source": "work child_benefit", "arrears_amount": "1200.5", "work_status": "employed", "childcare_type": "creche",
			"housing_tenure": "social_rent", "health_self": "4", "services_used": "ocmw"},
		"K-0002": {"interview_date": "2017-04-06", "interviewer": "Bert", "hh_size": "3", "single_parent": "1", "income_total": "1234",
			"rent_amount": "650", "services_used": "ocmw caw", "satisfaction_services": "7", "work_status": "job_seeker"},
		"K-0003": {"income_total": "-99", "arrears": "-98", "services_used": "none"},
	}
	for _, tool := range []string{"openpyxl", "libreoffice"} {
		t.Run(tool, func(t *testing.T) {
			f := newFixture(t, 40)
			path := filepath.Join("testdata", "m6_"+tool+".xlsx")
			res, err := f.importFiles("m6", m6Day, path)
			if err != nil {
				t.Fatalf("%v (if the example codebook changed, run testdata/make_workbooks.py)", err)
			}
			if res.Rows != 3 || res.Errors != 0 {
				t.Errorf("%+v", res)
			}
			for code, vals := range want {
				for v, w := range vals {
					var got string
					f.db.SQL().QueryRowContext(context.Background(), `SELECT value FROM survey_values s JOIN families f ON f.id = s.family
						WHERE f.study_code = ? AND s.variable = ?`, code, v).Scan(&got)
					if got != w {
						t.Errorf("%s %s = %q, want %q", code, v, got, w)
					}
				}
			}
			res, err = f.importFiles("m6", m6Day, filepath.Join("testdata", "m6_formula_"+tool+".xlsx"))
			i := findIssue(res, RuleFormula)
			if err == nil || i == nil || i.Row != 2 || i.Column != "K" || i.Variable != "income_total" {
				t.Errorf("formula: %v %+v", err, i)
			}
		})
	}
}
