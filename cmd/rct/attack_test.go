package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The attacks of a team member with the trial's folder at hand but not the
// key, run through the rct binary as users run it (trial/attack_test.go
// holds the database edits). Each names what it tries and asserts the
// exit code and that nothing was harmed.

// keyedTrial is a folder with a trial of 8 randomized families.
func keyedTrial(t *testing.T) string {
	t.Helper()
	dir := enrolledDir(t, 10)
	mustRun(t, dir, "randomize", "--pending", "--key", "trial.key")
	return dir
}

// runIn runs rct in dir and returns its combined output and exit code.
func runIn(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	out, err := rctCmd(t, dir, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatal(err)
	return "", 0
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestOutputsNeverOverwriteTheTrial: no output path reaches the database,
// its companions, the keys or the witness, whatever the spelling and
// whatever --force says.
func TestOutputsNeverOverwriteTheTrial(t *testing.T) {
	dir := keyedTrial(t)
	os.WriteFile(filepath.Join(dir, "codebook.yaml"), mustCodebook(t), 0o644)
	mustRun(t, dir, "codebook", "install", "codebook.yaml")
	abs := func(p string) string { return filepath.Join(dir, p) }
	if err := os.Symlink(abs("trial.db"), abs("link.html")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(abs("trial.key"), abs("hard.html")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(abs("sub"), 0o755)
	mustRun(t, dir, "status") // a -wal and -shm beside the database
	before := map[string][32]byte{}
	for _, f := range []string{"trial.db", "trial.key", "trial.pseudo.key", "trial.witness"} {
		before[f] = fileSum(t, abs(f))
	}
	attempts := [][]string{
		{"report", "-o", "trial.db", "--force"},
		{"report", "-o", "./trial.db", "--force"},
		{"report", "-o", abs("trial.db"), "--force"},
		{"report", "-o", "sub/../trial.db", "--force"},
		{"report", "-o", "link.html", "--force"},
		{"report", "-o", "hard.html", "--force"},
		{"report", "-o", "r.html", "--xlsx", "trial.key", "--force"},
		{"report", "-o", "trial.db-wal", "--force"},
		{"report", "-o", "trial.db-shm", "--force"},
		{"data", "export", "-o", "trial.pseudo.key.csv", "--force"}, // harmless: a name of its own
		{"survey", "template", "--wave", "m0", "-o", "trial.pseudo.key", "--force"},
		{"survey", "template", "--wave", "m0", "-o", "trial.witness", "--force"},
		{"caselog", "template", "--key", "trial.key", "-o", "trial.key", "--force"},
		{"link", "review", "export", "-o", "trial.db", "--force"},
		{"protocol", "example", "--codebook", "trial.db"},
	}
	for _, a := range attempts {
		out, code := runIn(t, dir, a...)
		harmless := strings.HasSuffix(a[len(a)-2], ".csv")
		if harmless {
			continue
		}
		if code != exitUsage || !strings.Contains(out, "the trial's own file") {
			t.Errorf("rct %s: exit %d, want 2 naming the trial's file\n%s", strings.Join(a, " "), code, out)
		}
	}
	for f, sum := range before {
		if fileSum(t, abs(f)) != sum {
			t.Errorf("%s was changed", f)
		}
	}
	if out, code := runIn(t, dir, "audit", "verify", "--key", "trial.key"); code != 0 {
		t.Errorf("the trial no longer verifies:\n%s", out)
	}
}

// TestHostileKeyFiles: every key file that is not this trial's intact,
// private key is refused with exit 4, at once, and nothing is allocated.
func TestHostileKeyFiles(t *testing.T) {
	dir := keyedTrial(t)
	abs := func(p string) string { return filepath.Join(dir, p) }
	key, _ := os.ReadFile(abs("trial.key"))
	edit := func(field string) []byte {
		var out []string
		for _, l := range strings.Split(string(key), "\n") {
			if strings.HasPrefix(l, field+": ") {
				v := []byte(l)
				i := len(field) + 2
				if v[i] == 'a' {
					v[i] = 'b'
				} else {
					v[i] = 'a'
				}
				l = string(v)
			}
			out = append(out, l)
		}
		return []byte(strings.Join(out, "\n"))
	}
	os.WriteFile(abs("seed.key"), edit("seed"), 0o600)
	os.WriteFile(abs("seal.key"), edit("seal"), 0o600)
	os.WriteFile(abs("open.key"), key, 0o644)
	os.WriteFile(abs("big.key"), bytes.Repeat([]byte("# padding\n"), 10_000), 0o600)
	other := enrolledDir(t, 2)
	cases := map[string]string{
		"seed.key":                               "seed commitment",
		"seal.key":                               "the file was altered",
		"open.key":                               "too open",
		"big.key":                                "larger than",
		"/dev/zero":                              "not a regular file",
		"sub":                                    "no such key file",
		filepath.Join(other, "trial.key"):        "another trial",
		filepath.Join(dir, "trial.pseudo.key"):   "not the allocation key",
		filepath.Join(dir, "trial.witness"):      "not an rct key file",
		filepath.Join(dir, "referrals.xlsx"):     "too open",
		filepath.Join(other, "trial.pseudo.key"): "not the allocation key",
	}
	for path, want := range cases {
		start := time.Now()
		out, code := runIn(t, dir, "randomize", "--pending", "--key", path)
		if code != exitKey || !strings.Contains(out, want) {
			t.Errorf("--key %s: exit %d, want 4 with %q\n%s", path, code, want, out)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("--key %s took %v", path, d)
		}
	}
}

// TestRollbackFound: restoring a copy of the database taken before a
// withdrawal and an emergency unblinding passes the keyless check (the
// chain that is left is whole) but not the key holder's, and no keyed
// command works on it.
func TestRollbackFound(t *testing.T) {
	dir := keyedTrial(t)
	abs := func(p string) string { return filepath.Join(dir, p) }
	mustRun(t, dir, "status")
	copyTrial := func(to string) {
		os.MkdirAll(to, 0o755)
		for _, f := range []string{"trial.db", "trial.db-wal", "trial.db-shm"} {
			if b, err := os.ReadFile(abs(f)); err == nil {
				os.WriteFile(filepath.Join(to, f), b, 0o600)
			}
		}
	}
	backup := filepath.Join(t.TempDir(), "backup")
	copyTrial(backup)
	mustRun(t, dir, "withdraw", "--family", "K-0002", "--reason", "moved", "--key", "trial.key")
	mustRun(t, dir, "unblind", "--family", "K-0003", "--reason", "hospital", "--key", "trial.key")
	for _, f := range []string{"trial.db", "trial.db-wal", "trial.db-shm"} {
		os.Remove(abs(f))
		if b, err := os.ReadFile(filepath.Join(backup, f)); err == nil {
			os.WriteFile(abs(f), b, 0o600)
		}
	}
	if out, code := runIn(t, dir, "audit", "verify"); code != 0 {
		t.Errorf("keyless verify of a consistent older copy: exit %d\n%s", code, out)
	}
	out, code := runIn(t, dir, "audit", "verify", "--key", "trial.key")
	if code != exitInvalid || !strings.Contains(out, "rolled back") {
		t.Errorf("keyed verify of a rolled-back database: exit %d\n%s", code, out)
	}
	if out, code := runIn(t, dir, "withdraw", "--family", "K-0004", "--reason", "x", "--key", "trial.key"); code != exitInvalid || !strings.Contains(out, "rolled back") {
		t.Errorf("a keyed command on a rolled-back database: exit %d\n%s", code, out)
	}
}

// TestAmbiguousWorkbookRefused: an interviewer's workbook whose package
// holds two parts of one name (one program shows one, another imports the
// other) is refused with exit 3, nothing written.
func TestAmbiguousWorkbookRefused(t *testing.T) {
	dir := keyedTrial(t)
	abs := func(p string) string { return filepath.Join(dir, p) }
	os.WriteFile(abs("codebook.yaml"), mustCodebook(t), 0o644)
	mustRun(t, dir, "codebook", "install", "codebook.yaml")
	mustRun(t, dir, "survey", "template", "--wave", "m0", "-o", "m0.xlsx")
	zr, err := zip.OpenReader(abs("m0.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range zr.File {
		w, _ := zw.CreateHeader(&e.FileHeader)
		r, _ := e.Open()
		io.Copy(w, r)
		r.Close()
		if strings.HasSuffix(e.Name, "sheet1.xml") {
			w, _ := zw.Create(e.Name)
			r, _ := e.Open()
			io.Copy(w, r)
			r.Close()
		}
	}
	zw.Close()
	zr.Close()
	os.WriteFile(abs("m0-twice.xlsx"), buf.Bytes(), 0o644)
	out, code := runIn(t, dir, "survey", "import", "--wave", "m0", "m0-twice.xlsx")
	if code != exitInvalid || !strings.Contains(out, "two parts named") {
		t.Errorf("exit %d\n%s", code, out)
	}
	if out, _ := runIn(t, dir, "survey", "history", "--family", "K-0001", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("answers were stored from a refused workbook:\n%s", out)
	}
}

func mustCodebook(t *testing.T) []byte {
	t.Helper()
	out, err := rctCmd(t, t.TempDir(), "codebook", "example").Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDatabaseAloneRevealsNoArm: the adversary holds a simulated trial's
// database after everything (enrolment, randomization, the three waves,
// the case managers' log, both registers, outcomes, keyed analyses) and
// asks every table, and every subset of it by a column of few values
// (wave, kind, variable, event, rule, ...), which families it holds and
// how many rows, by group code; and the sealed blobs how large they are.
// Nothing may tell the groups apart the way the log did in the clear (all
// of one group, none of the other). Every table must be placed, so a new
// one cannot escape the question. As a control, the same questions find
// the log an older rct stored readable.
func TestDatabaseAloneRevealsNoArm(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r := simulatedTrial(t, 60, 5)
	r.must("analyze", "--key", r.path("trial.key"), "--draws", "100")
	r.must("data", "export", "-o", r.path("arms.csv"), "--key", r.path("trial.key"))
	db, err := sql.Open("sqlite", r.path("trial.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range separating(t, db) {
		t.Error(f)
	}
	sizes := map[int]int{}
	sr, _ := db.Query(`SELECT length(blob) FROM sealed_log`)
	for sr.Next() {
		var n int
		sr.Scan(&n)
		sizes[n]++
	}
	sr.Close()
	if len(sizes) != 1 {
		t.Errorf("sealed months of %d different sizes: %v", len(sizes), sizes)
	}
	var batchRows int
	db.QueryRow(`SELECT COALESCE(sum(rows_read), 0) FROM import_batches WHERE kind = 'caselog'`).Scan(&batchRows)
	if batchRows != 0 {
		t.Errorf("the log's import counts %d rows in the clear", batchRows)
	}
	// The control: the log of the intervention group (here: group A's
	// families) stored readable, as before it was sealed.
	if _, err := db.Exec(`INSERT INTO survey_responses (family, wave, period, first_batch)
		SELECT family, 'caselog', '2017-03', (SELECT min(id) FROM import_batches) FROM allocations WHERE group_code = 'A'`); err != nil {
		t.Fatal(err)
	}
	if f := separating(t, db); len(f) == 0 || !strings.Contains(strings.Join(f, " "), "wave = 'caselog'") {
		t.Errorf("the readable log of one group was not found: %q", f)
	}
}

// separating asks every table of a trial database which families it holds,
// whole and by each column of few values, and returns what tells the two
// groups apart.
func separating(t *testing.T, db *sql.DB) []string {
	t.Helper()
	// How each table reaches a family, or why it holds no family.
	reach := map[string]string{
		"families":           "id",
		"family_strata":      "family",
		"persons":            "family",
		"allocations":        "family",
		"chain":              "family",
		"events":             "family",
		"survey_responses":   "family",
		"survey_answer_sets": "family",
		"survey_warnings":    "family",
		"outcome_values":     "family",
		"user_families":      "family",
		"referrals":          "(SELECT id FROM families f WHERE f.referral = referrals.id)",
		"register_links":     "(SELECT family FROM persons p WHERE p.id = register_links.person)",
		"register_events":    "(SELECT p.family FROM register_links l JOIN persons p ON p.id = l.person WHERE l.id = register_events.link)",
	}
	noFamily := map[string]string{
		"trial_meta":        "the trial's settings and sealed values",
		"protocol_versions": "the protocol text",
		"import_batches":    "files imported (the log's rows are not counted in the clear)",
		"groups":            "group codes and ratio parts (unequal ratios are warned about)",
		"codebooks":         "the codebook text",
		"survey_batches":    "form, codebook version and sheet of each import",
		"schema_migrations": "the schema",
		"sealed_log":        "one sealed blob per month, padded to a size set by all randomized families",
		"users":             "accounts of rct serve: names, roles, password hashes",
	}
	groupOf := map[int64]string{}
	size := map[string]int{}
	gr, err := db.Query(`SELECT family, group_code FROM allocations`)
	if err != nil {
		t.Fatal(err)
	}
	for gr.Next() {
		var f int64
		var g string
		gr.Scan(&f, &g)
		groupOf[f] = g
		size[g]++
	}
	gr.Close()
	var findings []string
	// share compares the families of each group that have a row among
	// those where is true.
	share := func(table, expr, where string) {
		has := map[string]map[int64]bool{"A": {}, "B": {}}
		q, err := db.Query(`SELECT ` + expr + ` FROM ` + table + ` WHERE ` + where)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		for q.Next() {
			var f sql.NullInt64
			q.Scan(&f)
			if g, ok := groupOf[f.Int64]; f.Valid && ok {
				has[g][f.Int64] = true
			}
		}
		q.Close()
		a, b := float64(len(has["A"]))/float64(size["A"]), float64(len(has["B"]))/float64(size["B"])
		if math.Abs(a-b) > 0.5 {
			findings = append(findings, fmt.Sprintf("%s WHERE %s holds rows for %.0f%% of group A and %.0f%% of group B", table, where, 100*a, 100*b))
		}
	}
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, table := range tables {
		expr, ok := reach[table]
		if !ok {
			if _, ok := noFamily[table]; !ok {
				findings = append(findings, "table "+table+" is not placed: say how it reaches a family, or why it holds none")
			}
			continue
		}
		share(table, expr, "1")
		cols, _ := db.Query(`SELECT name FROM pragma_table_info('` + table + `')`)
		var names []string
		for cols.Next() {
			var n string
			cols.Scan(&n)
			names = append(names, n)
		}
		cols.Close()
		for _, c := range names {
			if c == "group_code" {
				continue // the group itself: known by design, not the arm
			}
			var distinct int
			db.QueryRow(`SELECT count(DISTINCT ` + c + `) FROM ` + table).Scan(&distinct)
			if distinct < 2 || distinct > 60 {
				continue
			}
			vals, _ := db.Query(`SELECT DISTINCT quote(` + c + `) FROM ` + table)
			var vs []string
			for vals.Next() {
				var v string
				vals.Scan(&v)
				vs = append(vs, v)
			}
			vals.Close()
			for _, v := range vs {
				share(table, expr, c+" = "+v)
			}
		}
	}
	return findings
}
