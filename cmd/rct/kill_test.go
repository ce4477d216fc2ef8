package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
)

// rctCmd runs this test binary as rct (see TestMain) in dir.
func rctCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "RCT_TEST_MAIN=1", "RCT_NOW=2019-06-30T12:00:00Z", "RCT_USER=killer")
	return c
}

func mustRun(t *testing.T, dir string, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	if out, err := rctCmd(t, dir, args...).CombinedOutput(); err != nil {
		t.Fatalf("rct %v: %v\n%s", args, err, out)
	}
	return time.Since(start)
}

// killAt starts rct, kills it with SIGKILL after d, and waits for it.
// It reports whether the command finished before the kill.
func killAt(t *testing.T, dir string, d time.Duration, args ...string) bool {
	t.Helper()
	c := rctCmd(t, dir, args...)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		return err == nil
	case <-time.After(d):
		c.Process.Signal(syscall.SIGKILL)
		<-done
		return false
	}
}

func countRows(t *testing.T, db *trial.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func integrity(t *testing.T, db *trial.DB) {
	t.Helper()
	var s string
	if err := db.SQL().QueryRow("PRAGMA integrity_check").Scan(&s); err != nil || s != "ok" {
		t.Fatalf("integrity_check: %q %v", s, err)
	}
	if err := db.SQL().QueryRow("PRAGMA foreign_key_check").Scan(&s); err == nil {
		t.Fatalf("foreign_key_check found a dangling reference in %s", s)
	}
}

// TestKilledCommandsLeaveDatabaseWhole kills init, enroll and amend with
// SIGKILL at random moments: the database is always as before the command
// or as after it, never in between.
func TestKilledCommandsLeaveDatabaseWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	ctx := context.Background()
	src := t.TempDir()
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Families = 3000
	rows := simulate.Referrals(cfg, p)
	if err := os.WriteFile(filepath.Join(src, "trial.yaml"), trial.ExampleProtocol(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := simulate.WriteReferralsXLSX(filepath.Join(src, "referrals.xlsx"), p, rows); err != nil {
		t.Fatal(err)
	}

	t.Run("init", func(t *testing.T) {
		full := mustRun(t, t.TempDir(), "init", "--protocol", filepath.Join(src, "trial.yaml"))
		for i := 0; i < 10; i++ {
			dir := t.TempDir()
			finished := killAt(t, dir, time.Duration(rng.Float64()*1.2*float64(full)), "init", "--protocol", filepath.Join(src, "trial.yaml"))
			if _, err := os.Stat(filepath.Join(dir, "trial.db")); err != nil {
				if finished {
					t.Fatal("init finished but left no database")
				}
				continue // before: no database
			}
			for _, k := range []string{"trial.key", "trial.pseudo.key"} {
				if _, err := os.Stat(filepath.Join(dir, k)); err != nil {
					t.Fatalf("a database without its key file %s", k)
				}
			}
			db, err := trial.Open(ctx, filepath.Join(dir, "trial.db"))
			if err != nil {
				t.Fatal(err)
			}
			integrity(t, db)
			if n := countRows(t, db, "protocol_versions"); n != 1 {
				t.Errorf("a database with %d protocol versions", n)
			}
			db.Close()
		}
	})

	t.Run("enroll", func(t *testing.T) {
		// One complete run, to know how long the command takes.
		ref := t.TempDir()
		mustRun(t, ref, "init", "--protocol", filepath.Join(src, "trial.yaml"))
		full := mustRun(t, ref, "enroll", filepath.Join(src, "referrals.xlsx"))
		db, _ := trial.Open(ctx, filepath.Join(ref, "trial.db"))
		wantRefs, wantPersons := countRows(t, db, "referrals"), countRows(t, db, "persons")
		db.Close()

		dir := t.TempDir()
		mustRun(t, dir, "init", "--protocol", filepath.Join(src, "trial.yaml"))
		pristine, err := os.ReadFile(filepath.Join(dir, "trial.db"))
		if err != nil {
			t.Fatal(err)
		}
		kills, completes, after := 0, 0, 0
		for i := 0; i < 16; i++ {
			// Half the kills land anywhere, half near the end, where the
			// transaction commits.
			at := rng.Float64() * 1.1
			if i%2 == 1 {
				at = 0.8 + 0.4*rng.Float64()
			}
			if killAt(t, dir, time.Duration(at*float64(full)), "enroll", filepath.Join(src, "referrals.xlsx")) {
				completes++
			} else {
				kills++
			}
			db, err := trial.Open(ctx, filepath.Join(dir, "trial.db"))
			if err != nil {
				t.Fatal(err)
			}
			integrity(t, db)
			r, pers := countRows(t, db, "referrals"), countRows(t, db, "persons")
			db.Close()
			if r == wantRefs {
				// Start the next round from before the command again.
				after++
				os.Remove(filepath.Join(dir, "trial.db-wal"))
				os.Remove(filepath.Join(dir, "trial.db-shm"))
				if err := os.WriteFile(filepath.Join(dir, "trial.db"), pristine, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if !(r == 0 && pers == 0) && !(r == wantRefs && pers == wantPersons) {
				t.Fatalf("after a kill: %d referrals and %d persons; want 0 and 0, or %d and %d", r, pers, wantRefs, wantPersons)
			}
		}
		t.Logf("enroll of %d rows takes %v; %d runs killed, %d completed; the database was as after the command %d times", len(rows), full, kills, completes, after)
		if kills == 0 {
			t.Error("no run was killed mid-way: the test proved nothing")
		}
	})

	t.Run("randomize", func(t *testing.T) {
		dir := enrolledDir(t, 2500)
		pristine, err := os.ReadFile(filepath.Join(dir, "trial.db"))
		if err != nil {
			t.Fatal(err)
		}
		// Going back to the enrolled trial is a rollback: the witness
		// beside the key goes back with it (the key holder's own restore).
		witness, err := os.ReadFile(filepath.Join(dir, "trial.witness"))
		if err != nil {
			t.Fatal(err)
		}
		restore := func() {
			os.Remove(filepath.Join(dir, "trial.db-wal"))
			os.Remove(filepath.Join(dir, "trial.db-shm"))
			if err := os.WriteFile(filepath.Join(dir, "trial.db"), pristine, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "trial.witness"), witness, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		full := mustRun(t, dir, "randomize", "--key", "trial.key", "--pending")
		db, _ := trial.Open(ctx, filepath.Join(dir, "trial.db"))
		want := countRows(t, db, "allocations")
		db.Close()
		restore()
		after := 0
		for i := 0; i < 10; i++ {
			at := rng.Float64() * 1.1
			if i%2 == 1 {
				at = 0.8 + 0.4*rng.Float64()
			}
			killAt(t, dir, time.Duration(at*float64(full)), "randomize", "--key", "trial.key", "--pending")
			db, err := trial.Open(ctx, filepath.Join(dir, "trial.db"))
			if err != nil {
				t.Fatal(err)
			}
			integrity(t, db)
			n, c := countRows(t, db, "allocations"), countRows(t, db, "chain WHERE kind = 'allocate'")
			p, _, _ := db.Protocol(ctx)
			rep, err := db.VerifyChain(ctx, p, nil)
			if err == nil && len(rep.Problems) == 0 {
				// With the key: the witness, written before the commit,
				// agrees with whichever state the kill left.
				var k *trial.AllocationKey
				if k, err = db.VerifyAllocationKey(ctx, filepath.Join(dir, "trial.key")); err == nil {
					rep, err = db.VerifyChain(ctx, p, k)
				}
			}
			db.Close()
			if err != nil || len(rep.Problems) > 0 {
				t.Fatalf("chain after a kill: %+v %v", rep, err)
			}
			if !(n == 0 && c == 0) && !(n == want && c == want) {
				t.Fatalf("after a kill: %d allocations and %d chain entries; want 0 or %d", n, c, want)
			}
			if n == want {
				after++
				restore()
			}
		}
		t.Logf("randomize of %d families takes %v; the database was as after the command %d of 10 times", want, full, after)
	})

	t.Run("amend", func(t *testing.T) {
		dir := t.TempDir()
		mustRun(t, dir, "init", "--protocol", filepath.Join(src, "trial.yaml"))
		amended := filepath.Join(dir, "amended.yaml")
		os.WriteFile(amended, append(trial.ExampleProtocol(), []byte("\n# amended\n")...), 0o644)
		full := mustRun(t, t.TempDir(), "init", "--protocol", filepath.Join(src, "trial.yaml"))
		for i := 0; i < 8; i++ {
			killAt(t, dir, time.Duration(rng.Float64()*1.5*float64(full)), "protocol", "amend", "--protocol", amended, "--reason", "test")
			db, err := trial.Open(ctx, filepath.Join(dir, "trial.db"))
			if err != nil {
				t.Fatal(err)
			}
			integrity(t, db)
			n, e := countRows(t, db, "protocol_versions"), countRows(t, db, "events WHERE kind = 'amend'")
			db.Close()
			if n-1 != e || n > 2 {
				t.Fatalf("%d protocol versions and %d amend events", n, e)
			}
		}
	})
}
