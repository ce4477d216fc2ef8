// Package sheet reads the tables users bring, from XLSX workbooks (written
// by Excel, LibreOffice, openpyxl or excelize) or CSV files (comma,
// semicolon or tab separated), as a stream of rows under a header, and turns
// cell text into values (dates, numbers) with errors that name the file,
// sheet, row and column. It also writes plain tables of text as CSV (every
// cell defused against formula injection) or as XLSX sheets (WriteCSV,
// WriteXLSX).
package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rct-trials/rct/internal/dataerr"
)

// Limits on what a workbook may unzip to. A zip bomb declares a larger size
// and is refused before anything is extracted.
const (
	UnzipSizeLimit = 2 << 30 // total uncompressed size of a workbook
)

// ErrNoSheet is returned when the workbook has no sheet of the name asked for.
var ErrNoSheet = errors.New("no sheet")

// Options choose what to read.
type Options struct {
	// Sheet is the worksheet to read. Empty: the sheet named Prefer if the
	// workbook has one, else the first visible sheet.
	Sheet  string
	Prefer string
	// MaxUnzip overrides UnzipSizeLimit (tests use a small one).
	MaxUnzip int64
}

// Table is a header and a stream of rows below it.
type Table struct {
	File      string   // the path as given, for messages
	Sheet     string   // the worksheet read; empty for CSV
	Header    []string // column names: trimmed, lower case, spaces as underscores
	HeaderRow int      // 1-based row of the header
	Date1904  bool     // the workbook counts serial dates from 1904

	cols     []int // 0-based source column of each header entry
	formulas []int // 1-based source columns of the current row's formula cells
	next     func() ([]string, error)
	row      int // 1-based number of the row last returned by next
	closer   func() error
}

// Row is one non-blank row: Cells[i] is the trimmed text under Header[i].
// Formula[i] is true when that cell holds a formula (its cached value, if
// the writing program stored one, is in Cells[i]); nil when none does.
type Row struct {
	Num     int
	Cells   []string
	Formula []bool
}

// Open reads the header of path (the first non-blank row) and returns the
// table positioned after it. The format follows the extension: .xlsx, .xlsm
// or .csv (also .tsv and .txt, as CSV).
func Open(path string, opt Options) (*Table, error) {
	t := &Table{File: path}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".xlsx", ".xlsm":
		if err := t.openXLSX(path, opt); err != nil {
			return nil, err
		}
	case ".csv", ".tsv", ".txt":
		if err := t.openCSV(path); err != nil {
			return nil, err
		}
	case ".xls", ".ods":
		return nil, dataerr.New(path, "%s files are not read: save the workbook as .xlsx (Excel workbook) or .csv", ext)
	default:
		return nil, dataerr.New(path, "unknown file type %q: give an .xlsx workbook or a .csv file", ext)
	}
	if err := t.readHeader(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Table) openXLSX(path string, opt Options) error {
	fh, err := os.Open(path)
	if err != nil {
		return dataerr.File(path, err)
	}
	// Check the zip signature first: a text file renamed .xlsx gets a plain
	// message rather than a zip library's.
	var sig [4]byte
	n, _ := io.ReadFull(fh, sig[:])
	fh.Close()
	if n == 0 {
		return dataerr.New(path, "the file is empty")
	}
	if !bytes.Equal(sig[:n], []byte("PK\x03\x04")[:n]) || n < 4 {
		if bytes.HasPrefix(sig[:n], []byte{0xD0, 0xCF, 0x11, 0xE0}) {
			return dataerr.New(path, "not an XLSX workbook: this is an old .xls or encrypted workbook; save it as .xlsx without a password")
		}
		return dataerr.New(path, "not an XLSX workbook (an .xlsx file is a zip archive; this one is not): was a text or CSV file renamed?")
	}
	limit := int64(UnzipSizeLimit)
	if opt.MaxUnzip > 0 {
		limit = opt.MaxUnzip
	}
	b, err := openBook(path, limit)
	if err != nil {
		return &dataerr.Error{File: path, Err: err}
	}
	sh, err := chooseSheet(b.sheets, opt)
	if err != nil {
		b.zr.Close()
		return &dataerr.Error{File: path, Err: err}
	}
	t.Date1904 = b.date1904
	rows, err := b.rows(sh)
	if err != nil {
		b.zr.Close()
		return &dataerr.Error{File: path, Sheet: sh.Name, Err: err}
	}
	t.Sheet = sh.Name
	// Rows are scanned in a goroutine, a batch at a time, while the caller
	// checks the previous batch: the two cores share the work.
	type msg struct {
		cells    []string
		formulas []int
		n        int
		err      error
	}
	ch := make(chan []msg, 8)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		batch := make([]msg, 0, 256)
		for {
			cells, n, err := rows.next()
			batch = append(batch, msg{cells, rows.formulas, n, err})
			if err == nil && len(batch) < cap(batch) {
				continue
			}
			select {
			case ch <- batch:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
			batch = make([]msg, 0, 256)
		}
	}()
	t.closer = func() error {
		close(stop)
		<-done
		rows.Close()
		return b.zr.Close()
	}
	var cur []msg
	t.next = func() ([]string, error) {
		for len(cur) == 0 {
			var ok bool
			if cur, ok = <-ch; !ok {
				return nil, io.EOF
			}
		}
		m := cur[0]
		cur = cur[1:]
		if m.err != nil {
			cur = nil
			return nil, m.err
		}
		t.row = m.n - 1 // raw adds one
		t.formulas = m.formulas
		return m.cells, nil
	}
	return nil
}

