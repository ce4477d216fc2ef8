package reports

import (
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/rct-trials/rct/internal/sheet"

	"github.com/xuri/excelize/v2"
)

// numFormats are the cells' number formats: integers, 3 decimals, p-values
// ("<0.001" below it), percentages.
var numFormats = map[string]string{"n": "0", "p": `[<0.001]"<0.001";0.000`, "pct": "0.0%", "": "0.000"}

// XLSX writes every table of the report as a sheet: the title on the first
// row, the header frozen on the third, numbers as numbers with their
// format, a confidence interval as two numbers (lower, upper), texts as
// text, the note under the table, columns as wide as their contents; and
// a last sheet with every figure as a picture.
func (r *Report) XLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	x := &xlsxWriter{f: f, used: map[string]bool{}, styles: map[string]int{}}
	x.bold, _ = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	x.head, _ = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EEEEEE"}},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	for k, code := range numFormats {
		x.styles[k], _ = f.NewStyle(&excelize.Style{CustomNumFmt: &code})
	}
	for _, t := range r.Tables() {
		if err := x.table(t, r.T); err != nil {
			return err
		}
	}
	if err := x.figures(r.Figures(), r.T); err != nil {
		return err
	}
	if err := sheet.SetDimensions(f); err != nil {
		return err
	}
	return f.Write(w)
}

type xlsxWriter struct {
	f          *excelize.File
	used       map[string]bool
	styles     map[string]int
	bold, head int
	sheets     int
}

// sheet makes a sheet of a unique name of at most 31 characters.
func (x *xlsxWriter) sheet(want string) (string, error) {
	name := want
	if len(name) > 31 {
		name = name[:31]
	}
	for i := 2; x.used[name]; i++ {
		name = fmt.Sprintf("%.28s_%d", want, i)
	}
	x.used[name] = true
	x.sheets++
	if x.sheets == 1 {
		return name, x.f.SetSheetName("Sheet1", name)
	}
	_, err := x.f.NewSheet(name)
	return name, err
}

func cellName(c, r int) string { s, _ := excelize.CoordinatesToCellName(c, r); return s }

func (x *xlsxWriter) table(t *Table, tr func(string) string) error {
	f := x.f
	name, err := x.sheet(t.Name)
	if err != nil {
		return err
	}
	// A column of intervals becomes two columns: lower and upper.
	isCI := make([]bool, len(t.Head))
	for _, row := range t.Rows {
		for j, c := range row {
			if c.CI != nil && j < len(isCI) {
				isCI[j] = true
			}
		}
	}
	var head []string
	for j, h := range t.Head {
		if isCI[j] {
			head = append(head, h+" ("+tr("lower")+")", h+" ("+tr("upper")+")")
		} else {
			head = append(head, h)
		}
	}
	width := make([]int, len(head))
	fit := func(col int, s string) { width[col] = max(width[col], utf8.RuneCountInString(s)) }
	f.SetCellStr(name, "A1", t.Title)
	f.SetCellStyle(name, "A1", "A1", x.bold)
	for j, h := range head {
		f.SetCellStr(name, cellName(j+1, 3), h)
		fit(j, h)
	}
	if len(head) > 0 {
		f.SetCellStyle(name, "A3", cellName(len(head), 3), x.head)
	}
	for i, row := range t.Rows {
		col := 0
		for j, c := range row {
			at := cellName(col+1, i+4)
			switch {
			case j < len(isCI) && isCI[j]:
				if c.CI != nil {
					for k, v := range c.CI {
						at := cellName(col+k+1, i+4)
						f.SetCellFloat(name, at, v, -1, 64)
						f.SetCellStyle(name, at, at, x.styles[""])
						fit(col+k, num(v, "").String())
					}
				}
				col += 2
				continue
			case c.Num != nil:
				f.SetCellFloat(name, at, *c.Num, -1, 64)
				f.SetCellStyle(name, at, at, x.styles[c.Fmt])
			default:
				f.SetCellStr(name, at, c.Text)
			}
			if col < len(width) {
				fit(col, c.String())
			}
			col++
		}
	}
	if t.Note != "" {
		f.SetCellStr(name, cellName(1, len(t.Rows)+5), t.Note)
	}
	for j, w := range width {
		c, _ := excelize.ColumnNumberToName(j + 1)
		f.SetColWidth(name, c, c, math.Min(60, float64(max(8, w+2))))
	}
	return f.SetPanes(name, &excelize.Panes{Freeze: true, YSplit: 3, TopLeftCell: "A4", ActivePane: "bottomLeft"})
}

// figures adds a sheet with every figure as a picture under its name and
// caption, at its size (the PNG is drawn at twice the resolution).
func (x *xlsxWriter) figures(figs []Figure, tr func(string) string) error {
	if len(figs) == 0 {
		return nil
	}
	name, err := x.sheet("figures")
	if err != nil {
		return err
	}
	pngs := make([][]byte, len(figs))
	if _, err := eachFigure(figs, func(i int, fig Figure) error {
		var err error
		if pngs[i], err = fig.PNG(); err != nil {
			return fmt.Errorf("reports: figure %s: %w", fig.Name, err)
		}
		return nil
	}); err != nil {
		return err
	}
	row := 1
	for i, fig := range figs {
		png := pngs[i]
		x.f.SetCellStr(name, cellName(1, row), fig.Name)
		x.f.SetCellStyle(name, cellName(1, row), cellName(1, row), x.bold)
		x.f.SetCellStr(name, cellName(1, row+1), fig.Caption)
		scale := 96.0 / pngDPI
		if err := x.f.AddPictureFromBytes(name, cellName(1, row+2), &excelize.Picture{Extension: ".png", File: png, InsertType: excelize.PictureInsertTypePlaceOverCells,
			Format: &excelize.GraphicOptions{ScaleX: scale, ScaleY: scale, AltText: fig.Caption}}); err != nil {
			return fmt.Errorf("reports: figure %s: %w", fig.Name, err)
		}
		heightPx := float64(fig.H) / 72 * 96
		row += 4 + int(math.Ceil(heightPx/20)) // rows of 15 points (20 pixels)
	}
	return nil
}
