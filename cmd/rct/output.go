package main

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/rct-trials/rct/internal/files"
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
// half-written file, and a symbolic link in its place is replaced, not
// followed. Outputs hold trial data: readable by their owner only.
func writeAtomic(path string, fill func(w io.Writer) error) error {
	return files.WriteAtomic(path, 0o600, files.Replace, fill)
}
