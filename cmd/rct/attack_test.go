package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
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
