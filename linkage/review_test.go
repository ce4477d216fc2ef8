package linkage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/trialtest"
	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
	"github.com/xuri/excelize/v2"
)

// TestReview exports links under clerical review, applies a reviewer's
// decisions and checks what is kept: a match links, a no-match rejects and
// drops the events, a blank waits; the register's identifying fields go
// once decided; a decision is not changed by a later workbook.
func TestReview(t *testing.T) {
	ctx := context.Background()
	actor := trial.Actor{Name: "reviewer", Now: func() time.Time { return time.Date(2019, 6, 30, 12, 0, 0, 0, time.UTC) }}
	tt := trialtest.New(t, actor)
	dir, p, db := tt.Dir, tt.P, tt.DB
	cfg := simulate.DefaultConfig()
	cfg.Families = 10
	ref := filepath.Join(dir, "ref.xlsx")
	if err := simulate.WriteReferralsXLSX(ref, p, simulate.Referrals(cfg, p)); err != nil {
		t.Fatal(err)
	}
	tt.EnrollFile(t, ref, actor)
	// Three links under review, each with an event.
	exec := func(q string, args ...any) {
		if _, err := db.SQL().ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO import_batches (kind, file_name, file_sha256, rows_read, imported_by, imported_at) VALUES ('register:ocmw', 'x.csv', 'h', 3, 't', '2019-06-01T10:00:00Z')`)
	for i := 1; i <= 3; i++ {
		exec(`INSERT INTO register_links (batch, register, person, tier, weight, probability, status, first_name, last_name, birth_date, postcode)
			VALUES (1, 'ocmw', ?, 1, 5.5, 0.8, 'review', 'Helene', '=Vandenbroucke', '1985-07-30', '8500')`, i)
		exec(`INSERT INTO register_events (link, register, event, start_date, source_row) VALUES (?, 'ocmw', 'supplementary_aid', '2017-05-01', ?)`, i, i+1)
	}
	pairs, err := ReviewPairs(ctx, db)
	if err != nil || len(pairs) != 3 {
		t.Fatal(err, pairs)
	}
	var b bytes.Buffer
	if err := WriteReview(&b, pairs); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := x.GetCellFormula(ReviewSheet, "L2"); f != "" {
		t.Errorf("a name starting with = became a formula: %q", f)
	}
	decide := func(name string, ds ...string) string {
		for i, d := range ds {
			x.SetCellStr(ReviewSheet, "O"+string(rune('2'+i)), d)
		}
		path := filepath.Join(dir, name)
		if err := x.SaveAs(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	res, err := ApplyReview(ctx, db, decide("r1.xlsx", "match", "no match", ""), actor)
	if err != nil || res.Linked != 1 || res.Rejected != 1 || res.Undecided != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	var status string
	var names, events int
	db.SQL().QueryRow(`SELECT status FROM register_links WHERE id = ?`, pairs[0].Link).Scan(&status)
	db.SQL().QueryRow(`SELECT count(*) FROM register_links WHERE first_name IS NOT NULL`).Scan(&names)
	db.SQL().QueryRow(`SELECT count(*) FROM register_events`).Scan(&events)
	if status != "linked" || names != 1 || events != 2 {
		t.Errorf("status %s, %d links keep names, %d events", status, names, events)
	}
	// The same workbook again changes nothing; reversing a decision is refused.
	if res, err := ApplyReview(ctx, db, filepath.Join(dir, "r1.xlsx"), actor); err != nil || res.Unchanged != 2 {
		t.Errorf("again: %v %+v", err, res)
	}
	for _, c := range []struct{ name, decision, want string }{
		{"reverse.xlsx", "no match", "was decided before (linked)"},
		{"bad.xlsx", "maybe", `row 2 column O (decision): decision "maybe"`},
	} {
		_, err := ApplyReview(ctx, db, decide(c.name, c.decision), actor)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	csv := filepath.Join(dir, "r.csv")
	os.WriteFile(csv, []byte("link,decision\n999,match\n"), 0o644)
	if _, err := ApplyReview(ctx, db, csv, actor); err == nil || !strings.Contains(err.Error(), "link 999 is not a link of this trial") {
		t.Errorf("unknown link: %v", err)
	}
	// The pair nobody decided: kept while younger than the cutoff, then
	// purged with its names and events.
	if res, err := PurgeReview(ctx, db, time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC), actor); err != nil || res.Purged != 0 || res.Kept != 1 {
		t.Errorf("purge before the import: %+v %v", res, err)
	}
	if res, err := PurgeReview(ctx, db, time.Time{}, actor); err != nil || res.Purged != 1 {
		t.Errorf("purge: %+v %v", res, err)
	}
	db.SQL().QueryRow(`SELECT count(*) FROM register_links WHERE first_name IS NOT NULL OR last_name IS NOT NULL OR birth_date IS NOT NULL OR postcode IS NOT NULL`).Scan(&names)
	db.SQL().QueryRow(`SELECT count(*) FROM register_events`).Scan(&events)
	if names != 0 || events != 1 {
		t.Errorf("after the purge: %d links keep names, %d events (the linked pair's)", names, events)
	}
	if pairs, _ := ReviewPairs(ctx, db); len(pairs) != 0 {
		t.Errorf("%d pairs still under review", len(pairs))
	}
}

// TestFixedParameters: the protocol's levels are the model's, and fixed m,
// u and lambda replace the estimates of those fields only.
func TestFixedParameters(t *testing.T) {
	for f, name := range FieldNames {
		if trial.LinkageLevels[name] != Levels[f] {
			t.Errorf("%s: the protocol says %d levels, the model has %d", name, trial.LinkageLevels[name], Levels[f])
		}
	}
	var m Model
	for f := range m.M {
		m.M[f] = make([]float64, Levels[f])
		m.U[f] = make([]float64, Levels[f])
	}
	m.Lambda = 0.2
	fixed := m.Fix(&trial.LinkageParams{Lambda: 0.01, M: map[string][]float64{"postcode": {0.9, 0.1}}, U: map[string][]float64{"last_name": {0.01, 0.01, 0.02, 0.96}}})
	if strings.Join(fixed, ",") != "u.last_name,m.postcode,lambda" || m.M[FieldPostcode][0] != 0.9 || m.U[FieldLast][3] != 0.96 || m.Lambda != 0.01 || m.M[FieldLast][0] != 0 {
		t.Errorf("fixed %v, model %+v", fixed, m)
	}
	if m.Fix(nil) != nil {
		t.Error("nothing fixed without parameters")
	}
}
