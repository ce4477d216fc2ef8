package trial

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/ident"
	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/xuri/excelize/v2"
)

type testTrial struct {
	dir   string
	db    *DB
	p     *Protocol
	key   *PseudoKey
	actor Actor
	old   string // a copy of the database taken earlier (attack tests)
}

var testNow = time.Date(2019, 6, 30, 12, 0, 0, 0, time.UTC)

func newTestTrial(t *testing.T) *testTrial {
	t.Helper()
	dir := t.TempDir()
	p, err := ParseProtocol("trial.yaml", ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	a := Actor{Name: "tester", Now: func() time.Time { return testNow }}
	ctx := context.Background()
	_, err = Init(ctx, InitOptions{Protocol: p, ProtocolPath: filepath.Join(dir, "trial.yaml"), DBPath: filepath.Join(dir, "trial.db"),
		KeyPath: filepath.Join(dir, "trial.key"), PseudoKeyPath: filepath.Join(dir, "trial.pseudo.key"), Rand: rand.Reader, Actor: a})
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, filepath.Join(dir, "trial.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	k, err := db.VerifyPseudoKey(ctx, filepath.Join(dir, "trial.pseudo.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &testTrial{dir: dir, db: db, p: p, key: k, actor: a}
}

// enroll reads and enrols a referral list, and checks that each step told
// its progress: a tick for each row read, then for each referral checked,
// each step ended once.
func (tt *testTrial) enroll(t *testing.T, path string) (*EnrollResult, error) {
	t.Helper()
	ticks, dones := map[string]int{}, map[string]int{}
	totals := map[string]int{}
	progress := func(step string, total int) (func(), func()) {
		totals[step] = total
		return func() { ticks[step]++ }, func() { dones[step]++ }
	}
	refs, n, err := ReadReferrals(path, tt.p, tt.actor.Today(), sheet.Options{}, progress)
	if err != nil {
		return nil, err
	}
	res, err := tt.db.Enroll(context.Background(), tt.p, EnrollInput{File: path, SHA256: "x", RowsRead: n, Referrals: refs, Key: tt.key, Actor: tt.actor, Progress: progress})
	const read, checked = "referral list, rows read", "enrolment, referrals checked"
	if ticks[read] != n || dones[read] != 1 || totals[read] != 0 {
		t.Errorf("reading: %d ticks for %d rows, %d dones", ticks[read], n, dones[read])
	}
	if err == nil && (ticks[checked] != len(refs) || dones[checked] != 1 || totals[checked] != len(refs)) {
		t.Errorf("enrolment: %d ticks of %d for %d referrals, %d dones", ticks[checked], totals[checked], len(refs), dones[checked])
	}
	return res, err
}

func (tt *testTrial) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := tt.db.SQL().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const csvHeader = "referral_id,referral_date,role,national_number,first_name,last_name,birth_date,postcode,consent,income,education,stimulation,work,housing,health,household,language\n"

// goodCSV: R1 enrolled (two persons), R2 not eligible, R3 declined, R4 a
// duplicate of R1 (same mother, by number), R5 a duplicate of R1 by name
// and birth date (no number).
const goodCSV = csvHeader +
	"R1,14/03/2017,mother,85.07.30-033.28,Hélène,Van den Broucke,30/07/1985,8500,yes,1,1,1,0,0,0,single_parent,dutch\n" +
	"R1,,child,,Lina,Van den Broucke,01/03/2017,8500,,,,,,,,,\n" +
	"R2,2017-03-20,mother,93051822361,Amina,El Amrani,18/05/1993,8510,yes,1,1,0,0,0,0,two_parents,other\n" +
	"R3,2017-03-21,mother,,Sara,Peeters,01/01/1990,8500,no,1,1,1,1,1,1,two_parents,dutch\n" +
	"R4,2017-04-20,mother,85073003328,Helene,Vandenbroucke,30/07/1985,8500,yes,1,1,1,0,0,0,single_parent,dutch\n" +
	"R5,2017-04-21,mother,,HELENE,van den broucke,1985-07-30,8500,ja,1,1,1,1,0,0,single_parent,dutch\n"

func writeCSV(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnrollOutcomes(t *testing.T) {
	tt := newTestTrial(t)
	res, err := tt.enroll(t, writeCSV(t, tt.dir, "ref.csv", goodCSV))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"R1": Enrolled, "R2": NotEligible, "R3": Declined, "R4": Duplicate, "R5": Duplicate}
	for _, r := range res.Results {
		if want[r.ReferralID] != r.Outcome {
			t.Errorf("%s: %s, want %s (%s)", r.ReferralID, r.Outcome, want[r.ReferralID], r.Reason)
		}
		if r.Outcome == Duplicate && r.DuplicateOf != "K-0001" {
			t.Errorf("%s: duplicate of %q", r.ReferralID, r.DuplicateOf)
		}
	}
	if res.Enrolled != 1 || res.NotEligible != 1 || res.Declined != 1 || res.Duplicates != 2 {
		t.Errorf("counts %+v", res)
	}
	if n := tt.count(t, "persons"); n != 2 {
		t.Errorf("persons stored: %d, want 2 (only the enrolled family's)", n)
	}
	s, err := tt.db.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Referred != 5 || s.Assessed != 3 || s.Enrolled != 1 || s.Eligible != 2 || s.NotEligible != 1 || s.Declined != 1 {
		t.Errorf("status %+v", s)
	}
	// Re-importing the same file changes nothing.
	before := tt.count(t, "import_batches")
	res, err = tt.enroll(t, writeCSV(t, tt.dir, "ref.csv", goodCSV))
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged != 5 || res.Batch != 0 || tt.count(t, "import_batches") != before {
		t.Errorf("re-import: %+v", res)
	}
	// A new referral in a later file gets the next study code.
	res, err = tt.enroll(t, writeCSV(t, tt.dir, "ref2.csv", csvHeader+
		"R6,2017-05-01,mother,,Ann,Maes,02/02/1992,8500,yes,1,1,1,0,0,0,two_parents,dutch\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Results[0].StudyCode != "K-0002" {
		t.Errorf("study code %q", res.Results[0].StudyCode)
	}
}

// TestEnrollOtherTools enrols workbooks written by openpyxl and by
// LibreOffice (testdata/make_referrals.py): date cells and text dates,
// numbers as numbers, a moved header, a styled blank row, stray spaces.
func TestEnrollOtherTools(t *testing.T) {
	for _, f := range []string{"referrals_openpyxl.xlsx", "referrals_libreoffice.xlsx"} {
		t.Run(f, func(t *testing.T) {
			tt := newTestTrial(t)
			res, err := tt.enroll(t, filepath.Join("..", "testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range res.Results {
				got[r.ReferralID] = r.Outcome
			}
			want := map[string]string{"R-001": Enrolled, "R-002": NotEligible, "R-003": Enrolled}
			for id, o := range want {
				if got[id] != o {
					t.Errorf("%s: %s, want %s", id, got[id], o)
				}
			}
			rows, err := tt.db.SQL().Query(`SELECT f.study_code, p.role, p.first_name, COALESCE(p.birth_date, ''), COALESCE(p.postcode, ''), p.nrn_pseudonym IS NOT NULL
				FROM persons p JOIN families f ON f.id = p.family ORDER BY p.id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var lines []string
			for rows.Next() {
				var code, role, first, bd, pc string
				var hasNum bool
				rows.Scan(&code, &role, &first, &bd, &pc, &hasNum)
				lines = append(lines, strings.Join([]string{code, role, first, bd, pc, map[bool]string{true: "nrn", false: "-"}[hasNum]}, " "))
			}
			wantLines := []string{
				"K-0001 mother Hélène 1985-07-30 8500 nrn",
				"K-0001 child Lina 2017-03-01 8500 nrn",
				"K-0002 mother Hodan  8500 nrn",
			}
			if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
				t.Errorf("persons:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
			}
			var strata string
			tt.db.SQL().QueryRow(`SELECT group_concat(value, ',') FROM family_strata WHERE family = 2 ORDER BY variable`).Scan(&strata)
			if strata != "single_parent,other" {
				t.Errorf("strata of K-0002: %q (values are matched without case and stored as the protocol spells them)", strata)
			}
		})
	}
}

func TestEnrollBadInput(t *testing.T) {
	good := strings.Split(strings.TrimSpace(goodCSV), "\n")
	row := func(i int, from, to string) string {
		if !strings.Contains(good[i], from) {
			t.Fatalf("row %d has no %q", i, from)
		}
		lines := append([]string(nil), good[:3]...)
		lines[i] = strings.Replace(good[i], from, to, 1)
		return strings.Join(lines, "\n") + "\n"
	}
	header := func(from, to string) string {
		return strings.Replace(strings.Join(good[:3], "\n"), from, to, 1) + "\n"
	}
	cases := []struct {
		name, content string
		file          string
		want          string // message fragment
		place         string // regexp on the place
	}{
		{"missing required column", header(",consent,", ",agreed,"), "", `missing required column "consent"`, `row 1`},
		{"unknown column", header(",language", ",language,shoe_size"), "", `unknown column "shoe_size"`, `row 1 column R \(shoe_size\)`},
		{"stratum column missing", header(",household,language", ",household"), "", `missing required stratification column "language"`, `row 1`},
		{"domain column missing", header(",health,", ",health2,"), "", `missing required domain column "health"`, `row 1`},
		{"wrong date format", row(1, "14/03/2017", "2017/03/14"), "", "not a date", `row 2 column B \(referral_date\)`},
		{"impossible date", row(1, "30/07/1985", "31/02/1985"), "", "impossible date", `row 2 column G \(birth_date\)`},
		{"future date", row(1, "14/03/2017", "14/03/2027"), "", "in the future", `row 2 column B \(referral_date\)`},
		{"domain flag not allowed", row(1, "yes,1,1,1", "yes,maybe,1,1"), "", "not an allowed value", `row 2 column J \(income\)`},
		{"national number check digits", row(1, "85.07.30-033.28", "85.07.30-033.29"), "", "check digits", `row 2 column D \(national_number\)`},
		{"national number too short", row(1, "85.07.30-033.28", "8507300332"), "", "10 digits", `row 2 column D \(national_number\)`},
		{"national number vs birth date", row(1, "30/07/1985", "31/07/1985"), "", "encodes birth date 1985-07-30", `row 2 column D \(national_number\)`},
		{"stratum value", row(1, "single_parent", "alone"), "", `"alone" is not one of`, `row 2 column P \(household\)`},
		{"role", row(2, ",child,", ",uncle,"), "", `role "uncle"`, `row 3 column C \(role\)`},
		{"missing name", row(1, "Hélène", ""), "", "missing first name", `row 2 column E \(first_name\)`},
		{"missing consent on first row", row(1, ",yes,", ",,"), "", "missing consent", `row 2 column I \(consent\)`},
		{"conflicting referral values", row(2, ",8500,,", ",8500,no,"), "", `consent "no" differs from "true" on row 2`, `row 3 column I \(consent\)`},
		{"two rows for the same person", row(2, ",child,,Lina,Van den Broucke,01/03/2017", ",child,85073003328,Hélène,Van den Broucke,30/07/1985"), "", "same person as row 2", `row 3`},
		{"missing referral id", row(2, "R1,,child", ",,child"), "", "missing referral id", `row 3 column A \(referral_id\)`},
		{"empty file", "", "", "empty", ``},
		{"header only", csvHeader, "", "no referrals", ``},
		{"text renamed xlsx", goodCSV, "renamed.xlsx", "not an XLSX workbook", ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tt := newTestTrial(t)
			name := c.file
			if name == "" {
				name = "bad.csv"
			}
			_, err := tt.enroll(t, writeCSV(t, tt.dir, name, c.content))
			if err == nil {
				t.Fatal("accepted")
			}
			if !dataerr.Is(err) {
				t.Fatalf("not a data error (exit 3): %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, name) {
				t.Errorf("message %q lacks %q or the file name", msg, c.want)
			}
			if c.place != "" && !regexp.MustCompile(c.place).MatchString(msg) {
				t.Errorf("message %q does not name the place %s", msg, c.place)
			}
			for _, table := range []string{"referrals", "families", "persons", "import_batches"} {
				if n := tt.count(t, table); n != 0 {
					t.Errorf("%s has %d rows after a rejected import", table, n)
				}
			}
		})
	}
}

// TestEnrollUncomputedFormula: a formula cell without a computed value
// (a workbook saved by a program that does not compute formulas) is named
// as such, not reported as a missing first name.
func TestEnrollUncomputedFormula(t *testing.T) {
	tt := newTestTrial(t)
	x := excelize.NewFile()
	for r, line := range strings.Split(strings.TrimSpace(goodCSV), "\n")[:3] {
		for c, v := range strings.Split(line, ",") {
			if cell, _ := excelize.CoordinatesToCellName(c+1, r+1); cell != "E2" {
				x.SetCellStr("Sheet1", cell, v)
			}
		}
	}
	x.SetCellFormula("Sheet1", "E2", `UPPER("hélène")`)
	path := filepath.Join(tt.dir, "formula.xlsx")
	if err := x.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	_, err := tt.enroll(t, path)
	if err == nil || !dataerr.Is(err) {
		t.Fatalf("err = %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "formula without a computed value") || !strings.Contains(msg, "row 2 column E (first_name)") || strings.Contains(msg, "missing first name") {
		t.Errorf("message %q", msg)
	}
}

func TestEnrollChangedReferralRefused(t *testing.T) {
	tt := newTestTrial(t)
	if _, err := tt.enroll(t, writeCSV(t, tt.dir, "a.csv", goodCSV)); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(goodCSV, "R2,2017-03-20", "R2,2017-03-22", 1) + "R9,2017-05-01,mother,,Ann,Maes,02/02/1992,8500,yes,1,1,1,0,0,0,two_parents,dutch\n"
	_, err := tt.enroll(t, writeCSV(t, tt.dir, "b.csv", changed))
	if err == nil || !dataerr.Is(err) || !strings.Contains(err.Error(), "referral R2 was imported before") {
		t.Fatalf("err = %v", err)
	}
	if n := tt.count(t, "referrals"); n != 5 {
		t.Errorf("referrals %d: the new R9 was written although the file was rejected", n)
	}
}

// TestNoNationalNumberInDatabase greps the raw database files: no valid
// national number of an enrolled person appears, in any written form.
func TestNoNationalNumberInDatabase(t *testing.T) {
	tt := newTestTrial(t)
	if _, err := tt.enroll(t, writeCSV(t, tt.dir, "ref.csv", goodCSV)); err != nil {
		t.Fatal(err)
	}
	tt.db.Close() // checkpoint the WAL into the main file
	var raw []byte
	for _, f := range []string{"trial.db", "trial.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(tt.dir, f))
		raw = append(raw, b...)
	}
	if len(raw) == 0 {
		t.Fatal("empty database")
	}
	for _, s := range []string{"85073003328", "85.07.30-033.28", "93051822361", "17030101265"} {
		if n, err := ident.ParseNumber(s); err == nil {
			for _, form := range []string{n.String(), n.Formatted(), n.String()[:9]} {
				if bytes.Contains(raw, []byte(form)) {
					t.Errorf("the database file contains %q", form)
				}
			}
		}
	}
	// Any 11-digit run that is a valid national number is a leak, but
	// not the digits inside a hex digest or key (64 hex characters hold
	// 11 digits in a row often enough, and 1 in 97 of those "is valid").
	hexRun := regexp.MustCompile(`[0-9A-Fa-f]{16,}`)
	raw = hexRun.ReplaceAllFunc(raw, func(m []byte) []byte {
		if !bytes.ContainsFunc(m, func(r rune) bool { return r > '9' }) {
			return m // digits only: a number, not hex
		}
		return bytes.Repeat([]byte{' '}, len(m))
	})
	for _, m := range regexp.MustCompile(`\d{11}`).FindAll(raw, -1) {
		if _, err := ident.ParseNumber(string(m)); err == nil {
			t.Errorf("the database file contains a valid national number %s", m)
		}
	}
}
