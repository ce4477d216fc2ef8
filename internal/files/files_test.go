package files

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadBounded(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.WriteFile(small, []byte("hello"), 0o600)
	if b, err := ReadBounded(small, 10); err != nil || string(b) != "hello" {
		t.Errorf("small file: %q %v", b, err)
	}
	if _, err := ReadBounded(small, 4); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("a file over the bound: %v", err)
	}
	if _, err := ReadBounded(dir, 10); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
	start := time.Now()
	if _, err := ReadBounded("/dev/zero", 64<<10); err == nil {
		t.Error("/dev/zero was read")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("/dev/zero took %v to refuse", d)
	}
	if _, err := ReadBounded(filepath.Join(dir, "none"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	os.WriteFile(target, []byte("keep me"), 0o600)
	link := filepath.Join(dir, "out.html")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := WriteAtomic(link, 0o600, Replace, write("report")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me" {
		t.Errorf("the link's target was written: %q", b)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink != 0 {
		t.Error("the link is still there")
	}
	if err := WriteAtomic(target, 0o600, Create, write("x")); !errors.Is(err, ErrExists) {
		t.Errorf("Create over an existing file: %v", err)
	}
	if err := WriteAtomic(filepath.Join(dir, "fail"), 0o600, Replace, func(io.Writer) error { return errors.New("boom") }); err == nil {
		t.Error("a failing fill wrote")
	}
	if _, err := os.Stat(filepath.Join(dir, "fail")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a failing fill left a file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestSafeName: an uploaded file keeps its name, never a path.
func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"m6.xlsx": "m6.xlsx", "../../etc/passwd": "passwd", `C:\Users\ann\m6 (2).xlsx`: "C_Users_ann_m6_2_.xlsx",
		"..": "upload", "": "upload", "wave één.csv": "wave_n.csv"} {
		if got := SafeName(in, "upload"); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}