func chooseSheet(list []bookSheet, opt Options) (bookSheet, error) {
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.Name
	}
	if opt.Sheet != "" {
		for _, s := range list {
			if s.Name == opt.Sheet {
				return s, nil
			}
		}
		return bookSheet{}, fmt.Errorf("%w %q (the workbook has %s)", ErrNoSheet, opt.Sheet, quoteList(names))
	}
	if opt.Prefer != "" {
		for _, s := range list {
			if strings.EqualFold(s.Name, opt.Prefer) {
				return s, nil
			}
		}
	}
	for _, s := range list {
		if !s.Hidden {
			return s, nil
		}
	}
	return bookSheet{}, errors.New("the workbook has no visible sheet")
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func (t *Table) openCSV(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return dataerr.File(path, err)
	}
	br := bufio.NewReaderSize(fh, 1<<16)
	// Skip a UTF-8 byte order mark (Excel writes one with "CSV UTF-8").
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	head, _ := br.Peek(64 << 10)
	if len(head) == 0 {
		fh.Close()
		return dataerr.New(path, "the file is empty")
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		fh.Close()
		return dataerr.New(path, "this is a zip archive (an XLSX workbook?), not a CSV file: give it the .xlsx extension")
	}
	r := csv.NewReader(br)
	r.Comma = sniffDelimiter(head)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	t.closer = fh.Close
	t.next = func() ([]string, error) {
		rec, err := r.Read()
		if err == nil {
			// encoding/csv skips empty lines: keep the row number in step
			// with the line, as a spreadsheet program shows it.
			line, _ := r.FieldPos(0)
			t.row = line - 1
		}
		if err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &dataerr.Error{File: path, Row: pe.StartLine, Err: fmt.Errorf("line %d, character %d: %v", pe.Line, pe.Column, pe.Err)}
			}
			return nil, err
		}
		line, _ := r.FieldPos(0)
		for _, c := range rec {
			if !utf8.ValidString(c) {
				return nil, &dataerr.Error{File: path, Row: line, Err: errors.New("text is not UTF-8: save the CSV as \"CSV UTF-8\"")}
			}
		}
		return rec, nil
	}
	return nil
}

// SniffDelimiter picks the separator that occurs most in the first line:
// Belgian Excel writes CSV with semicolons.
func SniffDelimiter(head []byte) rune { return sniffDelimiter(head) }

func sniffDelimiter(head []byte) rune {
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	best, n := ',', bytes.Count(line, []byte{','})
	for _, c := range []rune{';', '\t'} {
		if k := bytes.Count(line, []byte(string(c))); k > n {
			best, n = c, k
		}
	}
	return best
}

// Close releases the file.
func (t *Table) Close() error {
	if t.closer == nil {
		return nil
	}
	c := t.closer
	t.closer = nil
	return c()
}

// raw returns the next source row (including blank ones) and its number.
func (t *Table) raw() ([]string, error) {
	cells, err := t.next()
	if err != nil {
		var de *dataerr.Error
		if err != io.EOF && !errors.As(err, &de) {
			err = &dataerr.Error{File: t.File, Sheet: t.Sheet, Row: t.row + 1, Err: fmt.Errorf("unreadable row: %v", err)}
		}
		return nil, err
	}
	t.row++
	return cells, nil
}

