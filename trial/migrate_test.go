package trial

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMigrationFromSchema5: a database of schema 5 with a chain and
// allocations opens under schema 6: the chain table is rebuilt with its
// rows and the allocations still refer to it.
func TestMigrationFromSchema5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s := oldSchema(t, path, 5)
	for _, q := range []string{
		`INSERT INTO import_batches VALUES (1, 'referrals', 'f.csv', 'x', 1, 'me', 'now')`,
		`INSERT INTO referrals (id, referral_id, referred_on, batch, source_row, content_sha256, weak_domains, domains, outcome) VALUES (1, 'R1', '2017-01-01', 1, 2, 'x', 3, '{}', 'enrolled')`,
		`INSERT INTO families VALUES (1, 'K-0001', 1, '2017-01-01')`,
		`INSERT INTO groups VALUES ('A', 0, 1), ('B', 1, 1)`,
		`INSERT INTO chain VALUES (1, 'allocate', 1, '{}', 'p', 'h', 'm')`,
		`INSERT INTO allocations VALUES (1, 1, 'A', '', 0, '2017-01-01', 1)`,
	} {
		if _, err := s.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, fk int
	db.SQL().QueryRow(`SELECT count(*) FROM chain c JOIN allocations a ON a.chain_seq = c.seq`).Scan(&n)
	db.SQL().QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk)
	var on int
	db.SQL().QueryRow(`PRAGMA foreign_keys`).Scan(&on)
	if n != 1 || fk != 0 || on != 1 {
		t.Errorf("after the migration: %d allocations joined to the chain, %d broken keys, foreign keys %d", n, fk, on)
	}
	if _, err := db.SQL().Exec(`INSERT INTO chain VALUES (2, 'init', NULL, '{}', 'p', 'h', 'm')`); err != nil {
		t.Errorf("the rebuilt chain refuses the init kind: %v", err)
	}
}

