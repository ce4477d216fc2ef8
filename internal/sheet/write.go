package sheet

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// Grid is a table of text to write: a header and rows.
type Grid struct {
	Name   string // the sheet's name in a workbook
	Header []string
	Rows   [][]string
	// Numeric marks the columns written as numbers in a workbook (a cell
	// that reads as a number; an empty cell stays blank); the others are
	// text.
	Numeric []bool
}

// WriteCSV writes g as CSV, every cell defused (see Defuse): a spreadsheet
// opening the file never reads a cell as a formula.
func WriteCSV(w io.Writer, g Grid) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(g.Header); err != nil {
		return err
	}
	safe := make([]string, len(g.Header))
	for _, r := range g.Rows {
		safe = safe[:0]
		for _, c := range r {
			safe = append(safe, Defuse(c))
		}
		if err := cw.Write(safe); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteXLSX writes each grid as a sheet of one workbook, every cell as a
// text cell (never a formula), streamed row by row.
func WriteXLSX(w io.Writer, grids ...Grid) error {
	x := excelize.NewFile()
	defer x.Close()
	for i, g := range grids {
		if i == 0 {
			if err := x.SetSheetName("Sheet1", g.Name); err != nil {
				return err
			}
		} else if _, err := x.NewSheet(g.Name); err != nil {
			return err
		}
		if err := writeSheet(x, g); err != nil {
			return err
		}
	}
	return x.Write(w)
}

func writeSheet(x *excelize.File, g Grid) error {
	if err := SetDimension(x, g.Name, len(g.Rows)+1, len(g.Header)); err != nil {
		return err
	}
	sw, err := x.NewStreamWriter(g.Name)
	if err != nil {
		return err
	}
	row := func(n int, cells []string) error {
		vals := make([]any, len(cells))
		for i, c := range cells {
			vals[i] = c
			if n > 1 && i < len(g.Numeric) && g.Numeric[i] {
				if c == "" {
					vals[i] = nil
				} else if x, err := strconv.ParseFloat(c, 64); err == nil && plainNumber(c) {
					vals[i] = x
				}
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, n)
		return sw.SetRow(cell, vals)
	}
	if err := row(1, g.Header); err != nil {
		return err
	}
	for i, r := range g.Rows {
		if err := row(i+2, r); err != nil {
			return err
		}
	}
	return sw.Flush()
}
