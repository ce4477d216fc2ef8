package reports

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// XLSX writes every table of the report as a sheet: numbers as numbers
// with their format (integers, 3 decimals, p-values, percentages), texts
// as text, the title on the first row and the note under the table.
func (r *Report) XLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	head, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EEEEEE"}}})
	styles := map[string]int{}
	for k, code := range map[string]string{"n": "0", "p": "0.000", "pct": "0.0%", "": "0.000"} {
		c := code
		styles[k], _ = f.NewStyle(&excelize.Style{CustomNumFmt: &c})
	}
	first := true
	used := map[string]bool{}
	for _, t := range r.Tables() {
		name := t.Name
		if len(name) > 31 {
			name = name[:31]
		}
		for i := 2; used[name]; i++ {
			name = fmt.Sprintf("%.28s_%d", t.Name, i)
		}
		used[name] = true
		if first {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
			first = false
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		cell := func(c, r int) string { s, _ := excelize.CoordinatesToCellName(c, r); return s }
		f.SetCellStr(name, "A1", t.Title)
		f.SetCellStyle(name, "A1", "A1", bold)
		for j, h := range t.Head {
			f.SetCellStr(name, cell(j+1, 3), h)
		}
		if len(t.Head) > 0 {
			f.SetCellStyle(name, "A3", cell(len(t.Head), 3), head)
		}
		for i, row := range t.Rows {
			for j, c := range row {
				at := cell(j+1, i+4)
				if c.Num != nil {
					f.SetCellFloat(name, at, *c.Num, -1, 64)
					f.SetCellStyle(name, at, at, styles[c.Fmt])
				} else {
					f.SetCellStr(name, at, c.Text)
				}
			}
		}
		if t.Note != "" {
			f.SetCellStr(name, cell(1, len(t.Rows)+5), t.Note)
		}
		f.SetColWidth(name, "A", "A", 34)
	}
	return f.Write(w)
}