func (t *Table) readHeader() error {
	for {
		cells, err := t.raw()
		if err == io.EOF {
			return &dataerr.Error{File: t.File, Sheet: t.Sheet, Err: errors.New("no header row: the sheet is empty")}
		}
		if err != nil {
			return err
		}
		if blank(cells) {
			continue
		}
		t.HeaderRow = t.row
		seen := map[string]int{}
		for i, c := range cells {
			name := NormalizeHeader(c)
			if name == "" {
				continue
			}
			if j, dup := seen[name]; dup {
				return &dataerr.Error{File: t.File, Sheet: t.Sheet, Row: t.row, Col: i + 1, Column: name,
					Err: fmt.Errorf("column %q appears twice (also column %s)", name, dataerr.ColumnName(j+1))}
			}
			seen[name] = i
			t.Header = append(t.Header, name)
			t.cols = append(t.cols, i)
		}
		return nil
	}
}

// NormalizeHeader trims a header cell, lowers its case and writes inner
// spaces as underscores: " Birth date " → "birth_date".
func NormalizeHeader(s string) string {
	s = strings.ToLower(Clean(s))
	return strings.Join(strings.Fields(s), "_")
}

// Clean trims spaces, including non-breaking ones, from a cell.
func Clean(s string) string { return strings.TrimFunc(s, blankRune) }

// CleanBytes is Clean of a cell's bytes, without a copy.
func CleanBytes(b []byte) []byte { return bytes.TrimFunc(b, blankRune) }

// blankRune is what Clean trims: spaces, tabs, line ends, no-break and
// zero-width spaces, byte order marks.
func blankRune(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' || r == '\u200b' || r == '\ufeff'
}

func blank(cells []string) bool {
	for _, c := range cells {
		if Clean(c) != "" {
			return false
		}
	}
	return true
}

// Next returns the next non-blank row, or io.EOF. Styled but empty rows,
// which spreadsheet programs leave behind, are skipped. A value in a column
// without a header is an error.
func (t *Table) Next() (Row, error) {
	for {
		cells, err := t.raw()
		if err != nil {
			return Row{}, err
		}
		if blank(cells) && len(t.formulas) == 0 {
			continue
		}
		var formula []bool
		for _, f := range t.formulas {
			for i, c := range t.cols {
				if c == f-1 {
					if formula == nil {
						formula = make([]bool, len(t.cols))
					}
					formula[i] = true
				}
			}
		}
		out := make([]string, len(t.cols))
		used := make([]bool, len(cells))
		for i, c := range t.cols {
			if c < len(cells) {
				out[i] = Clean(cells[c])
				used[c] = true
			}
		}
		for c, v := range cells {
			if !used[c] && Clean(v) != "" {
				return Row{}, &dataerr.Error{File: t.File, Sheet: t.Sheet, Row: t.row, Col: c + 1,
					Err: fmt.Errorf("value %q in a column without a header", Clean(v))}
			}
		}
		return Row{Num: t.row, Cells: out, Formula: formula}, nil
	}
}

// SourceCols are the 0-based source columns of the header's entries.
func (t *Table) SourceCols() []int { return slices.Clone(t.cols) }

// Col returns the index in Header of name, or -1.
func (t *Table) Col(name string) int {
	for i, h := range t.Header {
		if h == name {
			return i
		}
	}
	return -1
}

// Uncomputed is the error of a row's first formula cell without a cached
// value (a file saved by a program that does not compute formulas), or
// nil: read as blank, it would be reported as missing.
func (t *Table) Uncomputed(row Row) *dataerr.Error {
	for i, f := range row.Formula {
		if f && row.Cells[i] == "" {
			return t.At(row.Num, i, "the cell holds a formula without a computed value (saved by a program that does not compute formulas): type the value, or open and save the file in a spreadsheet program")
		}
	}
	return nil
}

// At returns a data error at row r, under header column i (i < 0: the whole row).
func (t *Table) At(r int, i int, format string, args ...any) *dataerr.Error {
	e := &dataerr.Error{File: t.File, Sheet: t.Sheet, Row: r, Err: fmt.Errorf(format, args...)}
	if i >= 0 && i < len(t.cols) {
		e.Col = t.cols[i] + 1
		e.Column = t.Header[i]
	}
	return e
}
