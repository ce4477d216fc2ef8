package serve

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"time"

	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// allocations lists every allocation with its arm, with the server's key;
// the listing is an entry of the audit chain with the user.
func (s *Server) allocations(ctx context.Context, u *Session) (*trial.Protocol, []trial.AllocationRow, error) {
	p, err := s.protocol(ctx)
	if err != nil {
		return nil, nil, err
	}
	s.keyed.Lock()
	defer s.keyed.Unlock()
	rows, err := s.cfg.DB.AllocationList(ctx, p, s.cfg.Key, "", s.actor(u))
	return p, rows, err
}

// caseload lists the families of the arms the case managers guide (every
// arm but the reference), not withdrawn.
func (s *Server) caseload(ctx context.Context, u *Session) ([]trial.AllocationRow, error) {
	p, rows, err := s.allocations(ctx, u)
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

func (s *Server) caseloadPage(w http.ResponseWriter, r *http.Request, u *Session) error {
	rows, err := s.caseload(r.Context(), u)
	if err != nil {
		return err
	}
	s.render(w, r, "caseload", u, map[string]any{"Rows": rows, "Month": s.cfg.Now().Format("2006-01")})
	return nil
}

// month reads ?month=yyyy-mm (default: this month), not in the future.
func (s *Server) month(r *http.Request) (time.Time, error) {
	m := r.FormValue("month")
	if m == "" {
		m = s.cfg.Now().Format("2006-01")
	}
	t, err := time.Parse("2006-01", m)
	if err != nil || m > s.cfg.Now().Format("2006-01") {
		return time.Time{}, errorf(http.StatusBadRequest, "month %q: give a month that has begun, yyyy-mm", m)
	}
	return t, nil
}

func (s *Server) caselogTemplate(w http.ResponseWriter, r *http.Request, u *Session) error {
	ctx := r.Context()
	m, err := s.month(r)
	if err != nil {
		return err
	}
	p, cb, version, err := s.codebook(ctx)
	if err != nil {
		return err
	}
	load, err := s.caseload(ctx, u)
	if err != nil {
		return err
	}
	rows, err := survey.CaseLogRows(ctx, s.cfg.DB, caseloadSet(load), m)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := cb.WriteTemplate(&b, survey.TemplateOptions{Form: survey.CaseLog, TrialID: p.Trial.ID, CodebookVersion: version, Today: s.actor(u).Today(), Rows: rows}); err != nil {
		return err
	}
	s.record(ctx, s.actor(u), "download", "caselog template "+m.Format("2006-01"))
	attachment(w, "caselog-"+m.Format("2006-01")+".xlsx", xlsxType, b.Bytes())
	return nil
}

// importLog imports an upload into the sealed activity log, for the
// caseload, and shows the outcome.
func (s *Server) importLog(w http.ResponseWriter, r *http.Request, u *Session, up *upload, again string) error {
	load, err := s.caseload(r.Context(), u)
	if err != nil {
		return err
	}
	c, err := s.importFile(r.Context(), u, survey.CaseLog, up, survey.ImportOptions{Caseload: caseloadSet(load), Key: s.cfg.Key})
	if err != nil {
		return err
	}
	s.renderCode(w, r, c.status(), "imported", u, map[string]any{"C": c, "Again": again})
	return nil
}

func (s *Server) caselogUpload(w http.ResponseWriter, r *http.Request, u *Session) error {
	up, err := s.receive(r, "file")
	if err != nil {
		return err
	}
	defer up.Close()
	return s.importLog(w, r, u, up, "/caseload")
}

// logField is one variable of the activity-log form.
type logField struct {
	Name, Label, Kind string
	Choices           []survey.Choice
}

func (s *Server) caselogFormPage(w http.ResponseWriter, r *http.Request, u *Session) error {
	_, cb, _, err := s.codebook(r.Context())
	if err != nil {
		return err
	}
	var fields []logField
	lang := cb.Languages[0]
	for _, v := range cb.Form(survey.CaseLog) {
		fields = append(fields, logField{Name: v.Name, Label: v.Label.In(lang, cb.Languages), Kind: v.Kind, Choices: cb.Lists[v.List]})
	}
	s.render(w, r, "caselogform", u, map[string]any{"Fields": fields, "Family": r.FormValue("family"), "Month": r.FormValue("month")})
	return nil
}

// caselogForm imports one family's month from the form, as a one-row CSV
// through the same checks as a workbook.
func (s *Server) caselogForm(w http.ResponseWriter, r *http.Request, u *Session) error {
	_, cb, _, err := s.codebook(r.Context())
	if err != nil {
		return err
	}
	family, month := r.FormValue("family"), r.FormValue("month")
	head, row := []string{"study_code", "month"}, []string{family, month}
	for _, v := range cb.Form(survey.CaseLog) {
		head, row = append(head, v.Name), append(row, r.FormValue(v.Name))
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(head)
	cw.Write(row)
	cw.Flush()
	up, err := s.keep("caselog-form-"+family+"-"+month+".csv", &b)
	if err != nil {
		return err
	}
	defer up.Close()
	return s.importLog(w, r, u, up, "/caselog/form?"+url.Values{"family": {family}, "month": {month}}.Encode())
}

// apiAllocation: the caseload with arms for a case manager; every
// allocation with its arm for a randomizer. Recorded in the audit chain.
func (s *Server) apiAllocation(w http.ResponseWriter, r *http.Request, u *Session) error {
	var rows []trial.AllocationRow
	var err error
	if u.Role == trial.RoleCaseManager {
		rows, err = s.caseload(r.Context(), u)
	} else {
		_, rows, err = s.allocations(r.Context(), u)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rows)
	return nil
}
