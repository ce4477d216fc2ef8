package serve

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// caseload lists, with the server's key, the families of the arms the
// case managers guide (every arm but the reference), not withdrawn; the
// listing is an entry of the audit chain with the user.
func (s *Server) caseload(ctx context.Context, u *Session) ([]trial.AllocationRow, error) {
	p, err := s.protocol(ctx)
	if err != nil {
		return nil, err
	}
	s.keyed.Lock()
	rows, err := s.cfg.DB.AllocationList(ctx, p, s.cfg.Key, "", s.actor(u))
	s.keyed.Unlock()
	if err != nil {
		return nil, err
	}
	out := []trial.AllocationRow{}
	for _, r := range rows {
		if r.Arm != p.ReferenceArm().ID && !r.Withdrawn {
			out = append(out, r)
		}
	}
	return out, nil
}

func caseloadSet(rows []trial.AllocationRow) map[string]bool {
	m := map[string]bool{}
	for _, r := range rows {
		m[r.StudyCode] = true
	}
	return m
}

func (s *Server) caseloadPage(w http.ResponseWriter, r *http.Request, u *Session) {
	rows, err := s.caseload(r.Context(), u)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "caseload", u, map[string]any{"Rows": rows, "Month": s.cfg.Now().Format("2006-01")})
}

// month reads ?month=yyyy-mm (default: this month), not in the future.
func (s *Server) month(r *http.Request) (time.Time, error) {
	m := r.FormValue("month")
	if m == "" {
		m = s.cfg.Now().Format("2006-01")
	}
	t, err := time.Parse("2006-01", m)
	if err != nil || m > s.cfg.Now().Format("2006-01") {
		return time.Time{}, fmt.Errorf("month %q: give a month that has begun, yyyy-mm", m)
	}
	return t, nil
}

func (s *Server) caselogTemplate(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	m, err := s.month(r)
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	cb, version, err := survey.Current(ctx, s.cfg.DB, p)
	if err != nil {
		s.fail(w, r, false, http.StatusConflict, err.Error())
		return
	}
	load, err := s.caseload(ctx, u)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	rows, err := survey.CaseLogRows(ctx, s.cfg.DB, caseloadSet(load), m)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	var b bytes.Buffer
	if err := cb.WriteTemplate(&b, survey.TemplateOptions{Form: survey.CaseLog, TrialID: p.Trial.ID, CodebookVersion: version, Today: s.actor(u).Today(), Rows: rows}); err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	s.record(ctx, s.actor(u), "download", "caselog template "+m.Format("2006-01"))
	attachment(w, "caselog-"+m.Format("2006-01")+".xlsx", xlsxType, b.Bytes())
}

// importLog imports an upload into the sealed activity log, for the
// caseload.
func (s *Server) importLog(ctx context.Context, u *Session, up *upload) (*checked, error) {
	load, err := s.caseload(ctx, u)
	if err != nil {
		return nil, err
	}
	return s.importFile(ctx, u, survey.CaseLog, up, survey.ImportOptions{Caseload: caseloadSet(load), Key: s.cfg.Key})
}

func (s *Server) caselogUpload(w http.ResponseWriter, r *http.Request, u *Session) {
	up, err := s.receive(w, r, "file")
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	defer up.Close()
	c, err := s.importLog(r.Context(), u, up)
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	code := http.StatusOK
	if c.Refused {
		code = http.StatusUnprocessableEntity
	}
	s.renderCode(w, r, code, "imported", u, map[string]any{"C": c, "Wave": survey.CaseLog, "Again": "/caseload"})
}

// logField is one variable of the activity-log form.
type logField struct {
	Name, Label, Kind string
	Choices           []survey.Choice
}

func (s *Server) caselogFormPage(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	cb, _, err := survey.Current(ctx, s.cfg.DB, p)
	if err != nil {
		s.fail(w, r, false, http.StatusConflict, err.Error())
		return
	}
	var fields []logField
	lang := cb.Languages[0]
	for _, v := range cb.Form(survey.CaseLog) {
		fields = append(fields, logField{Name: v.Name, Label: v.Label.In(lang, cb.Languages), Kind: v.Kind, Choices: cb.Lists[v.List]})
	}
	s.render(w, r, "caselogform", u, map[string]any{"Fields": fields, "Family": r.FormValue("family"), "Month": r.FormValue("month"), "Lang": lang, "Codebook": cb})
}

// caselogForm imports one family's month from the form, as a one-row CSV
// through the same checks as a workbook.
func (s *Server) caselogForm(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	cb, _, err := survey.Current(ctx, s.cfg.DB, p)
	if err != nil {
		s.fail(w, r, false, http.StatusConflict, err.Error())
		return
	}
	head, row := []string{"study_code", "month"}, []string{r.FormValue("family"), r.FormValue("month")}
	for _, v := range cb.Form(survey.CaseLog) {
		head, row = append(head, v.Name), append(row, r.FormValue(v.Name))
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(head)
	cw.Write(row)
	cw.Flush()
	dir, err := os.MkdirTemp(s.cfg.TempDir, "rct-upload-")
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	up := &upload{dir: dir, name: "caselog-form-" + safeName(row[0]) + "-" + safeName(row[1]) + ".csv"}
	up.path = filepath.Join(dir, up.name)
	defer up.Close()
	if err := os.WriteFile(up.path, b.Bytes(), 0o600); err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	c, err := s.importLog(ctx, u, up)
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	code := http.StatusOK
	if c.Refused {
		code = http.StatusUnprocessableEntity
	}
	s.renderCode(w, r, code, "imported", u, map[string]any{"C": c, "Wave": survey.CaseLog, "Again": fmt.Sprintf("/caselog/form?family=%s&month=%s", row[0], row[1])})
}

// apiAllocation: the caseload with arms for a case manager; every
// allocation with its arm for a randomizer. Recorded in the audit chain.
func (s *Server) apiAllocation(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	if u.Role == trial.RoleCaseManager {
		rows, err := s.caseload(ctx, u)
		if err != nil {
			s.fail(w, r, true, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, rows)
		return
	}
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, true, http.StatusInternalServerError, err.Error())
		return
	}
	s.keyed.Lock()
	rows, err := s.cfg.DB.AllocationList(ctx, p, s.cfg.Key, "", s.actor(u))
	s.keyed.Unlock()
	if err != nil {
		s.fail(w, r, true, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rows)
}
