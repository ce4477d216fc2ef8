package survey

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rct-trials/rct/internal/sheet"

	"github.com/xuri/excelize/v2"
)

// TemplateVersion is the layout version of the templates rct writes; the
// import refuses a template of another layout.
const TemplateVersion = "1"

// Sheet names of a template besides the form's own sheet.
const (
	MetaSheet     = "_meta"    // very hidden: what the template is for
	ListsSheet    = "_lists"   // hidden: the drop-down lists
	CodebookSheet = "codebook" // visible: the questions, for the interviewer
)

// Prefilled columns of a wave's sheet (locked) and the columns every
// interviewer fills before the questions.
var (
	waveKeyColumns    = []string{"study_code", "due_date", "window_opens", "window_closes"}
	waveSystemColumns = []string{"interview_date", "interviewer"}
	caseKeyColumns    = []string{"study_code", "month"}
)

// TemplateRow is one pre-filled row: a family due for a wave (with its due
// date and window), or a family and month of the activity log.
type TemplateRow struct {
	StudyCode          string
	Due, Opens, Closes string // waves
	Month              string // caselog: yyyy-mm
	Interviewer        string
}

// TemplateOptions say which template to write.
type TemplateOptions struct {
	Form            string // a wave id or CaseLog
	FormLabel       string
	Lang            string // label language; "" is the codebook's first
	TrialID         string
	CodebookVersion int // the version number in the trial database
	Interviewer     string
	Today           time.Time
	Rows            []TemplateRow
	// Answers, when set, gives the answers written in row i (of Rows), by
	// variable name, as an interviewer would type them: the simulator's
	// filled workbooks, written in the same pass.
	Answers func(i int) map[string]any
}

// Meta is what a template's _meta sheet records.
type Meta map[string]string

// columns returns the header of a form's sheet: key columns, system columns
// and the form's variables.
func (cb *Codebook) columns(form string) (keys, system []string, vars []*Variable) {
	if form == CaseLog {
		return caseKeyColumns, nil, cb.Form(form)
	}
	return waveKeyColumns, waveSystemColumns, cb.Form(form)
}

// WriteTemplate writes the XLSX template of a form: one row per family
// (study code and dates pre-filled and locked), a column per question with
// its drop-down or range check and a prompt with its label, a visible
// codebook sheet, a hidden _lists sheet and a very hidden _meta sheet. It
// carries study codes only: no arm, no group.
func (cb *Codebook) WriteTemplate(w io.Writer, o TemplateOptions) error {
	t := &templateWriter{cb: cb, o: o, lang: o.Lang, sh: o.Form}
	if t.lang == "" {
		t.lang = cb.Languages[0]
	}
	t.keys, t.system, t.vars = cb.columns(o.Form)
	if len(t.vars) == 0 {
		return fmt.Errorf("the codebook asks no question in %s", o.Form)
	}
	t.cols = append(append(append([]string{}, t.keys...), t.system...), names(t.vars)...)
	t.f = excelize.NewFile()
	defer t.f.Close()
	// The form's sheet is streamed, a row at a time (at 100,000 families
	// the cell API held the whole sheet in memory): its columns' styles
	// and widths and the frozen panes before the rows, its checks and
	// protection before the stream is flushed.
	for _, step := range []func() error{t.header, t.columnStyles, t.protect, t.prefill, func() error { return cb.writeLists(t.f, t.lang) },
		t.validations, func() error { return t.sw.Flush() }, func() error { return cb.writeCodebookSheet(t.f, o.Form, t.lang) }, t.meta} {
		if err := step(); err != nil {
			return err
		}
	}
	t.f.SetActiveSheet(0)
	if err := sheet.SetDimensions(t.f, t.sh); err != nil {
		return err
	}
	return t.f.Write(w)
}

// templateWriter writes one template workbook, step by step.
type templateWriter struct {
	cb           *Codebook
	o            TemplateOptions
	lang, sh     string
	keys, system []string // pre-filled key columns; system columns (interviewer, date)
	vars         []*Variable
	cols         []string // every column: keys, system, questions
	f            *excelize.File
	sw           *excelize.StreamWriter // the form's sheet
	colStyle     []int                  // each column's style
	colIndex     map[string]int         // each column's place
	// styles: the header, locked keys (text and date), open input cells
	// (general, text, date).
	headerStyle, locked, lockedDate int
	input, inputText, inputDate     int
}

func colName(i int) string { s, _ := excelize.ColumnNumberToName(i + 1); return s }

