// Package iostreams carries a command's standard streams and knows whether
// they are terminals: tables are aligned for a person at a terminal and
// tab-separated when piped; messages go to stderr.
package iostreams

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// IO is a command's streams.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	OutTTY bool
	ErrTTY bool
}

// System returns the process's streams.
func System() *IO {
	return &IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Printf writes a message to stderr.
func (s *IO) Printf(format string, args ...any) { fmt.Fprintf(s.ErrOut, format, args...) }

// JSON writes v to stdout as indented JSON.
func (s *IO) JSON(v any) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Table writes rows under a header: aligned columns on a terminal,
// tab-separated values otherwise (so `| cut -f2` works).
type Table struct {
	io *IO
	tw *tabwriter.Writer
}

// NewTable starts a table with the given header.
func (s *IO) NewTable(header ...string) *Table {
	t := &Table{io: s}
	if s.OutTTY {
		t.tw = tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	}
	t.Row(header...)
	return t
}

// Row adds a row.
func (t *Table) Row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
	}
	if t.tw != nil {
		fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
		return
	}
	fmt.Fprintln(t.io.Out, strings.Join(cells, "\t"))
}

// Flush writes an aligned table out.
func (t *Table) Flush() error {
	if t.tw != nil {
		return t.tw.Flush()
	}
	return nil
}
