package survey

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sync/atomic"

	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/internal/trialtest"
	"github.com/rct-trials/rct/trial"
	"github.com/xuri/excelize/v2"
)

// fixture is a small simulated trial: about 30 families enrolled and
// randomized on 3 October 2016, with the example codebook installed.
type fixture struct {
	t     testing.TB
	dir   string
	db    *trial.DB
	p     *trial.Protocol
	key   *trial.AllocationKey
	cb    *Codebook
	codes []string // randomized study codes
}

var (
	randomizedOn = time.Date(2016, 10, 3, 10, 0, 0, 0, time.UTC)
	m6Day        = time.Date(2017, 4, 10, 10, 0, 0, 0, time.UTC) // m6 due 2017-04-03, window 03-20 to 05-15
)

func actorAt(t time.Time) trial.Actor {
	return trial.Actor{Name: "tester", Now: func() time.Time { return t }}
}

func newFixture(t testing.TB, families int) *fixture {
	t.Helper()
	a := actorAt(randomizedOn)
	tt := trialtest.New(t, a)
	tt.Enroll(t, "ref.csv", "KG", families, time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC), a)
	f := &fixture{t: t, dir: tt.Dir, db: tt.DB, p: tt.P, key: tt.Key}
	for _, r := range tt.Randomize(t, a) {
		f.codes = append(f.codes, r.StudyCode)
	}
	f.cb = exampleCB(t)
	if _, _, err := Install(context.Background(), tt.DB, tt.P, f.cb, "codebook.yaml", "", a); err != nil {
		t.Fatal(err)
	}
	return f
}

// template writes the template of a form on day and returns its bytes.
func (f *fixture) template(form string, day time.Time) []byte {
	f.t.Helper()
	return f.templateIn(form, day, "")
}

// templateIn is a template with its labels in lang ("": the codebook's first).
func (f *fixture) templateIn(form string, day time.Time, lang string) []byte {
	f.t.Helper()
	var rows []TemplateRow
	if form == CaseLog {
		for _, c := range f.codes {
			rows = append(rows, TemplateRow{StudyCode: c, Month: day.Format("2006-01")})
		}
	} else {
		slots, err := Schedule(context.Background(), f.db, f.p, form, day)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, s := range slots {
			rows = append(rows, TemplateRow{StudyCode: s.StudyCode, Due: s.Due, Opens: s.Opens, Closes: s.Closes})
		}
	}
	var b bytes.Buffer
	if err := f.cb.WriteTemplate(&b, TemplateOptions{Form: form, TrialID: f.p.Trial.ID, CodebookVersion: 1, Today: day, Rows: rows, Interviewer: "Ann", Lang: lang}); err != nil {
		f.t.Fatal(err)
	}
	return b.Bytes()
}

// answers is a complete, valid m6 interview.
func answers() map[string]any {
	return map[string]any{
		"interview_date": time.Date(2017, 4, 5, 0, 0, 0, 0, time.UTC), "hh_size": 4, "hh_adults": 2, "single_parent": "Nee",
		"income_total": 1450, "arrears": "Ja", "arrears_types": "rent; energy", "arrears_amount": "1.200,50",
		"depriv_heating": 0, "depriv_meal": 0, "depriv_unexpected": 1, "work_status": "Werknemer", "work_hours": 30,
		"childcare_use": 1, "childcare_type": "creche", "housing_tenure": "social_rent", "social_housing": 1, "rent_amount": 420,
		"health_self": 4, "can_ask_help": 1, "services_used": "ocmw", "satisfaction_services": 8, "phone": "0470 12 34 56",
	}
}