// header makes the styles and opens the stream of the form's sheet (its
// used range recorded first: the stream writes it with the sheet's head).
func (t *templateWriter) header() error {
	f := t.f
	if err := f.SetSheetName("Sheet1", t.sh); err != nil {
		return err
	}
	t.headerStyle, _ = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9D9D9"}},
		Protection: &excelize.Protection{Locked: true}})
	t.locked, _ = f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F2F2F2"}}, Protection: &excelize.Protection{Locked: true}})
	dateFmt := "dd/mm/yyyy"
	t.lockedDate, _ = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F2F2F2"}}, Protection: &excelize.Protection{Locked: true}})
	t.input, _ = f.NewStyle(&excelize.Style{Protection: &excelize.Protection{Locked: false}})
	t.inputText, _ = f.NewStyle(&excelize.Style{NumFmt: 49, Protection: &excelize.Protection{Locked: false}})
	t.inputDate, _ = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt, Protection: &excelize.Protection{Locked: false}})
	if err := sheet.SetDimension(f, t.sh, len(t.o.Rows)+1, len(t.cols)); err != nil {
		return err
	}
	var err error
	t.sw, err = f.NewStreamWriter(t.sh)
	return err
}

// prefill writes the header and a row per family: its keys (study code
// and dates, or month) and the interviewer, each cell in its column's style.
func (t *templateWriter) prefill() error {
	head := make([]any, len(t.cols))
	for i, c := range t.cols {
		head[i] = excelize.Cell{Value: c, StyleID: t.headerStyle}
	}
	if err := t.sw.SetRow("A1", head); err != nil {
		return err
	}
	vals := make([]any, 0, len(t.keys)+1)
	for r, row := range t.o.Rows {
		keys := []string{row.StudyCode}
		if t.o.Form == CaseLog {
			keys = append(keys, row.Month)
		} else {
			keys = append(keys, row.Due, row.Opens, row.Closes)
		}
		vals = vals[:0]
		for _, v := range keys {
			if d, err := time.Parse("2006-01-02", v); err == nil {
				// A date as its serial number, in the column's date style.
				vals = append(vals, excelize.Cell{Value: excelSerial(d), StyleID: t.lockedDate})
			} else {
				vals = append(vals, excelize.Cell{Value: v, StyleID: t.locked})
			}
		}
		iv := row.Interviewer
		if iv == "" {
			iv = t.o.Interviewer
		}
		if t.o.Form != CaseLog && iv != "" {
			vals = append(vals, nil, excelize.Cell{Value: iv, StyleID: t.inputText}) // after interview_date
		}
		if t.o.Answers != nil {
			vals = t.answers(vals, t.o.Answers(r))
		}
		cell, _ := excelize.CoordinatesToCellName(1, r+2)
		if err := t.sw.SetRow(cell, vals); err != nil {
			return err
		}
	}
	return nil
}

// answers adds a row's answers to its cells, each in its column's style.
func (t *templateWriter) answers(vals []any, ans map[string]any) []any {
	if t.colIndex == nil {
		t.colIndex = map[string]int{}
		for i, c := range t.cols {
			t.colIndex[c] = i
		}
	}
	for name, v := range ans {
		i, ok := t.colIndex[name]
		if !ok || i < len(t.keys) {
			continue
		}
		for len(vals) <= i {
			vals = append(vals, nil)
		}
		vals[i] = excelize.Cell{Value: v, StyleID: t.colStyle[i]}
	}
	return vals
}

// columnStyles locks the key columns and opens the rest for input, with
// date or text formats where the question needs them.
func (t *templateWriter) columnStyles() error {
	for i, c := range t.cols {
		style := t.input
		switch {
		case i < len(t.keys) && (c == "study_code" || c == "month"):
			style = t.locked
		case i < len(t.keys):
			style = t.lockedDate
		case c == "interview_date":
			style = t.inputDate
		case c == "interviewer":
			style = t.inputText
		default:
			switch t.vars[i-len(t.keys)-len(t.system)].Kind {
			case Date:
				style = t.inputDate
			case TextType, SelectMultiple:
				style = t.inputText
			}
		}
		t.colStyle = append(t.colStyle, style)
		if err := t.sw.SetColStyle(i+1, i+1, style); err != nil {
			return err
		}
		width := 14.0
		if i >= len(t.keys)+len(t.system) {
			width = 18
		}
		if err := t.sw.SetColWidth(i+1, i+1, width); err != nil {
			return err
		}
	}
	return nil
}

