package trial

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// rowCount counts a table's rows as db sees them (a reader or the writer).
func rowCount(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReadersOneSnapshot: readers see the database as it was when they
// were opened, all of them the same, whatever is committed afterwards;
// they refuse writes, and the writer is not held up by them.
func TestReadersOneSnapshot(t *testing.T) {
	tt := newTestTrial(t)
	ctx := context.Background()
	meta := func(db *DB) int { return rowCount(t, db, "trial_meta") }
	before := meta(tt.db)
	rs, release, err := tt.db.openReaders(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tt.db.SQL().ExecContext(ctx, `INSERT INTO trial_meta (key, value) VALUES ('readers-test', 'x')`); err != nil {
		t.Fatalf("a write while readers are open: %v", err)
	}
	for i, r := range rs {
		if n := meta(r); n != before {
			t.Errorf("reader %d sees %d rows of trial_meta, the snapshot had %d", i, n, before)
		}
		if err := r.Write(ctx, nil); !errors.Is(err, ErrReadOnly) {
			t.Errorf("reader %d writes: %v", i, err)
		}
	}
	release()
	rs, release, err = tt.db.openReaders(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if n := meta(rs[0]); n != before+1 {
		t.Errorf("a new reader sees %d rows, want %d", n, before+1)
	}
}

// TestArmsReadBeside: what a keyed use reads beside the chain's
// verification is read on the snapshot verified (before the use's own
// entry); a failed read fails the use and adds nothing to the chain; and a
// chain that does not verify is what is reported, whatever the read says.
func TestArmsReadBeside(t *testing.T) {
	tt, k := attackTrial(t)
	ctx := context.Background()
	entries := func(db *DB) int { return rowCount(t, db, "chain") }
	before := entries(tt.db)
	seen := -1
	if _, err := tt.db.Arms(ctx, tt.p, k, "analysis", tt.actor, func(r *DB) error { seen = entries(r); return nil }); err != nil {
		t.Fatal(err)
	}
	if seen != before || entries(tt.db) != before+1 {
		t.Errorf("the read saw %d entries, the chain had %d and now has %d", seen, before, entries(tt.db))
	}
	failed := errors.New("the log does not open")
	if _, err := tt.db.Arms(ctx, tt.p, k, "analysis", tt.actor, func(*DB) error { return failed }); !errors.Is(err, failed) {
		t.Errorf("a failed read: %v", err)
	}
	if n := entries(tt.db); n != before+1 {
		t.Errorf("a failed read left %d entries, want %d", n, before+1)
	}
	tt.exec(t, `UPDATE allocations SET group_code = CASE group_code WHEN 'A' THEN 'B' ELSE 'A' END WHERE slot = 1`)
	if _, err := tt.db.Arms(ctx, tt.p, k, "analysis", tt.actor, func(*DB) error { return failed }); err == nil || errors.Is(err, failed) || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("a doctored allocation: %v", err)
	}
}

// TestVerifyProgress: the chain's verification tells its progress of every
// entry walked and every family whose members are checked, and ends it
// once.
func TestVerifyProgress(t *testing.T) {
	tt, k := attackTrial(t)
	var ticks, dones int
	tt.db.Progress = func(step string, total int) (func(), func()) {
		return func() { ticks++ }, func() { dones++ }
	}
	rep, err := tt.db.VerifyChain(context.Background(), tt.p, k)
	if err != nil || len(rep.Problems) > 0 {
		t.Fatal(err, rep.Problems)
	}
	if ticks < rep.Entries+12 || dones != 1 {
		t.Errorf("%d ticks for %d entries and 12 families, done %d times", ticks, rep.Entries, dones)
	}
}

// TestSnapshotOneState: the readers of a Snapshot see one state of the
// database while another connection commits as fast as it can (or the
// handle alone is returned); a Snapshot is taken while another
// transaction holds the write lock; a read-only database is its own
// snapshot.
func TestSnapshotOneState(t *testing.T) {
	tt := newTestTrial(t)
	ctx := context.Background()
	w, err := Open(ctx, tt.db.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	stop := make(chan struct{})
	var wrote sync.WaitGroup
	wrote.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			w.SQL().ExecContext(ctx, `INSERT INTO trial_meta (key, value) VALUES (?, 'x')`, fmt.Sprint("snapshot-test-", i))
		}
	})
	split := 0
	for range 40 {
		r, release, err := tt.db.Snapshot(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		rs := r.Readers()
		if len(rs) == 3 {
			split++
		} else if len(rs) != 1 || r != tt.db {
			t.Fatalf("%d readers, want 3 (or the handle alone)", len(rs))
		}
		n := rowCount(t, rs[0], "trial_meta")
		for i, x := range rs[1:] {
			if m := rowCount(t, x, "trial_meta"); m != n {
				t.Fatalf("reader %d sees %d rows of trial_meta, reader 0 %d: two states", i+1, m, n)
			}
		}
		release()
	}
	close(stop)
	wrote.Wait()
	if split == 0 {
		t.Errorf("no snapshot of 40 had its 3 readers")
	}
	err = w.Write(ctx, func(*sql.Tx) error {
		r, release, err := tt.db.Snapshot(ctx, 2)
		if err == nil && len(r.Readers()) != 2 {
			err = fmt.Errorf("%d readers beside a write transaction, want 2", len(r.Readers()))
		}
		if err == nil {
			release()
		}
		return err
	})
	if err != nil {
		t.Errorf("a snapshot while the write lock is held: %v", err)
	}
	ro := &DB{Path: tt.db.Path, sql: tt.db.sql, ReadOnly: true}
	if r, release, err := ro.Snapshot(ctx, 2); err != nil || r != ro || len(r.Readers()) != 1 {
		t.Errorf("a read-only database: %v", err)
	} else {
		release()
	}
}
