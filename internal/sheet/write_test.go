package sheet

import (
	"bytes"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestWriteXLSXNumbers: numeric columns are written as numbers (an empty
// cell stays blank, a cell that is not a plain number stays text); the
// others as text, a formula never.
func TestWriteXLSXNumbers(t *testing.T) {
	g := Grid{Name: "data", Header: []string{"code", "income", "note"}, Numeric: []bool{false, true, false},
		Rows: [][]string{{"K-0001", "1250.5", "=1+1"}, {"K-0002", "", "12"}, {"K-0003", "1e3x", ""}}}
	var b bytes.Buffer
	if err := WriteXLSX(&b, g); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for _, c := range []struct {
		cell string
		typ  excelize.CellType
		val  string
	}{
		{"B2", excelize.CellTypeNumber, "1250.5"}, {"B3", excelize.CellTypeUnset, ""}, {"B4", excelize.CellTypeSharedString, "1e3x"},
		{"C2", excelize.CellTypeSharedString, "=1+1"}, {"C3", excelize.CellTypeSharedString, "12"}, {"A2", excelize.CellTypeSharedString, "K-0001"},
	} {
		typ, err := x.GetCellType("data", c.cell)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := x.GetCellValue("data", c.cell)
		f, _ := x.GetCellFormula("data", c.cell)
		text := typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString
		number := typ == excelize.CellTypeNumber || typ == excelize.CellTypeUnset // a number cell has no type attribute
		ok := text == (c.typ == excelize.CellTypeSharedString) && (text || number)
		if v != c.val || f != "" || !ok {
			t.Errorf("%s: %q (type %v, formula %q), want %q (type %v)", c.cell, v, typ, f, c.val, c.typ)
		}
	}
}
