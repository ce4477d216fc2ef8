// Package files reads and writes the small files rct keeps beside a trial
// (keys, witness, protocol, outputs) the careful way: reads are bounded and
// take regular files only, writes go through a temporary file in the same
// folder that is synced and renamed into place, so that a failed or killed
// write leaves the old file (or none), never half a file, and a symbolic
// link at the destination is replaced rather than followed.
package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// ReadBounded reads a regular file of at most max bytes. A device, a pipe,
// a directory or a larger file is refused at once: `--key /dev/zero` fails
// without reading.
func ReadBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", st.Mode().Type())
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%d bytes: larger than any file of this kind (%d at most)", st.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than any file of this kind (%d bytes at most)", max)
	}
	return b, nil
}

// ErrExists is returned by WriteAtomic with Create when the file exists.
var ErrExists = errors.New("already exists")

// Mode says how WriteAtomic puts the file in place.
type Mode int

const (
	// Replace renames the new file over whatever is there.
	Replace Mode = iota
	// Create links the new file into place only if nothing is there.
	Create
)

// WriteAtomic writes path through a temporary file in its folder: fill
// writes the content, the file gets perm, is synced, and is then renamed
// into place (Replace) or linked there if the name is free (Create).
func WriteAtomic(path string, perm fs.FileMode, mode Mode, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if mode == Create {
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return ErrExists
			}
			return err
		}
		return nil
	}
	return os.Rename(tmp.Name(), path)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SafeName makes a name a file name of its own: its base name, with runs
// of anything but ASCII letters, digits, dot, dash and underscore made an
// underscore; fallback when nothing usable is left.
func SafeName(s, fallback string) string {
	s = unsafeChars.ReplaceAllString(filepath.Base(s), "_")
	if s == "" || s == "." || s == ".." {
		return fallback
	}
	return s
}