// fill writes a copy of a template with answers for the first len(rows)
// families (nil values blank the cell; a string starting with "=" is set
// as a formula when formula is true) and returns its path.
func (f *fixture) fill(name string, tmpl []byte, sheetName string, rows []map[string]any, edit func(x *excelize.File)) string {
	f.t.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(tmpl))
	if err != nil {
		f.t.Fatal(err)
	}
	header, _ := x.GetRows(sheetName)
	col := map[string]int{}
	for i, h := range header[0] {
		col[h] = i + 1
	}
	for r, vals := range rows {
		for k, v := range vals {
			c, ok := col[k]
			if !ok {
				f.t.Fatalf("no column %s", k)
			}
			cell, _ := excelize.CoordinatesToCellName(c, r+2)
			if v == nil {
				x.SetCellValue(sheetName, cell, nil)
				continue
			}
			if s, ok := v.(string); ok && strings.HasPrefix(s, "formula:") {
				x.SetCellFormula(sheetName, cell, strings.TrimPrefix(s, "formula:"))
				continue
			}
			if err := x.SetCellValue(sheetName, cell, v); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	if edit != nil {
		edit(x)
	}
	path := filepath.Join(f.dir, name)
	if err := x.SaveAs(path); err != nil {
		f.t.Fatal(err)
	}
	// A template filled as the benchmark fills one holds each part once
	// (two entries of a sheet are read from the first by rct and from the
	// last by openpyxl and pandas).
	z, err := zip.OpenReader(path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer z.Close()
	seen := map[string]bool{}
	for _, e := range z.File {
		if seen[e.Name] {
			f.t.Fatalf("%s: two entries %s", name, e.Name)
		}
		seen[e.Name] = true
	}
	return path
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func (f *fixture) importFiles(form string, day time.Time, files ...string) (*ImportResult, error) {
	return Import(context.Background(), f.db, f.p, ImportOptions{Form: form, Files: files, Actor: actorAt(day), MaxUnzip: 1 << 20})
}

func (f *fixture) count(q string) int {
	f.t.Helper()
	var n int
	if err := f.db.SQL().QueryRow(q).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func findIssue(res *ImportResult, rule string) *Issue {
	if res == nil {
		return nil
	}
	for i := range res.Issues {
		if res.Issues[i].Rule == rule {
			return &res.Issues[i]
		}
	}
	return nil
}

func TestImportValid(t *testing.T) {
	f := newFixture(t, 40)
	tmpl := f.template("m6", m6Day)
	good := answers()
	path := f.fill("m6.xlsx", tmpl, "m6", []map[string]any{good, with(good, "phone", "=1+2", "hh_size", 12), with(good, "work_status", "job_seeker", "work_hours", nil)}, nil)
	res, err := f.importFiles("m6", m6Day, path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.NewResponses != 3 || res.NotAnswered != len(f.codes)-3 {
		t.Errorf("rows %d, new responses %d, not answered %d", res.Rows, res.NewResponses, res.NotAnswered)
	}
	if i := findIssue(res, RuleSoftRange); i == nil || i.Row != 3 || i.Variable != "hh_size" || i.Severity != SevWarning {
		t.Errorf("soft range warning: %+v", i)
	}
	var v string
	f.db.SQL().QueryRow(`SELECT value FROM survey_values v JOIN families f ON f.id = v.family WHERE f.study_code = ? AND variable = 'phone'`, f.codes[1]).Scan(&v)
	if v != "=1+2" {
		t.Errorf("text starting with = stored as %q", v)
	}
	f.db.SQL().QueryRow(`SELECT value FROM survey_values v JOIN families f ON f.id = v.family WHERE f.study_code = ? AND variable = 'arrears_amount'`, f.codes[0]).Scan(&v)
	if v != "1200.5" {
		t.Errorf("1.200,50 stored as %q", v)
	}
	if n := f.count(`SELECT count(*) FROM survey_warnings`); n != 1 {
		t.Errorf("%d warnings stored", n)
	}
	// The same file again changes nothing and records no batch.
	batches := f.count(`SELECT count(*) FROM import_batches`)
	values := f.count(`SELECT count(*) FROM survey_values`)
	res, err = f.importFiles("m6", m6Day, path)
	if err != nil || res.Unchanged == 0 || res.NewValues+res.Changed != 0 {
		t.Fatalf("re-import: %v %+v", err, res)
	}
	if f.count(`SELECT count(*) FROM import_batches`) != batches || f.count(`SELECT count(*) FROM survey_values`) != values {
		t.Error("re-importing the same file wrote something")
	}
	// A corrected value is a new version; a blank cell leaves the stored value.
	path2 := f.fill("m6b.xlsx", tmpl, "m6", []map[string]any{with(good, "income_total", 1500, "phone", nil)}, nil)
	res, err = f.importFiles("m6", m6Day, path2)
	if err != nil || res.Changed != 1 || res.BlanksKept != 1 {
		t.Fatalf("correction: %v %+v", err, res)
	}
	rows, _ := f.db.SQL().Query(`SELECT value, version FROM survey_values v JOIN families f ON f.id = v.family WHERE f.study_code = ? AND variable = 'income_total' ORDER BY version`, f.codes[0])
	var hist []string
	for rows.Next() {
		var val string
		var ver int
		rows.Scan(&val, &ver)
		hist = append(hist, val)
	}
	rows.Close()
	if strings.Join(hist, ",") != "1450,1500" {
		t.Errorf("history %v", hist)
	}
	// --overwrite-blanks blanks it, as a version too.
	res, err = Import(context.Background(), f.db, f.p, ImportOptions{Form: "m6", Files: []string{path2}, Actor: actorAt(m6Day), OverwriteBlanks: true})
	if err != nil || res.Blanked != 1 {
		t.Fatalf("overwrite blanks: %v %+v", err, res)
	}
	if n := f.count(`SELECT count(*) FROM survey_values WHERE variable = 'phone' AND value IS NULL`); n != 1 {
		t.Errorf("%d blanked phone versions", n)
	}
	st, err := Status(context.Background(), f.db, f.p, m6Day)
	if err != nil || st[1].Counts[StatusCompleted] != 3 || st[1].Counts[StatusDue] != len(f.codes)-3 {
		t.Errorf("status %v %+v", err, st)
	}
}

func TestImportDryRun(t *testing.T) {
	f := newFixture(t, 30)
	path := f.fill("m6.xlsx", f.template("m6", m6Day), "m6", []map[string]any{answers()}, nil)
	res, err := Import(context.Background(), f.db, f.p, ImportOptions{Form: "m6", Files: []string{path}, Actor: actorAt(m6Day), DryRun: true})
	if err != nil || res.NewValues == 0 {
		t.Fatal(err, res)
	}
	if n := f.count(`SELECT count(*) FROM survey_values`) + f.count(`SELECT count(*) FROM import_batches WHERE kind = 'survey'`); n != 0 {
		t.Errorf("dry run wrote %d rows", n)
	}
}

// TestImportBadInput: each case is refused with its rule at its place
// (file, sheet, row, column), and nothing is written.
func TestImportBadInput(t *testing.T) {
	f := newFixture(t, 40)
	ctx := context.Background()
	tmpl6 := f.template("m6", m6Day)
	good := answers()
	one := func(m map[string]any) []map[string]any { return []map[string]any{m} }
	// A family enrolled but not randomized, and one withdrawn.
	late := f.lateFamily()
	if _, err := f.db.Withdraw(ctx, f.p, f.key, f.codes[5], "moved away", actorAt(randomizedOn.AddDate(0, 1, 0))); err != nil {
		t.Fatal(err)
	}
	setCode := func(code string) func(x *excelize.File) {
		return func(x *excelize.File) { x.SetCellStr("m6", "A2", code) }
	}
	type tc struct {
		name, rule, col string
		row             int
		files           func() []string
		form            string
	}
	file := func(name string, rows []map[string]any, edit func(x *excelize.File)) func() []string {
		return func() []string { return []string{f.fill(name, tmpl6, "m6", rows, edit)} }
	}
	raw := func(name, content string) func() []string {
		return func() []string {
			p := filepath.Join(f.dir, name)
			os.WriteFile(p, []byte(content), 0o644)
			return []string{p}
		}
	}
	csvHead := "study_code;interview_date;hh_size;hh_adults;single_parent;income_total;arrears;depriv_heating;depriv_meal;depriv_unexpected;work_status;childcare_use;housing_tenure;social_housing;health_self;can_ask_help;services_used;satisfaction_services\n"
	csvRow := func(code string) string {
		return code + ";05/04/2017;4;2;0;1450;0;0;0;1;inactive;0;owner;0;4;1;ocmw;8\n"
	}
	cases := []tc{
		{name: "non-numeric in integer", rule: RuleType, col: "H", row: 2, files: file("a.xlsx", one(with(good, "hh_size", "vier")), nil)},
		{name: "decimal in integer", rule: RuleType, col: "H", row: 2, files: file("b.xlsx", one(with(good, "hh_size", "4,5")), nil)},
		{name: "above hard range", rule: RuleHardRange, col: "H", row: 2, files: file("c.xlsx", one(with(good, "hh_size", 25)), nil)},
		{name: "date in the future", rule: RuleFutureDate, col: "E", row: 2, files: file("d.xlsx", one(with(good, "interview_date", "12/04/2017")), nil)},
		{name: "impossible date", rule: RuleType, col: "E", row: 2, files: file("e.xlsx", one(with(good, "interview_date", "31/02/2017")), nil)},
		{name: "missing code in a date", rule: RuleType, col: "E", row: 2, files: file("e2.xlsx", one(with(good, "interview_date", -99)), nil)},
		{name: "code not in the list", rule: RuleChoice, col: "J", row: 2, files: file("f.xlsx", one(with(good, "single_parent", 3)), nil)},
		{name: "select_multiple with an unknown member", rule: RuleChoice, col: "N", row: 2, files: file("g.xlsx", one(with(good, "arrears_types", "rent; lottery")), nil)},
		{name: "required answer missing where relevant", rule: RuleRequired, col: "N", row: 2, files: file("h.xlsx", one(with(good, "arrears_types", nil)), nil)},
		{name: "required answer missing", rule: RuleRequired, col: "H", row: 2, files: file("i.xlsx", one(with(good, "hh_size", nil)), nil)},
		{name: "no interview date", rule: RuleRequired, col: "E", row: 2, files: file("i2.xlsx", one(with(good, "interview_date", nil)), nil)},
		{name: "constraint fails", rule: RuleConstraint, col: "I", row: 2, files: file("j.xlsx", one(with(good, "hh_adults", 5)), nil)},
		{name: "formula in a cell", rule: RuleFormula, col: "K", row: 2, files: file("k.xlsx", one(with(good, "income_total", "formula:1000+450")), nil)},
		{name: "unknown study code", rule: RuleUnknownCode, col: "A", row: 2, files: file("l.xlsx", one(good), setCode("K-9999"))},
		{name: "family not randomized", rule: RuleNotDue, col: "A", row: 2, files: file("m.xlsx", one(good), setCode(late))},
		{name: "family withdrawn", rule: RuleWithdrawn, col: "A", row: 7, files: file("n.xlsx", []map[string]any{good, with(good), with(good), with(good), with(good), with(good)}, nil)},
		{name: "same family twice in a file", rule: RuleDuplicate, col: "A", row: 3, files: file("o.xlsx", []map[string]any{good, good}, func(x *excelize.File) { v, _ := x.GetCellValue("m6", "A2"); x.SetCellStr("m6", "A3", v) })},
		{name: "same family in two files", rule: RuleDuplicate, col: "A", row: 2, files: func() []string {
			return []string{f.fill("p1.xlsx", tmpl6, "m6", one(good), nil), f.fill("p2.xlsx", tmpl6, "m6", one(with(good, "hh_size", 5)), nil)}
		}},
		{name: "template of another wave", rule: RuleMeta, files: func() []string {
			return []string{f.fill("q.xlsx", f.template("m12", m6Day), "m12", nil, nil)}
		}},
		{name: "sheet renamed", rule: RuleSheet, files: file("r.xlsx", one(good), func(x *excelize.File) { x.SetSheetName("m6", "Blad1") })},
		{name: "unknown column", rule: RuleColumn, col: "AL", row: 1, files: file("s.xlsx", one(good), func(x *excelize.File) { x.SetCellStr("m6", "AL1", "shoe_size") })},
		{name: "column of another wave", rule: RuleColumn, col: "AL", row: 1, files: file("t.xlsx", one(good), func(x *excelize.File) { x.SetCellStr("m6", "AL1", "main_language") })},
		{name: "no study_code column", rule: RuleColumn, row: 1, files: file("u.xlsx", one(good), func(x *excelize.File) { x.SetCellStr("m6", "A1", "code") })},
		{name: "value in a column without header", rule: RuleFileRejected, row: 2, col: "AM", files: file("v.xlsx", one(good), func(x *excelize.File) { x.SetCellStr("m6", "AM2", "x") })},
		{name: "text file renamed xlsx", rule: RuleFileRejected, files: raw("w.xlsx", "study_code;hh_size\nK-0001;4\n")},
		{name: "zip bomb", rule: RuleFileRejected, files: func() []string { return []string{f.zipBomb()} }},
		{name: "empty CSV", rule: RuleFileRejected, files: raw("x.csv", "")},
		{name: "CSV with a bad number", rule: RuleType, col: "C", row: 2, files: raw("y.csv", csvHead+strings.Replace(csvRow(f.codes[0]), ";4;", ";four;", 1))},
		{name: "not due yet (m12)", rule: RuleNotDue, col: "A", row: 2, form: "m12", files: raw("z.csv", csvHead+csvRow(f.codes[0]))},
		{name: "xls workbook", rule: RuleFileRejected, files: raw("old.xls", "\xd0\xcf\x11\xe0")},
	}
	before := f.count(`SELECT count(*) FROM survey_values`) + f.count(`SELECT count(*) FROM import_batches`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := c.form
			if form == "" {
				form = "m6"
			}
			res, err := f.importFiles(form, m6Day, c.files()...)
			var ie *ImportError
			if !errors.As(err, &ie) || !dataerr.Is(err) {
				t.Fatalf("got %v, want an import error", err)
			}
			i := findIssue(res, c.rule)
			if i == nil {
				t.Fatalf("no %s issue in %+v", c.rule, res.Issues)
			}
			if i.Severity != SevError || i.File == "" || (c.row != 0 && i.Row != c.row) || (c.col != "" && i.Column != c.col) {
				t.Errorf("issue %+v, want row %d column %s", *i, c.row, c.col)
			}
			if strings.HasSuffix(i.File, ".xlsx") && c.rule != RuleSheet && c.rule != RuleFileRejected && c.rule != RuleMeta && i.Sheet == "" {
				t.Errorf("no sheet in %+v", *i)
			}
			if !strings.Contains(err.Error(), filepath.Base(i.File)) {
				t.Errorf("the message does not name the file: %v", err)
			}
		})
	}
	if after := f.count(`SELECT count(*) FROM survey_values`) + f.count(`SELECT count(*) FROM import_batches`); after != before {
		t.Errorf("refused imports wrote %d rows", after-before)
	}
}

// lateFamily enrols one more family and returns its study code, not randomized.
func (f *fixture) lateFamily() string {
	f.t.Helper()
	var code string
	if err := f.db.SQL().QueryRow(`SELECT study_code FROM families WHERE id NOT IN (SELECT family FROM allocations) LIMIT 1`).Scan(&code); err == nil {
		return code
	}
	// Every enrolled family was randomized: take one out of the schedule
	// by enrolling it again is not possible; use a code that is enrolled
	// later in a fresh referral file.
	tt := &trialtest.Trial{Dir: f.dir, DB: f.db, P: f.p}
	var err error
	if tt.PseudoKey, err = f.db.VerifyPseudoKey(context.Background(), filepath.Join(f.dir, "t.pk")); err != nil {
		f.t.Fatal(err)
	}
	tt.Enroll(f.t, "late.csv", "LATE", 1, time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC), actorAt(randomizedOn.AddDate(0, 0, 1)))
	if err := f.db.SQL().QueryRow(`SELECT study_code FROM families WHERE id NOT IN (SELECT family FROM allocations) LIMIT 1`).Scan(&code); err != nil {
		f.t.Fatal(err)
	}
	return code
}

// zipBomb writes a workbook whose sheet unzips to more than the limit.
func (f *fixture) zipBomb() string {
	path := filepath.Join(f.dir, "bomb.xlsx")
	fh, _ := os.Create(path)
	zw := zip.NewWriter(fh)
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} {
		w, _ := zw.Create(name)
		if name == "xl/worksheets/sheet1.xml" {
			io.Copy(w, io.LimitReader(zeros{}, 4<<20))
		} else {
			w.Write([]byte("<x/>"))
		}
	}
	zw.Close()
	fh.Close()
	return path
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestImportWarnings(t *testing.T) {
	f := newFixture(t, 30)
	good := answers()
	path := f.fill("w.xlsx", f.template("m6", m6Day), "m6", []map[string]any{
		with(good, "work_status", "inactive"),                                     // work_hours given, not relevant
		with(good, "interview_date", time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC)), // before the window
		with(good, "income_total", 9000),                                          // soft range
	}, nil)
	res, err := f.importFiles("m6", m6Day, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{RuleRelevance, RuleOutOfWindow, RuleSoftRange} {
		if i := findIssue(res, r); i == nil || i.Severity != SevWarning {
			t.Errorf("no %s warning: %+v", r, res.Issues)
		}
	}
	st, _ := Status(context.Background(), f.db, f.p, m6Day)
	if st[1].Counts[StatusCompletedLate] != 1 {
		t.Errorf("status %+v", st[1])
	}
}

func TestImportOtherCodebookVersion(t *testing.T) {
	f := newFixture(t, 30)
	old := f.template("m6", m6Day)
	text := strings.Replace(string(ExampleCodebook()), `version: "2016.1"`, `version: "2016.2"`, 1)
	cb2, err := ParseCodebook("v2.yaml", []byte(text), exampleWaves)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := Install(ctx, f.db, f.p, cb2, "v2.yaml", "", actorAt(m6Day)); !IsUsage(err) {
		t.Errorf("a second version without a reason: %v", err)
	}
	if v, changed, err := Install(ctx, f.db, f.p, cb2, "v2.yaml", "new wording", actorAt(m6Day)); err != nil || v != 2 || !changed {
		t.Fatal(v, changed, err)
	}
	path := f.fill("old.xlsx", old, "m6", []map[string]any{answers()}, nil)
	res, err := f.importFiles("m6", m6Day, path)
	if i := findIssue(res, RuleMeta); err == nil || i == nil || !strings.Contains(i.Message, "codebook version 1") {
		t.Errorf("old template: %v %+v", err, res)
	}
}

// TestImportCSV reads a CSV as people export it: dates as dd/mm/yyyy,
// labels instead of codes, trailing spaces, a header moved one column to
// the right, blank rows.
func TestImportCSV(t *testing.T) {
	f := newFixture(t, 30)
	csv := ";study_code ;interview_date;hh_size;hh_adults;single_parent;income_total;arrears;depriv_heating;depriv_meal;depriv_unexpected;work_status;childcare_use;housing_tenure;social_housing;health_self;can_ask_help;services_used;satisfaction_services\n" +
		";;;;;;;;;;;;;;;;;;\n" +
		";" + strings.ToLower(f.codes[0]) + " ;05/04/2017;4 ;2;Nee;1450 ;nee;0;0;ja;Niet actief;Nee;Eigenaar;0;Goed;1;OCMW, VDAB;8\n"
	path := filepath.Join(f.dir, "m6.csv")
	os.WriteFile(path, []byte(csv), 0o644)
	res, err := f.importFiles("m6", m6Day, path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 1 || res.NewValues != 17 || res.Warnings != 1 {
		t.Errorf("%+v", res)
	}
	var v string
	f.db.SQL().QueryRow(`SELECT value FROM survey_values WHERE variable = 'services_used'`).Scan(&v)
	if v != "ocmw vdab" {
		t.Errorf("services_used %q", v)
	}
}

// TestTemplateBlinded: a template carries study codes only. No arm id or
// label, no group code column, anywhere in the workbook's XML.
// TestTemplateLockedKeys: the pre-filled study codes and dates are locked
// (and dates shown as dates), the answer cells open, on every row.
func TestTemplateLockedKeys(t *testing.T) {
	f := newFixture(t, 30)
	x, err := excelize.OpenReader(bytes.NewReader(f.template("m6", m6Day)))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("m6")
	if len(rows) < 3 {
		t.Fatalf("%d rows", len(rows))
	}
	locked := func(cell string) (bool, string) {
		id, err := x.GetCellStyle("m6", cell)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := x.GetStyle(id)
		fmtCode := ""
		if st.CustomNumFmt != nil {
			fmtCode = *st.CustomNumFmt
		}
		return st.Protection == nil || st.Protection.Locked, fmtCode
	}
	last := len(rows)
	for _, r := range []int{2, last} {
		if l, _ := locked(fmt.Sprintf("A%d", r)); !l {
			t.Errorf("study code A%d is not locked", r)
		}
		if l, code := locked(fmt.Sprintf("B%d", r)); !l || code != "dd/mm/yyyy" {
			t.Errorf("due date B%d: locked %v, format %q", r, l, code)
		}
		if l, _ := locked(fmt.Sprintf("H%d", r)); l {
			t.Errorf("answer cell H%d is locked", r)
		}
	}
	if got := excelSerial(time.Date(2017, 4, 3, 0, 0, 0, 0, time.UTC)); got != 42828 {
		t.Errorf("2017-04-03 is serial %v, Excel's 42828", got)
	}
	shown, _ := x.GetCellValue("m6", "B2")
	if _, err := time.Parse("02/01/2006", shown); err != nil {
		t.Errorf("the due date shows %q, not dd/mm/yyyy", shown)
	}
}

// TestTemplateFrench: a French template has French prompts, lists and
// messages (its own words and the codebook's labels); filled in with the
// French labels, it imports; an unknown language falls back to English
// for the template's own words, never to an empty prompt.
func TestTemplateFrench(t *testing.T) {
	f := newFixture(t, 30)
	x, err := excelize.OpenReader(bytes.NewReader(f.templateIn("m6", m6Day, "fr")))
	if err != nil {
		t.Fatal(err)
	}
	dvs, _ := x.GetDataValidations("m6")
	var prompts, errs strings.Builder
	for _, dv := range dvs {
		if dv.PromptTitle != nil && dv.Prompt != nil {
			prompts.WriteString(*dv.PromptTitle + ": " + *dv.Prompt + "\n")
		}
		if dv.Error != nil {
			errs.WriteString(*dv.Error + "\n")
		}
	}
	for _, want := range []string{"Date de l'entretien (jj/mm/aaaa)", "Taille du ménage", "plusieurs codes séparés par ;"} {
		if !strings.Contains(prompts.String(), want) {
			t.Errorf("no French prompt %q in\n%s", want, prompts.String())
		}
	}
	if !strings.Contains(errs.String(), "Choisissez une valeur dans la liste") {
		t.Errorf("no French list message in\n%s", errs.String())
	}
	lists, _ := x.GetRows("_lists")
	if !strings.Contains(fmt.Sprint(lists), "Oui") {
		t.Error("the lists are not in French")
	}
	a := with(answers(), "single_parent", "Non")
	a = with(a, "arrears", "Oui")
	a = with(a, "work_status", "Salarié")
	path := f.fill("fr.xlsx", f.templateIn("m6", m6Day, "fr"), "m6", []map[string]any{a}, nil)
	if _, err := f.importFiles("m6", m6Day, path); err != nil {
		t.Errorf("the French template, filled with French labels, does not import: %v", err)
	}
	if got := templateText("de", "choose"); got != "Choose a value from the list" {
		t.Errorf("German falls back to %q", got)
	}
}

func TestTemplateBlinded(t *testing.T) {
	f := newFixture(t, 30)
	b := f.template("m6", m6Day)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		io.Copy(&all, rc)
		rc.Close()
	}
	text := strings.ToLower(all.String())
	for _, a := range f.p.Arms {
		for _, s := range []string{a.ID, a.Label} {
			if strings.Contains(text, strings.ToLower(s)) {
				t.Errorf("the template contains %q", s)
			}
		}
	}
	for _, s := range []string{"group", "arm", "allocation"} {
		if strings.Contains(text, ">"+s+"<") {
			t.Errorf("the template has a %q column", s)
		}
	}
	// The study codes are there, and nothing else identifies a family.
	if !strings.Contains(all.String(), f.codes[0]) {
		t.Error("no study code in the template")
	}
	x, _ := excelize.OpenReader(bytes.NewReader(b))
	if v, _ := x.GetSheetVisible(MetaSheet); v {
		t.Error("_meta is visible")
	}
	meta := x.GetSheetList()
	if strings.Join(meta, ",") != "m6,_lists,codebook,_meta" {
		t.Errorf("sheets %v", meta)
	}
	dvs, _ := x.GetDataValidations("m6")
	if len(dvs) < 20 {
		t.Errorf("%d data validations", len(dvs))
	}
}

func TestReportAndAnnotate(t *testing.T) {
	f := newFixture(t, 30)
	path := f.fill("bad.xlsx", f.template("m6", m6Day), "m6", []map[string]any{with(answers(), "hh_size", "=SUM(1)", "income_total", 99999)}, nil)
	res, err := f.importFiles("m6", m6Day, path)
	if err == nil {
		t.Fatal("accepted")
	}
	var csvOut, xlsxOut, annotated bytes.Buffer
	if err := WriteReport(&csvOut, "csv", res.Issues); err != nil {
		t.Fatal(err)
	}
	b := csvOut.Bytes()
	if !strings.Contains(string(b), "'=SUM(1)") || strings.Contains(string(b), ",=SUM") {
		t.Errorf("the CSV report does not defuse a formula-like value:\n%s", b)
	}
	if err := WriteReport(&xlsxOut, "xlsx", res.Issues); err != nil || xlsxOut.Len() == 0 {
		t.Fatal(err)
	}
	if err := Annotate(path, path, &annotated, res.Issues); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&annotated)
	if err != nil {
		t.Fatal(err)
	}
	comments, _ := x.GetComments("m6")
	if len(comments) != 2 {
		t.Errorf("%d comments", len(comments))
	}
}

// TestImportRowCountOnRefusal: a refused workbook reports every row with
// answers, those with errors included (it counted only the clean ones:
// 10 of 14).
func TestImportRowCountOnRefusal(t *testing.T) {
	f := newFixture(t, 30)
	var rows []map[string]any
	for i := range 14 {
		a := answers()
		switch i {
		case 2:
			a = with(a, "hh_size", 99) // out of range
		case 5:
			a = with(a, "income_total", "veel") // not a number
		case 9:
			a = with(a, "hh_adults", 5) // constraint
		}
		rows = append(rows, a)
	}
	path := f.fill("count.xlsx", f.template("m6", m6Day), "m6", rows, nil)
	res, err := f.importFiles("m6", m6Day, path)
	if err == nil {
		t.Fatal("accepted")
	}
	if res.Rows != 14 || res.Files[0].Rows != 14 || res.Errors != 3 {
		t.Errorf("refused: %d rows (file %d), %d errors; want 14 rows, 3 errors", res.Rows, res.Files[0].Rows, res.Errors)
	}
	if n := f.count("SELECT count(*) FROM survey_values"); n != 0 {
		t.Errorf("a refused import wrote %d values", n)
	}
}

// TestImportDateShown: an issue on a date cell shows the date, not the
// spreadsheet's serial number (45577).
func TestImportDateShown(t *testing.T) {
	f := newFixture(t, 30)
	path := f.fill("future.xlsx", f.template("m6", m6Day), "m6", []map[string]any{with(answers(), "interview_date", time.Date(2017, 12, 4, 0, 0, 0, 0, time.UTC))}, nil)
	res, err := f.importFiles("m6", m6Day, path)
	if err == nil {
		t.Fatal("a date in the future was accepted")
	}
	is := findIssue(res, RuleFutureDate)
	if is == nil || is.Value != "2017-12-04" {
		t.Errorf("the issue shows %+v, want the value 2017-12-04", is)
	}
	var b bytes.Buffer
	if err := WriteReport(&b, "csv", res.Issues); err != nil || !strings.Contains(b.String(), "2017-12-04") || strings.Contains(b.String(), "43073") {
		t.Errorf("the CSV report: %v\n%s", err, b.String())
	}
}

// TestImportMessageLanguage: a constraint's message is in the language of
// the template the interviewer filled, not always the codebook's first.
func TestImportMessageLanguage(t *testing.T) {
	f := newFixture(t, 30)
	for lang, want := range map[string]string{"en": "More adults than household members", "nl": "Meer volwassenen dan gezinsleden"} {
		path := f.fill("lang-"+lang+".xlsx", f.templateIn("m6", m6Day, lang), "m6", []map[string]any{with(answers(), "hh_adults", 5)}, nil)
		res, err := f.importFiles("m6", m6Day, path)
		if err == nil {
			t.Fatal("accepted")
		}
		is := findIssue(res, RuleConstraint)
		if is == nil || !strings.HasPrefix(is.Message, want) {
			t.Errorf("%s template: the constraint says %+v, want %q", lang, is, want)
		}
	}
}

// TestImportNames: an upload waits under a temporary path; its issues,
// its result and its annotated copy carry the name it was sent under.
func TestImportNames(t *testing.T) {
	f := newFixture(t, 30)
	path := f.fill("ann.xlsx", f.template("m6", m6Day), "m6", []map[string]any{with(answers(), "hh_size", 25)}, nil)
	res, err := Import(context.Background(), f.db, f.p, ImportOptions{Form: "m6", Files: []string{path}, Names: []string{"wave6 Ann.xlsx"}, Actor: actorAt(m6Day), MaxUnzip: 1 << 20})
	if err == nil || len(res.Issues) == 0 {
		t.Fatalf("accepted: %v", err)
	}
	for _, is := range res.Issues {
		if is.File != "wave6 Ann.xlsx" {
			t.Errorf("issue names %q", is.File)
		}
	}
	if strings.Contains(err.Error(), f.dir) {
		t.Errorf("the error names where the file waits: %v", err)
	}
	var annotated bytes.Buffer
	if err := Annotate(path, "wave6 Ann.xlsx", &annotated, res.Issues); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&annotated)
	if err != nil {
		t.Fatal(err)
	}
	if comments, _ := x.GetComments("m6"); len(comments) != 1 {
		t.Errorf("%d comments on the annotated copy, want 1", len(comments))
	}
	good := f.fill("bob.xlsx", f.template("m6", m6Day), "m6", []map[string]any{answers()}, nil)
	res, err = Import(context.Background(), f.db, f.p, ImportOptions{Form: "m6", Files: []string{good}, Names: []string{"wave6 Bob.xlsx"}, Actor: actorAt(m6Day), MaxUnzip: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].File != "wave6 Bob.xlsx" {
		t.Errorf("files %+v", res.Files)
	}
}

func TestCaseLog(t *testing.T) {
	f := newFixture(t, 30)
	ctx := context.Background()
	rows, err := f.db.AllocationList(ctx, f.p, f.key, "intervention", actorAt(m6Day))
	if err != nil {
		t.Fatal(err)
	}
	load := map[string]bool{}
	for _, r := range rows {
		load[r.StudyCode] = true
	}
	var in, out string
	for _, c := range f.codes {
		if load[c] && in == "" {
			in = c
		}
		if !load[c] && out == "" {
			out = c
		}
	}
	tmpl := f.template(CaseLog, m6Day)
	entry := map[string]any{"case_manager": "Els", "contacts_text": 12, "contacts_phone": 3, "contacts_home_visit": 2, "contacts_accompanied": 1,
		"contacts_email": 0, "hours_spent": "6,5", "accepted_guidance": "Ja"}
	mk := func(name, code, month string) string {
		return f.fill(name, tmpl, CaseLog, []map[string]any{entry}, func(x *excelize.File) {
			x.SetCellStr(CaseLog, "A2", code)
			x.SetCellStr(CaseLog, "B2", month)
		})
	}
	imp := func(path string) (*ImportResult, error) {
		return Import(ctx, f.db, f.p, ImportOptions{Form: CaseLog, Files: []string{path}, Actor: actorAt(m6Day), Caseload: load, Key: f.key})
	}
	if res, err := imp(mk("ok.xlsx", in, "2017-03")); err != nil || res.NewValues != 8 {
		t.Fatalf("%v %+v", err, res)
	}
	if res, err := imp(mk("ok2.xlsx", in, "2017-04")); err != nil || res.NewResponses != 1 {
		t.Fatalf("a second month: %v %+v", err, res)
	}
	for _, c := range []struct{ name, code, month, rule string }{
		{"control family", out, "2017-03", RuleNotCaseload},
		{"before randomization", in, "2016-08", RuleMonth},
		{"future month", in, "2017-05", RuleMonth},
		{"not a month", in, "maart", RuleMonth},
	} {
		res, err := imp(mk(c.name+".xlsx", c.code, c.month))
		if err == nil || findIssue(res, c.rule) == nil {
			t.Errorf("%s: %v %+v", c.name, err, res)
		}
	}
	// The activity log is not a wave: survey status does not count it.
	st, _ := Status(ctx, f.db, f.p, m6Day)
	for _, w := range st {
		if w.Counts[StatusCompleted] != 0 {
			t.Errorf("%s counts activity-log rows: %+v", w.Wave, w)
		}
	}
	// Sealed: nothing of the log in the survey tables, two sealed months,
	// and only the key opens them.
	var n, sealed int
	f.db.SQL().QueryRow(`SELECT count(*) FROM survey_values WHERE wave = 'caselog'`).Scan(&n)
	f.db.SQL().QueryRow(`SELECT count(*) FROM sealed_log`).Scan(&sealed)
	if n != 0 || sealed != 2 {
		t.Errorf("%d log values in the clear, %d sealed months", n, sealed)
	}
	log, err := OpenActivityLog(ctx, f.db, f.key)
	if err != nil {
		t.Fatal(err)
	}
	if a := log.Answers("contacts_text"); len(a) != 2 || a[in+" 2017-03"] != "12" {
		t.Errorf("opened log: %v", a)
	}
	if len(log.touched) != 0 {
		t.Errorf("months to reseal after opening a compact log: %v", log.touched)
	}
	// A month an older rct sealed as JSON opens, and the next import
	// reseals it compact.
	var kept []byte
	f.db.SQL().QueryRow(`SELECT blob FROM sealed_log WHERE period = '2017-04'`).Scan(&kept)
	plain, _ := json.Marshal(log.months["2017-04"].json())
	blob, _ := f.key.SealBlob(logPurpose+" 2017-04", plain, 4096, nil)
	f.db.SQL().Exec(`UPDATE sealed_log SET blob = ? WHERE period = '2017-04'`, blob)
	if old, err := OpenActivityLog(ctx, f.db, f.key); err != nil || !reflect.DeepEqual(monthsJSON(old.months), monthsJSON(log.months)) || !old.touched["2017-04"] || len(old.touched) != 1 {
		t.Errorf("a JSON month: %v, to reseal %v", err, old.touched)
	}
	// A month that opens but does not decode is refused, by its name (the
	// months are decoded while the next ones are read): the first such
	// month is the one named.
	var kept3 []byte
	f.db.SQL().QueryRow(`SELECT blob FROM sealed_log WHERE period = '2017-03'`).Scan(&kept3)
	garbage := func(period string) []byte {
		b, err := f.key.SealBlob(logPurpose+" "+period, []byte("\x01not deflate"), 4096, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	f.db.SQL().Exec(`UPDATE sealed_log SET blob = ? WHERE period = '2017-04'`, garbage("2017-04"))
	if _, err := OpenActivityLog(ctx, f.db, f.key); err == nil || !strings.Contains(err.Error(), "activity log of 2017-04") {
		t.Errorf("a month that does not decode: %v", err)
	}
	f.db.SQL().Exec(`UPDATE sealed_log SET blob = ? WHERE period = '2017-03'`, garbage("2017-03"))
	if _, err := OpenActivityLog(ctx, f.db, f.key); err == nil || !strings.Contains(err.Error(), "activity log of 2017-03") {
		t.Errorf("two months that do not decode: %v", err)
	}
	f.db.SQL().Exec(`UPDATE sealed_log SET blob = ? WHERE period = '2017-03'`, kept3)
	f.db.SQL().Exec(`UPDATE sealed_log SET blob = ? WHERE period = '2017-04'`, kept)
	if res, err := imp(mk("ok.xlsx", in, "2017-03")); err != nil || res.NewValues != 0 || res.Unchanged != 8 {
		t.Errorf("re-import: %v %+v", err, res)
	}
	vs, err := History(ctx, f.db, in, CaseLog, log)
	if err != nil || len(vs) != 16 || vs[0].File == "" {
		t.Errorf("history of the sealed log: %d versions %v", len(vs), err)
	}
	if _, err := Import(ctx, f.db, f.p, ImportOptions{Form: CaseLog, Files: []string{mk("k.xlsx", in, "2017-03")}, Actor: actorAt(m6Day), Caseload: load}); !errors.Is(err, trial.ErrKeyRefused) {
		t.Errorf("an import of the log without the key: %v", err)
	}
}

// TestFormColumns: the answers of every variable of a form at once are
// Answers' of each, versions and blanked answers included, in the rows
// asked for.
func TestFormColumns(t *testing.T) {
	f := newFixture(t, 30)
	ctx := context.Background()
	path := f.fill("a.xlsx", f.template("m6", m6Day), "m6", []map[string]any{answers(), with(answers(), "income_total", 1500), answers()}, nil)
	if _, err := f.importFiles("m6", m6Day, path); err != nil {
		t.Fatal(err)
	}
	// A second version of an answer, and one blanked.
	path = f.fill("b.xlsx", f.template("m6", m6Day), "m6", []map[string]any{with(answers(), "income_total", 1600), with(answers(), "rent_amount", nil)}, nil)
	if _, err := Import(ctx, f.db, f.p, ImportOptions{Form: "m6", Files: []string{path}, Actor: actorAt(m6Day), MaxUnzip: 1 << 20, OverwriteBlanks: true}); err != nil {
		t.Fatal(err)
	}
	// A set written by SQLite's own JSON functions (its escapes), holding
	// a text that looks like the packing itself: brackets, quotes, a
	// backslash, a line break, bytes beyond ASCII.
	if _, err := f.db.SQL().Exec(`INSERT INTO survey_answer_sets (family, wave, period, batch, source_row, answers)
		SELECT family, wave, period, batch, source_row + 1000, json_array(json_array('hh_size', 2, '12:3-é:-"],["x",9,"' || char(10) || '\'))
		FROM survey_answer_sets WHERE wave = 'm6' ORDER BY family LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	// Rows in reverse order of the codes; the third family, interviewed,
	// left out.
	row := map[string]int{}
	for i, c := range f.codes {
		if i != 2 {
			row[c] = len(row)
		}
	}
	for c, r := range row {
		row[c] = len(row) - 1 - r
	}
	ticks, total := 0, -1
	cols, err := FormColumns(ctx, f.db, []string{"m6"}, row, len(row), func(_ string, n int) (func(), func()) {
		total = n
		return func() { ticks++ }, func() {}
	})
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]map[string]string{}
	for w, col := range cols {
		if w.Form != "m6" {
			t.Errorf("%v: not asked for", w)
		}
		all[w.Variable] = map[string]string{}
		for code, r := range row {
			if col.Has[r] {
				all[w.Variable][code] = col.Values[r]
			} else if col.Values[r] != "" {
				t.Errorf("%v of %s: %q without an answer", w, code, col.Values[r])
			}
		}
	}
	// The reference: the current version of each answer, as SQL finds it.
	reference := func(variable string) map[string]string {
		rows, err := f.db.SQL().Query(`SELECT f.study_code, v.value FROM survey_values v JOIN families f ON f.id = v.family
			WHERE v.wave = 'm6' AND v.variable = ? AND v.value IS NOT NULL AND v.version = (SELECT max(version) FROM survey_values w
			WHERE w.family = v.family AND w.wave = v.wave AND w.period = v.period AND w.variable = v.variable)`, variable)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var code, value string
			rows.Scan(&code, &value)
			out[code] = value
		}
		return out
	}
	n := 0
	var wants []Want
	for _, v := range append(SystemVariables(), f.cb.Form("m6")...) {
		one, err := Answers(ctx, f.db, "m6", v.Name)
		if err != nil {
			t.Fatal(err)
		}
		ref := reference(v.Name)
		if _, ok := ref[f.codes[2]]; !ok && v.Name == "interview_date" {
			t.Errorf("the third family has no interview to leave out")
		}
		delete(ref, f.codes[2])
		if all[v.Name] == nil {
			all[v.Name] = map[string]string{}
		}
		if fmt.Sprint(ref) != fmt.Sprint(all[v.Name]) {
			t.Errorf("%s: FormColumns %v, SQL %v", v.Name, all[v.Name], ref)
		}
		delete(one, f.codes[2])
		if fmt.Sprint(one) != fmt.Sprint(ref) {
			t.Errorf("%s: Answers %v, SQL %v", v.Name, one, ref)
		}
		n += len(one)
		wants = append(wants, Want{"m6", v.Name}, Want{"m0", v.Name})
	}
	if !slices.Contains(slices.Collect(maps.Values(all["hh_size"])), "12:3-é:-\"],[\"x\",9,\"\n\\") {
		t.Errorf("the packed-looking text: %v", all["hh_size"])
	}
	of, err := AnswersOf(ctx, f.db, wants)
	rent := maps.Clone(of[Want{"m6", "rent_amount"}])
	delete(rent, f.codes[2])
	if err != nil || len(of) != len(wants) || fmt.Sprint(rent) != fmt.Sprint(all["rent_amount"]) || len(of[Want{"m0", "hh_size"}]) != 0 {
		t.Errorf("AnswersOf: %v %v", err, of[Want{"m6", "rent_amount"}])
	}
	if interviewed := f.count(`SELECT count(*) FROM survey_responses WHERE wave = 'm6'`); ticks != interviewed || total != interviewed {
		t.Errorf("%d ticks of %d for %d families' answers", ticks, total, interviewed)
	}
	if _, ok := all["rent_amount"][f.codes[1]]; n < 30 || all["income_total"][f.codes[0]] != "1600" || ok {
		t.Errorf("%d answers; income of %s %q; rent of %s blanked: %v", n, f.codes[0], all["income_total"][f.codes[0]], f.codes[1], !ok)
	}
}

// TestImportProgress: an import tells its progress of every data row it
// reads (answered or not, across files) and ends it once; its number of
// rows is not known beforehand.
func TestImportProgress(t *testing.T) {
	f := newFixture(t, 6)
	a := f.fill("a.xlsx", f.template("m6", m6Day), "m6", []map[string]any{answers(), answers()}, nil)
	b := f.fill("b.xlsx", f.template("m6", m6Day), "m6", nil, nil)
	var ticks, dones atomic.Int64
	total := -1
	_, err := Import(context.Background(), f.db, f.p, ImportOptions{Form: "m6", Files: []string{a, b}, Actor: actorAt(m6Day), MaxUnzip: 1 << 20,
		Progress: func(step string, n int) (func(), func()) {
			total = n
			return func() { ticks.Add(1) }, func() { dones.Add(1) }
		}})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, path := range []string{a, b} {
		tb, err := sheet.Open(path, sheet.Options{Sheet: "m6"})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := tb.Next(); err != nil {
				break
			}
			rows++
		}
		tb.Close()
	}
	if total != 0 || ticks.Load() != int64(rows) || dones.Load() != 1 || rows < 12 {
		t.Errorf("total %d, %d ticks for %d rows, done %d times", total, ticks.Load(), rows, dones.Load())
	}
}

// TestLegacyLogRead: a log an older rct kept readable in the survey tables
// is read with the sealed one (and resealed at the next import); a trial
// without one reads none, without scanning the survey answers for it.
func TestLegacyLogRead(t *testing.T) {
	f := newFixture(t, 4)
	ctx := context.Background()
	if _, err := f.importFiles("m6", m6Day, f.fill("a.xlsx", f.template("m6", m6Day), "m6", []map[string]any{answers()}, nil)); err != nil {
		t.Fatal(err)
	}
	log, err := OpenActivityLog(ctx, f.db, f.key)
	if err != nil || !log.Empty() {
		t.Fatalf("a trial without a log: empty %v, %v", log != nil && log.Empty(), err)
	}
	var family, batch int64
	if err := f.db.SQL().QueryRow(`SELECT family, batch FROM survey_values WHERE wave = 'm6' LIMIT 1`).Scan(&family, &batch); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SQL().Exec(`INSERT INTO survey_responses (family, wave, period, first_batch) VALUES (?, 'caselog', '2017-03', ?)`, family, batch); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SQL().Exec(`INSERT INTO survey_answer_sets (family, wave, period, batch, source_row, answers) VALUES (?, 'caselog', '2017-03', ?, 2, '[["contacts",1,"4"]]')`, family, batch); err != nil {
		t.Fatal(err)
	}
	if log, err = OpenActivityLog(ctx, f.db, f.key); err != nil {
		t.Fatal(err)
	}
	var got []string
	log.EachCurrent(func(code, period, variable, value string) { got = append(got, period+" "+variable+"="+value) })
	if log.Empty() || !slices.Equal(got, []string{"2017-03 contacts=4"}) {
		t.Fatalf("the legacy log read as %v (empty %v)", got, log.Empty())
	}
}

// TestEachAnswerInOrder: eachAnswer gives every stored answer, versions
// and blanked ones included, in the order of a plain query sorted by
// family, form, period, variable and version; and a family's answers
// packed out of that order are put back in it.
func TestEachAnswerInOrder(t *testing.T) {
	f := newFixture(t, 6)
	ctx := context.Background()
	if _, err := f.importFiles("m6", m6Day, f.fill("a.xlsx", f.template("m6", m6Day), "m6", []map[string]any{answers(), with(answers(), "income_total", 1500), answers()}, nil)); err != nil {
		t.Fatal(err)
	}
	path := f.fill("b.xlsx", f.template("m6", m6Day), "m6", []map[string]any{with(answers(), "income_total", 1600), with(answers(), "rent_amount", nil)}, nil)
	if _, err := Import(ctx, f.db, f.p, ImportOptions{Form: "m6", Files: []string{path}, Actor: actorAt(m6Day), MaxUnzip: 1 << 20, OverwriteBlanks: true}); err != nil {
		t.Fatal(err)
	}
	codes, err := trial.StudyCodes(ctx, f.db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.db.SQL().Query(`SELECT family, wave, period, variable, value FROM survey_values WHERE wave = 'm6' ORDER BY family, wave, period, variable, version`)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for rows.Next() {
		var fam int64
		var wave, period, variable string
		var value sql.NullString
		if err := rows.Scan(&fam, &wave, &period, &variable, &value); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%s %s %s %q %v", codes[fam], wave, variable, value.String, !value.Valid))
	}
	rows.Close()
	var got []string
	if err := eachAnswer(ctx, f.db, codes, []string{"m6"}, nil, func(code, form, variable, value string, blanked bool) {
		got = append(got, fmt.Sprintf("%s %s %s %q %v", code, form, variable, value, blanked))
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) < 50 || !slices.Equal(got, want) {
		t.Fatalf("eachAnswer gave %d answers, the table %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	// Split among the readers of a snapshot: the same answers in the same
	// order, whatever the number of parts (more parts than families too).
	for _, n := range []int{2, 3, 7} {
		r, release, err := f.db.Snapshot(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Readers()) != n {
			t.Fatalf("%d readers, want %d", len(r.Readers()), n)
		}
		var split []string
		err = eachAnswer(ctx, r, codes, []string{"m6"}, nil, func(code, form, variable, value string, blanked bool) {
			split = append(split, fmt.Sprintf("%s %s %s %q %v", code, form, variable, value, blanked))
		})
		release()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(split, want) {
			t.Fatalf("in %d parts: %d answers, the table %d; first difference at %d", n, len(split), len(want), firstDiff(split, want))
		}
	}
	group := []packedAnswer{{"", "b", "2", 2, false}, {"", "a", "", 1, true}, {"2017-03", "a", "x", 1, false}, {"", "b", "1", 1, false}}
	slices.SortStableFunc(group, comparePacked)
	if group[0].variable != "a" || group[1].version != 1 || group[2].version != 2 || group[3].period != "2017-03" {
		t.Fatalf("answers out of order sorted as %v", group)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestFamilyRanges: the ranges cover every id there can be, each once, in
// order, none empty, no more than the parts asked.
func TestFamilyRanges(t *testing.T) {
	for _, ids := range [][]int64{nil, {5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {3, 100, 101, 7000}} {
		codes := map[int64]string{}
		for _, id := range ids {
			codes[id] = "x"
		}
		for parts := 1; parts <= 5; parts++ {
			r := familyRanges(codes, parts)
			if r[0][0] != math.MinInt64 || r[len(r)-1][1] != math.MaxInt64 || len(r) > parts {
				t.Fatalf("%v in %d: %v", ids, parts, r)
			}
			for k := 1; k < len(r); k++ {
				if r[k][0] != r[k-1][1]+1 || r[k][0] > r[k][1] {
					t.Fatalf("%v in %d: %v", ids, parts, r)
				}
			}
		}
	}
}
