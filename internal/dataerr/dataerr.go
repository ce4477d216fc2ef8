// Package dataerr describes problems in the data files users bring
// (protocol, referral workbooks, survey responses, register extracts) by
// their place: file, sheet, row and column, or line. The command layer maps
// every such error to exit code 3 ("invalid input data").
package dataerr

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Error is one problem at one place in a data file.
type Error struct {
	File   string // the file as the user named it
	Sheet  string // worksheet of an XLSX file; empty for CSV and YAML
	Line   int    // 1-based line of a text file (YAML); 0 if not known
	Row    int    // 1-based spreadsheet row (CSV record); 0 if not a row
	Col    int    // 1-based column; 0 if the whole row
	Column string // the column's header, if known
	Err    error
}

// Error formats the place and the problem:
// `referrals.xlsx: sheet "referrals" row 14 column F (birth_date): impossible date "31/02/2020"`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Place())
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Place is the position part of the message, without the problem.
func (e *Error) Place() string {
	var parts []string
	if e.File != "" {
		parts = append(parts, e.File+":")
	}
	if e.Sheet != "" {
		parts = append(parts, fmt.Sprintf("sheet %q", e.Sheet))
	}
	if e.Line > 0 {
		parts = append(parts, fmt.Sprintf("line %d", e.Line))
	}
	if e.Row > 0 {
		parts = append(parts, fmt.Sprintf("row %d", e.Row))
	}
	if e.Col > 0 {
		c := "column " + ColumnName(e.Col)
		if e.Column != "" {
			c += " (" + e.Column + ")"
		}
		parts = append(parts, c)
	} else if e.Column != "" {
		parts = append(parts, "column "+e.Column)
	}
	s := strings.Join(parts, " ")
	return strings.TrimSuffix(s, ":")
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error at a file with a formatted message.
func New(file string, format string, args ...any) *Error {
	return &Error{File: file, Err: fmt.Errorf(format, args...)}
}

// List is several problems found in one pass, in the order found. A nil or
// empty List is not an error; use Err to return it.
type List []*Error

// MaxShown is how many problems List.Error spells out before summarising.
const MaxShown = 50

// Error lists the problems one per line, at most MaxShown.
func (l List) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == MaxShown {
			fmt.Fprintf(&b, "\n... and %d more problems", len(l)-MaxShown)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns l as an error, or nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Is reports whether err is, or wraps, a data error (Error or List).
func Is(err error) bool {
	var e *Error
	var l List
	return errors.As(err, &e) || errors.As(err, &l)
}

// ColumnName is the spreadsheet name of a 1-based column: 1 → A, 27 → AA.
func ColumnName(col int) string {
	if col <= 0 {
		return ""
	}
	var b []byte
	for col > 0 {
		col--
		b = append([]byte{byte('A' + col%26)}, b...)
		col /= 26
	}
	return string(b)
}

// File is the data error for a file that could not be opened or read. An
// *os.PathError is unwrapped, so that the message names the path once:
// "trial.yaml: no such file or directory".
func File(path string, err error) *Error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &Error{File: path, Err: err}
}
