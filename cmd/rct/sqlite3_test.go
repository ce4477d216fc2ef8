package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDatabaseOpensInSQLite3Shell opens a trial database with the sqlite3
// program: the tables have readable names and the integrity check passes.
// In CI (CI=true) a missing sqlite3 is a failure, not a skip: .ci/run
// installs it.
func TestDatabaseOpensInSQLite3Shell(t *testing.T) {
	shell, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sqlite3 is not installed; .ci/run installs it")
		}
		t.Skip("sqlite3 not installed (apt-get install sqlite3)")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "trial.yaml"), mustExample(t), 0o644)
	mustRun(t, dir, "init", "--protocol", "trial.yaml")
	out, err := exec.Command(shell, filepath.Join(dir, "trial.db"), ".tables", "PRAGMA integrity_check;", "SELECT amendment, reason FROM protocol_versions;").CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	for _, table := range []string{"families", "persons", "referrals", "protocol_versions", "import_batches", "events", "trial_meta", "family_strata", "schema_migrations"} {
		if !strings.Contains(string(out), table) {
			t.Errorf("sqlite3 .tables does not list %s:\n%s", table, out)
		}
	}
	if !strings.Contains(string(out), "ok\n0|initial protocol") {
		t.Errorf("unexpected sqlite3 output:\n%s", out)
	}
}

func mustExample(t *testing.T) []byte {
	t.Helper()
	out, err := rctCmd(t, t.TempDir(), "protocol", "example").Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
