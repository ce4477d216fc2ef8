package trial

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

// TestWriteBulk: a bulk write commits and rolls back as Write does, reads
// its pages without the memory map, and gives its connection the map back.
func TestWriteBulk(t *testing.T) {
	tt := newTestTrial(t)
	ctx := context.Background()
	tt.db.SQL().SetMaxOpenConns(1) // the connection after the write is the one it used
	mmapSize := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) int64 {
		var n int64
		if err := q.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := mmapSize(tt.db.SQL()); n != 2147418112 {
		t.Fatalf("mmap_size %d before the write", n)
	}
	count := func() (n int) {
		tt.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM trial_meta WHERE key LIKE 'bulk%'`).Scan(&n)
		return n
	}
	failed := errors.New("failed")
	err := tt.db.WriteBulk(ctx, func(tx *sql.Tx) error {
		if n := mmapSize(tx); n != 0 {
			t.Errorf("mmap_size %d in a bulk write", n)
		}
		if _, err := tx.Exec(`INSERT INTO trial_meta (key, value) VALUES ('bulk1', 'x')`); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) || count() != 0 {
		t.Errorf("a failed bulk write: %v, %d rows kept", err, count())
	}
	if err := tt.db.WriteBulk(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO trial_meta (key, value) VALUES ('bulk2', 'x')`)
		return err
	}); err != nil || count() != 1 {
		t.Errorf("a bulk write: %v, %d rows", err, count())
	}
	if n := mmapSize(tt.db.SQL()); n != 2147418112 {
		t.Errorf("mmap_size %d after the write", n)
	}
}
