package main

import (
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rct-trials/rct/internal/files"
	"github.com/rct-trials/rct/trial"
)

// outputs checks the files a command is about to write: none may be one of
// the trial's own files — the database with its -wal, -shm and -journal,
// the two key files and the witness (beside the database, and any given
// with --key or --pseudo-key) — whatever the spelling of the path
// (relative, ./, absolute, through a symbolic link or a hard link), with or
// without --force; and an existing file is replaced only with force (a
// template on disk may hold an interviewer's answers).
func (f *factory) outputs(force bool, keys []string, paths ...string) error {
	protected := f.protected(keys)
	for _, p := range paths {
		if p == "" {
			continue
		}
		for _, q := range protected {
			if samePath(p, q) {
				return usagef("%s is the trial's own file (%s): rct never writes over it, with or without --force", p, q)
			}
		}
		if _, err := os.Stat(p); err == nil && !force {
			return usagef("%s exists (it may hold answers): choose another name, or give --force", p)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// protected lists the trial's own files: the database and its companions,
// the key files beside it and those named on the command line, and each
// allocation key's witness.
func (f *factory) protected(keys []string) []string {
	db := f.dbPath()
	out := []string{db, db + "-wal", db + "-shm", db + "-journal"}
	keys = append(keys, siblingPath(db, ".key"), siblingPath(db, ".pseudo.key"), f.Getenv("RCT_PSEUDO_KEY"))
	for _, k := range keys {
		if k != "" {
			out = append(out, k, trial.WitnessPath(k))
		}
	}
	return out
}

// samePath reports whether two paths name the same file: the same file on
// disk (hard links and symbolic links included) when both exist, else the
// same absolute path once the symbolic links of its folders are resolved.
func samePath(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	return resolve(a) == resolve(b)
}

// resolve is a path made absolute, with the symbolic links of its longest
// existing prefix resolved.
func resolve(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest)
		}
		if dir == filepath.Dir(dir) {
			return abs
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// writeAtomic writes a file through a temporary one in the same folder,
// renamed into place only when complete: a failed write leaves no
// half-written file, and a symbolic link in its place is replaced, not
// followed. Outputs hold trial data: readable by their owner only.
func writeAtomic(path string, fill func(w io.Writer) error) error {
	// A folder named in -o is made, as mkdir -p would: only now, when the
	// command has done its work and has something to write.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return files.WriteAtomic(path, 0o600, files.Replace, fill)
}

// twoDecimals writes a measure for people: at most two decimals, no
// trailing zeros (1.33, not 1.333333333333334; 2, not 2.00).
func twoDecimals(x float64) string {
	return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
}
