package survey

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/xuri/excelize/v2"
)

var reportHeader = []string{"file", "sheet", "row", "column", "study_code", "variable", "value", "rule", "severity", "message"}

func (i Issue) cells() []string {
	row := ""
	if i.Row > 0 {
		row = strconv.Itoa(i.Row)
	}
	return []string{i.File, i.Sheet, row, i.Column, i.StudyCode, i.Variable, i.Value, i.Rule, i.Severity, i.Message}
}

// WriteReport writes the issues of an import as CSV or XLSX (format "csv"
// or "xlsx"). Values are what the interviewers typed: in CSV, text that a
// spreadsheet would read as a formula is defused; in XLSX every cell is a
// string cell.
func WriteReport(w io.Writer, format string, issues []Issue) error {
	switch format {
	case "xlsx":
		f := excelize.NewFile()
		defer f.Close()
		sh := "issues"
		if err := f.SetSheetName("Sheet1", sh); err != nil {
			return err
		}
		if err := sheet.SetDimension(f, sh, len(issues)+1, len(reportHeader)); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(sh)
		if err != nil {
			return err
		}
		bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
		row := func(n int, cells []string, style int) error {
			vals := make([]any, len(cells))
			for i, c := range cells {
				vals[i] = excelize.Cell{Value: c, StyleID: style}
			}
			cell, _ := excelize.CoordinatesToCellName(1, n)
			return sw.SetRow(cell, vals)
		}
		if err := row(1, reportHeader, bold); err != nil {
			return err
		}
		for i, is := range issues {
			c := is.cells()
			if err := row(i+2, c, 0); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
		return f.Write(w)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(reportHeader)
		for _, is := range issues {
			c := is.cells()
			for j := range c {
				c[j] = sheet.Defuse(c[j])
			}
			cw.Write(c)
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("the report is written as csv or xlsx, not %q", format)
}

// Annotate writes to w a copy of the imported workbook at src with the
// cells of its issues (those of the file the import named name) filled
// (red: error, yellow: warning) and a comment giving the rule and message.
// The original is not touched.
func Annotate(src, name string, w io.Writer, issues []Issue) error {
	f, err := excelize.OpenFile(src, excelize.Options{UnzipSizeLimit: sheet.UnzipSizeLimit, UnzipXMLSizeLimit: 256 << 20})
	if err != nil {
		return err
	}
	defer f.Close()
	styles := map[[2]int]int{}
	for _, is := range issues {
		if is.File != name || is.Row == 0 || is.Column == "" || is.Sheet == "" {
			continue
		}
		cell := fmt.Sprintf("%s%d", is.Column, is.Row)
		old, err := f.GetCellStyle(is.Sheet, cell)
		if err != nil {
			continue
		}
		sev := 0
		color := "FF9999"
		if is.Severity == SevWarning {
			sev, color = 1, "FFEB84"
		}
		id, ok := styles[[2]int{old, sev}]
		if !ok {
			st, err := f.GetStyle(old)
			if err != nil || st == nil {
				st = &excelize.Style{}
			}
			st.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{color}}
			if id, err = f.NewStyle(st); err != nil {
				return err
			}
			styles[[2]int{old, sev}] = id
		}
		if err := f.SetCellStyle(is.Sheet, cell, cell, id); err != nil {
			return err
		}
		text := fmt.Sprintf("%s (%s): %s", is.Severity, is.Rule, is.Message)
		f.DeleteComment(is.Sheet, cell)
		if err := f.AddComment(is.Sheet, excelize.Comment{Cell: cell, Author: "rct", Paragraph: []excelize.RichTextRun{{Text: text}}}); err != nil {
			return err
		}
	}
	return f.Write(w)
}
