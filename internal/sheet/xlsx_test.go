package sheet

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/xuri/excelize/v2"
)

// excelizeRows reads a sheet with excelize (raw values), as row number →
// cells with trailing blanks removed, skipping blank rows.
func excelizeRows(t testing.TB, path, sheet string) map[int][]string {
	t.Helper()
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.Rows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]string{}
	n := 0
	for rows.Next() {
		n++
		cells, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for len(cells) > 0 && cells[len(cells)-1] == "" {
			cells = cells[:len(cells)-1]
		}
		if len(cells) > 0 {
			out[n] = cells
		}
	}
	return out
}

// ourRows reads the same with this package's reader.
func ourRows(t testing.TB, path, sheet string) map[int][]string {
	t.Helper()
	b, err := openBook(path, UnzipSizeLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer b.zr.Close()
	sh, err := chooseSheet(b.sheets, Options{Sheet: sheet})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.rows(sh)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[int][]string{}
	for {
		cells, n, err := r.next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(cells) > 0 {
			out[n] = cells
		}
	}
}

func sameRows(t testing.TB, what string, want, got map[int][]string) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: %d rows, excelize %d", what, len(got), len(want))
	}
	for n, w := range want {
		g := got[n]
		if strings.Join(w, "\x00") != strings.Join(g, "\x00") {
			t.Errorf("%s: row %d:\n got  %q\n want %q", what, n, g, w)
		}
	}
}

// TestReaderMatchesExcelize compares the streaming reader with excelize on
// workbooks written by openpyxl, LibreOffice and excelize.
func TestReaderMatchesExcelize(t *testing.T) {
	for _, f := range []string{"referrals_openpyxl.xlsx", "referrals_libreoffice.xlsx"} {
		p := filepath.Join("..", "..", "testdata", f)
		sameRows(t, f, excelizeRows(t, p, "referrals"), ourRows(t, p, "referrals"))
	}
	p := writeWorkbook(t, [][]any{
		{"text", "  spaced  ", "a & b < c > d", "quote \" and '", "_x0041_ literal", "line\nbreak", "tab\there", "Ünïcødé ✓"},
		{1, 2.5, -3, 1e20, true, false, time.Date(2020, 1, 31, 0, 0, 0, 0, time.UTC), nil, "after a gap"},
		{},
		{"", "", "", "far", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "AB"},
	})
	sameRows(t, "excelize workbook", excelizeRows(t, p, "Sheet1"), ourRows(t, p, "Sheet1"))
}

func writeWorkbook(t testing.TB, rows [][]any) string {
	t.Helper()
	f := excelize.NewFile()
	for i, r := range rows {
		if len(r) == 0 {
			continue
		}
		if err := f.SetSheetRow("Sheet1", "A"+strconv.Itoa(i+1), &r); err != nil {
			t.Fatal(err)
		}
	}
	f.SetCellFormula("Sheet1", "J2", "A2*2")
	f.SetCellRichText("Sheet1", "K1", []excelize.RichTextRun{{Text: "rich "}, {Text: "text"}})
	p := filepath.Join(t.TempDir(), "w.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzReaderMatchesExcelize writes fuzzed text to a workbook with excelize
// and reads it back with both readers.
func FuzzReaderMatchesExcelize(f *testing.F) {
	for _, s := range []string{"plain", "a&b<c>", "_x0008_", "  x  ", "é\u00a0", "1.5", "=1+1", "<![CDATA[x]]>"} {
		f.Add(s, s+"2")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8Valid(a) || !utf8Valid(b) {
			return
		}
		p := writeWorkbook(t, [][]any{{a, b}, {b, 1, a}})
		sameRows(t, "fuzz", excelizeRows(t, p, "Sheet1"), ourRows(t, p, "Sheet1"))
	})
}

func utf8Valid(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') {
			return false // excelize drops characters XML cannot hold
		}
	}
	return strings.ToValidUTF8(s, "") == s
}

// FuzzScanner feeds arbitrary bytes as worksheet XML: the reader returns
// rows or an error, never panics or loops.
func FuzzScanner(f *testing.F) {
	f.Add([]byte(`<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c><c r="C1"><v>2</v></c></row></sheetData></worksheet>`))
	f.Add([]byte(`<x:worksheet><x:sheetData><x:row><x:c t="s"><x:v>0</x:v></x:c></x:row></x:sheetData></x:worksheet>`))
	f.Add([]byte(`<sheetData><row r="2"><c r="XFD2"><v>&amp;&#x41;&#66;</v></c></row><!-- > --><row/></sheetData>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &rowReader{rc: io.NopCloser(nil), sc: newScanner(bytes.NewReader(b)), sst: []string{"zero"}}
		for i := 0; i < 10000; i++ {
			cells, _, err := r.next()
			if err != nil {
				return
			}
			if len(cells) > MaxColumns {
				t.Fatalf("%d cells", len(cells))
			}
		}
		t.Fatal("no end after 10000 rows")
	})
}

// TestAmbiguousWorkbookRefused: a package with two parts of one name (the
// second differing in case too) is read differently by different
// programs; Open refuses it as the data's problem.
func TestAmbiguousWorkbookRefused(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.xlsx")
	f := excelize.NewFile()
	f.SetCellValue("Sheet1", "A1", "study_code")
	f.SetCellValue("Sheet1", "A2", "K-0001")
	if err := f.SaveAs(good); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, dup := range []string{"xl/worksheets/sheet1.xml", "XL/Worksheets/Sheet1.xml"} {
		zr, err := zip.OpenReader(good)
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
		}
		w, _ := zw.Create(dup)
		io.WriteString(w, `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>`)
		zw.Close()
		zr.Close()
		bad := filepath.Join(dir, "bad.xlsx")
		os.WriteFile(bad, buf.Bytes(), 0o644)
		_, err = Open(bad, Options{})
		if err == nil || !strings.Contains(err.Error(), "two parts named") || !dataerr.Is(err) {
			t.Errorf("%s twice: %v", dup, err)
		}
	}
}

// BenchmarkReadXLSX reads a workbook of 20,000 rows of 40 cells, numbers,
// dates, shared and inline strings, as a wave's survey is: the reader's
// own speed, without the checks behind it.
func BenchmarkReadXLSX(b *testing.B) {
	const rows, cols = 20000, 40
	g := Grid{Name: "m6", Header: make([]string, cols), Numeric: make([]bool, cols)}
	for c := range cols {
		g.Header[c] = fmt.Sprintf("question_%02d", c)
		g.Numeric[c] = c%3 != 0
	}
	for r := range rows {
		row := make([]string, cols)
		for c := range cols {
			switch c % 3 {
			case 0:
				row[c] = fmt.Sprintf("K-%05d answer %d", r, c%7)
			case 1:
				row[c] = strconv.Itoa(r * c % 1000)
			default:
				row[c] = fmt.Sprintf("%d.%d", r%50, c)
			}
		}
		g.Rows = append(g.Rows, row)
	}
	path := filepath.Join(b.TempDir(), "m6.xlsx")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := WriteXLSX(f, g); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.ResetTimer()
	for b.Loop() {
		t, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := t.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		t.Close()
		if n != rows {
			b.Fatalf("%d rows read", n)
		}
	}
}
