package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// refuseOverwrite refuses to replace an existing file unless forced: a
// template on disk may already hold an interviewer's answers.
func refuseOverwrite(path string, force bool) error {
	if _, err := os.Stat(path); err == nil && !force {
		return usagef("%s exists (it may hold answers): choose another name, or give --force", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// writeAtomic writes a file through a temporary one in the same folder,
// renamed into place only when complete: a failed write leaves no
// half-written file.
func writeAtomic(path string, fill func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
