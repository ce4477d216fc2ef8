package sheet

import "github.com/xuri/excelize/v2"

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
// cell API: those in known by the caller's count of rows and columns, the
// others as read back. Not for streamed sheets (SetDimension before).
func SetDimensions(f *excelize.File, known map[string][2]int) error {
	for _, name := range f.GetSheetList() {
		size, ok := known[name]
		if !ok {
			rows, err := f.GetRows(name)
			if err != nil {
				return err
			}
			size[0] = len(rows)
			for _, r := range rows {
				size[1] = max(size[1], len(r))
			}
		}
		if err := SetDimension(f, name, size[0], size[1]); err != nil {
			return err
		}
	}
	return nil
}
