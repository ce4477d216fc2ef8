package sheet

import (
	"slices"

	"github.com/xuri/excelize/v2"
)

// excelize writes every sheet's dimension (its used range) as "A1", and a
// reader that trusts it — openpyxl's read-only mode, with which many
// analysts open workbooks — then sees one cell. Each writer records the
// range: a streamed sheet before its stream writer is made (the range is
// written with the sheet's head), the others before the file is written.

// SetDimension records that sheet holds rows rows and cols columns from A1.
func SetDimension(f *excelize.File, sheet string, rows, cols int) error {
	if rows < 1 || cols < 1 {
		return nil
	}
	end, err := excelize.CoordinatesToCellName(cols, rows)
	if err != nil {
		return err
	}
	return f.SetSheetDimension(sheet, "A1:"+end)
}

// SetDimensions records the used range of every sheet written through the
// cell API, as read back; the streamed sheets, named in streamed, are left
// as SetDimension set them before their stream.
func SetDimensions(f *excelize.File, streamed ...string) error {
	for _, name := range f.GetSheetList() {
		if slices.Contains(streamed, name) {
			continue
		}
		rows, err := f.GetRows(name)
		if err != nil {
			return err
		}
		cols := 0
		for _, r := range rows {
			cols = max(cols, len(r))
		}
		if err := SetDimension(f, name, len(rows), cols); err != nil {
			return err
		}
	}
	return nil
}