// validations adds each input column's check (drop-down, range, date) and
// its prompt.
func (t *templateWriter) validations() error {
	last := max(len(t.o.Rows)+1, 2) // the rows Excel checks
	lang := t.lang
	for i, c := range t.cols[len(t.keys):] {
		ci := i + len(t.keys)
		dv := excelize.NewDataValidation(true)
		dv.SetSqref(fmt.Sprintf("%s2:%s%d", colName(ci), colName(ci), last))
		switch {
		case c == "interview_date":
			dv.Type, dv.Operator, dv.Formula1 = "date", "between", xmlEscape(fmt.Sprintf("DATE(%d,1,1)", t.o.Today.Year()-5))
			dv.Formula2 = "TODAY()"
			dv.SetInput("interview_date", templateText(lang, "interview_date"))
			dv.SetError(excelize.DataValidationErrorStyleStop, "interview_date", templateText(lang, "date_error"))
		case c == "interviewer":
			continue
		default:
			v := t.vars[ci-len(t.keys)-len(t.system)]
			if !t.cb.validation(dv, v, lang, colName(ci)+"2") {
				dv.Type = ""
			}
			prompt := v.Label.In(lang, t.cb.Languages)
			if h := v.Hint.In(lang, t.cb.Languages); h != "" {
				prompt += " — " + h
			}
			if v.Kind == SelectMultiple {
				prompt += " (" + t.cb.codes(v.List) + "; " + templateText(lang, "several") + ")"
			}
			dv.SetInput(clip(v.Name, 32), clip(prompt, 255))
			dv.ShowInputMessage = true
		}
		if err := t.f.AddDataValidation(t.sh, dv); err != nil {
			return err
		}
	}
	return nil
}

// protect freezes the header and the study codes and protects the sheet
// (the locked cells cannot be edited).
func (t *templateWriter) protect() error {
	if err := t.sw.SetPanes(&excelize.Panes{Freeze: true, XSplit: 1, YSplit: 1, TopLeftCell: "B2", ActivePane: "bottomRight"}); err != nil {
		return err
	}
	return t.f.ProtectSheet(t.sh, &excelize.SheetProtectionOptions{FormatCells: true, FormatColumns: true, FormatRows: true,
		SelectLockedCells: true, SelectUnlockedCells: true, AutoFilter: true, Sort: true})
}

// meta writes the very hidden _meta sheet the import checks.
func (t *templateWriter) meta() error {
	cb, o, f := t.cb, t.o, t.f
	meta := Meta{
		"format":           "rct survey template",
		"template_version": TemplateVersion,
		"trial":            o.TrialID,
		"form":             o.Form,
		"codebook_id":      cb.Codebook.ID,
		"codebook_version": fmt.Sprint(o.CodebookVersion),
		"codebook_label":   cb.Codebook.Version,
		"codebook_sha256":  cb.SHA256(),
		"language":         t.lang,
		"interviewer":      o.Interviewer,
		"written_on":       o.Today.Format("2006-01-02"),
	}
	if _, err := f.NewSheet(MetaSheet); err != nil {
		return err
	}
	if err := f.SetSheetRow(MetaSheet, "A1", &[]string{"key", "value"}); err != nil {
		return err
	}
	for i, k := range metaKeys {
		if err := f.SetSheetRow(MetaSheet, fmt.Sprintf("A%d", i+2), &[]string{k, meta[k]}); err != nil {
			return err
		}
	}
	return f.SetSheetVisible(MetaSheet, false, true)
}

var metaKeys = []string{"format", "template_version", "trial", "form", "codebook_id", "codebook_version", "codebook_label", "codebook_sha256", "language", "interviewer", "written_on"}

func names(vars []*Variable) []string {
	out := make([]string, len(vars))
	for i, v := range vars {
		out[i] = v.Name
	}
	return out
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }

