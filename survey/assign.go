package survey

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
)

// Assignments say which interviewer visits which family: read from a
// file with the columns interviewer and study_code (CSV or XLSX), one
// family per row.
type Assignments struct {
	ByCode       map[string]string // study code → interviewer
	Interviewers []string          // in the file's order
}

// ReadAssignments reads an assignment file. Every problem is named by
// file, row and column: a blank interviewer, a study code that is not an
// enrolled family (known), a family assigned twice.
func ReadAssignments(path string, known map[string]bool) (*Assignments, error) {
	t, err := sheet.Open(path, sheet.Options{})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	ic, cc := t.Col("interviewer"), t.Col("study_code")
	if ic < 0 || cc < 0 {
		return nil, &dataerr.Error{File: path, Sheet: t.Sheet, Row: t.HeaderRow,
			Err: fmt.Errorf("the assignment file needs the columns interviewer and study_code (has %s)", strings.Join(t.Header, ", "))}
	}
	a := &Assignments{ByCode: map[string]string{}}
	rowOf := map[string]int{}
	var errs dataerr.List
	for len(errs) < 100 {
		row, err := t.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		who, code := strings.TrimSpace(row.Cells[ic]), trial.NormalizeCode(row.Cells[cc])
		switch {
		case who == "":
			errs = append(errs, t.At(row.Num, ic, "no interviewer for %s", code))
		case !known[code]:
			errs = append(errs, t.At(row.Num, cc, "%q is not the study code of an enrolled family", row.Cells[cc]))
		case rowOf[code] > 0:
			errs = append(errs, t.At(row.Num, cc, "%s is assigned twice (also row %d)", code, rowOf[code]))
		default:
			rowOf[code] = row.Num
			if !slices.Contains(a.Interviewers, who) {
				a.Interviewers = append(a.Interviewers, who)
			}
			a.ByCode[code] = who
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(a.ByCode) == 0 {
		return nil, dataerr.New(path, "no assignments below the header")
	}
	return a, nil
}

// Split divides a template's rows among the interviewers: each one's rows
// with the interviewer pre-filled, and the study codes of rows nobody is
// assigned.
func (a *Assignments) Split(rows []TemplateRow) (map[string][]TemplateRow, []string) {
	out := map[string][]TemplateRow{}
	var none []string
	for _, r := range rows {
		who, ok := a.ByCode[r.StudyCode]
		if !ok {
			none = append(none, r.StudyCode)
			continue
		}
		r.Interviewer = who
		out[who] = append(out[who], r)
	}
	return out, none
}

// KeepFamilies keeps a template's rows of the given families (one
// interviewer's), and names those of them that have no row (not due).
func KeepFamilies(rows []TemplateRow, codes []string) ([]TemplateRow, []string) {
	want := map[string]bool{}
	for _, c := range codes {
		want[c] = true
	}
	var kept []TemplateRow
	for _, r := range rows {
		if want[r.StudyCode] {
			kept = append(kept, r)
			delete(want, r.StudyCode)
		}
	}
	var missing []string
	for _, c := range codes {
		if want[c] {
			missing = append(missing, c)
		}
	}
	return kept, missing
}