// oldSchema creates a database at path with the migrations up to version
// applied, as an older rct left it, and returns it open.
func oldSchema(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	s, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, m := range Migrations() {
		if m.Version > version {
			break
		}
		if _, err := s.Exec(m.SQL); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Exec(`INSERT INTO schema_migrations VALUES (?, ?, ?, '2019-01-01T00:00:00Z')`, m.Version, m.Name, shaHex(m.SQL)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func shaHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestDeletedDataIsOverwritten: what rct deletes does not stay readable in
// the file's free pages (secure_delete), once the write-ahead log is
// checkpointed.
func TestDeletedDataIsOverwritten(t *testing.T) {
	tt := newTestTrial(t)
	marker := "Zzyzx-deleted-name"
	tt.exec(t, `INSERT INTO import_batches VALUES (99, 'referrals', 'f.csv', 'x', 1, 'me', 'now')`,
		`INSERT INTO events (at, actor, kind, detail) VALUES ('now', 'me', 'test', '"`+strings.Repeat(marker, 200)+`"')`,
		`PRAGMA wal_checkpoint(TRUNCATE)`)
	tt.exec(t, `DELETE FROM events WHERE kind = 'test'`, `PRAGMA wal_checkpoint(TRUNCATE)`)
	for _, f := range []string{"trial.db", "trial.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(tt.dir, f))
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s still holds the deleted text", f)
		}
	}
}

// TestReadOnlyDatabase: a database opened read-only (as Open does when
// this user cannot write it: an archive, read-only media) serves what only
// reads, refuses writes with ErrReadOnly, and is refused while changes
// wait in its -wal.
func TestReadOnlyDatabase(t *testing.T) {
	tt, k := enrolledTrial(t, 4)
	ctx := context.Background()
	if _, err := tt.randomize(t, k); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(tt.dir, "trial.db")
	if _, err := OpenReadOnly(ctx, path); err == nil || !strings.Contains(err.Error(), "not yet written into it") {
		t.Errorf("read-only with a -wal in use: %v", err)
	}
	tt.exec(t, `PRAGMA wal_checkpoint(TRUNCATE)`)
	tt.db.Close()
	db, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s, err := db.Status(ctx); err != nil || s.Randomized != 4 {
		t.Errorf("status: %+v %v", s, err)
	}
	if rep, err := db.VerifyChain(ctx, tt.p, k); err != nil || len(rep.Problems) > 0 {
		t.Errorf("verify: %+v %v", rep, err)
	}
	if _, err := db.Withdraw(ctx, tt.p, k, "K-0001", "x", tt.actor); !errors.Is(err, ErrReadOnly) {
		t.Errorf("a write: %v", err)
	}
}

// TestMigrationPacksEveryAnswer: the answers of a database of schema 7,
// one row per version, are every one of them in the survey_values view
// after the migration to answer sets: versions, blanked ones, the batch and
// row each came from, texts with JSON's own characters, bytes beyond ASCII.
func TestMigrationPacksEveryAnswer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s := oldSchema(t, path, 7)
	for _, q := range []string{
		`INSERT INTO import_batches VALUES (1, 'referrals', 'f.csv', 'x', 2, 'me', 'now'), (2, 'survey', 'a.xlsx', 'y', 2, 'me', 'now'), (3, 'survey', 'b.xlsx', 'z', 1, 'me', 'now')`,
		`INSERT INTO referrals (id, referral_id, referred_on, batch, source_row, content_sha256, weak_domains, domains, outcome) VALUES (1, 'R1', '2017-01-01', 1, 2, 'x', 3, '{}', 'enrolled'), (2, 'R2', '2017-01-01', 1, 3, 'x', 3, '{}', 'enrolled')`,
		`INSERT INTO families VALUES (1, 'K-0001', 1, '2017-01-01'), (2, 'K-0002', 2, '2017-01-01')`,
		`INSERT INTO survey_responses VALUES (1, 'm6', '', 2), (2, 'm6', '', 2), (2, 'caselog', '2017-03', 3)`,
		`INSERT INTO survey_values VALUES
			(1, 'm6', '', 'interview_date', 1, '2017-07-01', 2, 2),
			(1, 'm6', '', 'hh_size', 1, '4', 2, 2),
			(1, 'm6', '', 'hh_size', 2, '5', 3, 7),
			(1, 'm6', '', 'note', 1, '"],["x",9,"' || char(10) || '\ é', 2, 2),
			(1, 'm6', '', 'note', 2, NULL, 3, 7),
			(2, 'm6', '', 'interview_date', 1, '2017-07-02', 2, 3),
			(2, 'm6', '', 'rent', 1, '', 2, 3),
			(2, 'caselog', '2017-03', 'contacts', 1, '3', 3, 2)`,
	} {
		if _, err := s.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const all = `SELECT family, wave, period, variable, version, value, batch, source_row FROM survey_values ORDER BY family, wave, period, variable, version`
	read := func(q interface {
		Query(string, ...any) (*sql.Rows, error)
	}) []string {
		rows, err := q.Query(all)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var fam, version, batch, row int64
			var wave, period, variable string
			var value sql.NullString
			if err := rows.Scan(&fam, &wave, &period, &variable, &version, &value, &batch, &row); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%d %s %q %s %d %q %v %d %d", fam, wave, period, variable, version, value.String, value.Valid, batch, row))
		}
		return out
	}
	before := read(s)
	s.Close()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	after := read(db.SQL())
	if len(before) != 8 || !slices.Equal(after, before) {
		t.Errorf("after the migration:\n%s\nbefore:\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
	var sets int
	db.SQL().QueryRow(`SELECT count(*) FROM survey_answer_sets`).Scan(&sets)
	if sets != 4 { // family 1: batches 2 and 3; family 2: m6 and caselog
		t.Errorf("%d answer sets, want 4", sets)
	}
}