// listNames are the lists in the order of the columns of _lists.
func (cb *Codebook) listNames() []string {
	var out []string
	for n := range cb.Lists {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (cb *Codebook) writeLists(f *excelize.File, lang string) error {
	if _, err := f.NewSheet(ListsSheet); err != nil {
		return err
	}
	for i, n := range cb.listNames() {
		col, _ := excelize.ColumnNumberToName(i + 1)
		vals := []string{n}
		for _, c := range cb.Lists[n] {
			vals = append(vals, c.Label.In(lang, cb.Languages))
		}
		for _, m := range cb.Missing {
			vals = append(vals, m.Label.In(lang, cb.Languages))
		}
		for r, v := range vals {
			if err := f.SetCellStr(ListsSheet, fmt.Sprintf("%s%d", col, r+1), v); err != nil {
				return err
			}
		}
	}
	return f.SetSheetVisible(ListsSheet, false)
}

// validation sets Excel's own check of a question's cells (a first line of
// defence only: pasting bypasses it, and the import checks everything
// again). top is the column's first input cell, for relative formulas.
func (cb *Codebook) validation(dv *excelize.DataValidation, v *Variable, lang, top string) bool {
	var missing []string
	for _, m := range cb.Missing {
		missing = append(missing, top+"="+m.Code)
	}
	switch v.Kind {
	case SelectOne:
		idx := 0
		for i, n := range cb.listNames() {
			if n == v.List {
				idx = i
			}
		}
		col, _ := excelize.ColumnNumberToName(idx + 1)
		dv.SetSqrefDropList(fmt.Sprintf("'%s'!$%s$2:$%s$%d", ListsSheet, col, col, len(cb.Lists[v.List])+len(cb.Missing)+1))
		dv.SetError(excelize.DataValidationErrorStyleStop, v.Name, templateText(lang, "choose"))
		return true
	case Integer, Decimal:
		conds := []string{"ISNUMBER(" + top + ")"}
		if v.Kind == Integer {
			conds = append(conds, top+"=INT("+top+")")
		}
		if v.Hard != nil && v.Hard.Min != "" {
			conds = append(conds, top+">="+v.Hard.Min)
		}
		if v.Hard != nil && v.Hard.Max != "" {
			conds = append(conds, top+"<="+v.Hard.Max)
		}
		f := "AND(" + strings.Join(conds, ",") + ")"
		if len(missing) > 0 {
			f = "OR(" + f + "," + strings.Join(missing, ",") + ")"
		}
		dv.Type, dv.Formula1 = "custom", xmlEscape(f)
		msg := v.Type
		if d := v.Hard.Describe(); d != "" {
			msg += " " + d
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, v.Name, msg)
		return true
	case Date:
		lo := "DATE(1900,1,1)"
		if v.Hard != nil && v.Hard.Min != "" {
			if t, err := time.Parse("2006-01-02", v.Hard.Min); err == nil {
				lo = fmt.Sprintf("DATE(%d,%d,%d)", t.Year(), t.Month(), t.Day())
			}
		}
		dv.Type, dv.Operator, dv.Formula1, dv.Formula2 = "date", "between", lo, "TODAY()"
		dv.SetError(excelize.DataValidationErrorStyleStop, v.Name, templateText(lang, "date_error"))
		return true
	}
	return false
}

// writeCodebookSheet lists the form's questions for the interviewer.
func (cb *Codebook) writeCodebookSheet(f *excelize.File, form, lang string) error {
	if _, err := f.NewSheet(CodebookSheet); err != nil {
		return err
	}
	head := []string{"variable", "question", "type", "required", "asked_when", "allowed", "expected", "choices"}
	if err := f.SetSheetRow(CodebookSheet, "A1", &head); err != nil {
		return err
	}
	var missing []string
	for _, m := range cb.Missing {
		missing = append(missing, m.Code+" = "+m.Label.In(lang, cb.Languages))
	}
	for i, v := range cb.Form(form) {
		var choices []string
		for _, c := range cb.Lists[v.List] {
			choices = append(choices, c.Code+" = "+c.Label.In(lang, cb.Languages))
		}
		if v.Kind != Date && v.Kind != TextType {
			choices = append(choices, missing...)
		}
		req := ""
		if v.Required {
			req = "yes"
		}
		row := []string{v.Name, v.Label.In(lang, cb.Languages), v.Type, req, v.Relevant, v.Hard.Describe(), v.Soft.Describe(), strings.Join(choices, "; ")}
		if err := f.SetSheetRow(CodebookSheet, fmt.Sprintf("A%d", i+2), &row); err != nil {
			return err
		}
	}
	return f.SetColWidth(CodebookSheet, "B", "B", 50)
}

// templateTexts are the template's own words (prompts and error messages
// of its validations) in the languages rct writes; the codebook gives the
// questions and choices in any language.
var templateTexts = map[string]map[string]string{
	"en": {"interview_date": "Date of the interview (dd/mm/yyyy)", "date_error": "dd/mm/yyyy, not in the future",
		"several": "several codes separated by ;", "choose": "Choose a value from the list"},
	"nl": {"interview_date": "Datum van het interview (dd/mm/jjjj)", "date_error": "dd/mm/jjjj, niet in de toekomst",
		"several": "meerdere codes gescheiden door ;", "choose": "Kies een waarde uit de lijst"},
	"fr": {"interview_date": "Date de l'entretien (jj/mm/aaaa)", "date_error": "jj/mm/aaaa, pas dans le futur",
		"several": "plusieurs codes séparés par ;", "choose": "Choisissez une valeur dans la liste"},
}

// templateText is one of the template's words in lang, else in English.
func templateText(lang, key string) string {
	if s, ok := templateTexts[lang][key]; ok {
		return s
	}
	return templateTexts["en"][key]
}

// excelSerial is a date's spreadsheet serial number (days since
// 1899-12-30, the 1900 system, for dates after February 1900).
func excelSerial(d time.Time) float64 {
	return float64(d.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
}
