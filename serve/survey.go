package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/rct-trials/rct/internal/files"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// maxUpload bounds the body of a request that changes something (an
// uploaded workbook or list).
const maxUpload = 64 << 20

// families returns the families a user may see in the survey: an
// interviewer's assigned ones (an empty map when none), everyone's (nil)
// for the others.
func (s *Server) families(ctx context.Context, u *Session) (map[string]bool, error) {
	if u.Role != trial.RoleInterviewer {
		return nil, nil
	}
	return s.cfg.DB.Assigned(ctx, u.Name)
}

// due returns a wave's families to interview that the user may see: due,
// overdue, and those whose window opens within 14 days.
func (s *Server) due(ctx context.Context, u *Session, p *trial.Protocol, wave string) ([]survey.Slot, error) {
	mine, err := s.families(ctx, u)
	if err != nil {
		return nil, err
	}
	slots, err := survey.ToInterview(ctx, s.cfg.DB, p, wave, trial.Span("14d"), s.actor(u).Today())
	if err != nil {
		return nil, err
	}
	var out []survey.Slot
	for _, sl := range slots {
		if mine == nil || mine[sl.StudyCode] {
			out = append(out, sl)
		}
	}
	return out, nil
}

// dueSlot is a family to interview, as the due list shows it.
type dueSlot struct {
	Wave, Label string
	survey.Slot
}

func (s *Server) duePage(w http.ResponseWriter, r *http.Request, u *Session) error {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		return err
	}
	var due []dueSlot
	for _, wv := range p.Waves {
		slots, err := s.due(ctx, u, p, wv.ID)
		if err != nil {
			return err
		}
		for _, sl := range slots {
			due = append(due, dueSlot{wv.ID, wv.Label, sl})
		}
	}
	mine, err := s.families(ctx, u)
	if err != nil {
		return err
	}
	s.render(w, r, "due", u, map[string]any{"Due": due, "Waves": p.Waves, "Assigned": len(mine), "Interviewer": mine != nil})
	return nil
}

// codebook returns the protocol and the codebook in force (409 when none
// fits it).
func (s *Server) codebook(ctx context.Context) (*trial.Protocol, *survey.Codebook, int, error) {
	p, err := s.protocol(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	cb, version, err := survey.Current(ctx, s.cfg.DB, p)
	return p, cb, version, withStatus(http.StatusConflict, err)
}

// surveyTemplate sends a wave's template with the user's families due.
func (s *Server) surveyTemplate(w http.ResponseWriter, r *http.Request, u *Session) error {
	ctx := r.Context()
	p, cb, version, err := s.codebook(ctx)
	if err != nil {
		return err
	}
	wave := r.URL.Query().Get("wave")
	if _, ok := p.Wave(wave); !ok {
		return errorf(http.StatusBadRequest, "no wave %q (waves: %s)", wave, strings.Join(survey.Waves(p), ", "))
	}
	slots, err := s.due(ctx, u, p, wave)
	if err != nil {
		return err
	}
	rows := make([]survey.TemplateRow, len(slots))
	for i, sl := range slots {
		rows[i] = sl.Row()
	}
	today := s.actor(u).Today()
	var b bytes.Buffer
	if err := cb.WriteTemplate(&b, survey.TemplateOptions{Form: wave, TrialID: p.Trial.ID, CodebookVersion: version, Interviewer: u.Name, Today: today, Rows: rows}); err != nil {
		return err
	}
	s.record(ctx, s.actor(u), "download", fmt.Sprintf("template %s (%d families)", wave, len(rows)))
	attachment(w, fmt.Sprintf("%s-%s-%s.xlsx", wave, files.SafeName(u.Name, "interviewer"), today.Format("2006-01-02")), xlsxType, b.Bytes())
	return nil
}

func (s *Server) uploadPage(w http.ResponseWriter, r *http.Request, u *Session) error {
	p, err := s.protocol(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, "upload", u, map[string]any{"Waves": p.Waves, "Wave": r.URL.Query().Get("wave")})
	return nil
}

// upload is a file sent in a form, saved to a private folder under its
// own (cleaned) name while it is checked.
type upload struct {
	dir, path, name string
}

func (up *upload) Close() { os.RemoveAll(up.dir) }

// keep saves what src holds as name in a private temporary folder.
func (s *Server) keep(name string, src io.Reader) (*upload, error) {
	dir, err := os.MkdirTemp(s.cfg.TempDir, "rct-upload-")
	if err != nil {
		return nil, err
	}
	up := &upload{dir: dir, name: files.SafeName(name, "upload")}
	up.path = filepath.Join(dir, up.name)
	out, err := os.OpenFile(up.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = io.Copy(out, src)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		up.Close()
		return nil, err
	}
	return up, nil
}

// receive keeps the form's file field (the guard bounds the body).
func (s *Server) receive(r *http.Request, field string) (*upload, error) {
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		return nil, errorf(http.StatusBadRequest, "the upload is not a form with a file of at most %d MB: %v", maxUpload>>20, err)
	}
	f, fh, err := r.FormFile(field)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "choose a file (form field %q)", field)
	}
	defer f.Close()
	return s.keep(fh.Filename, f)
}

// checked is an import's outcome as a page or the API shows it.
type checked struct {
	Result    *survey.ImportResult
	Refused   bool
	Annotated string // id of the annotated workbook, "" when none
}

// status is 200 for an import, 422 for a refusal.
func (c *checked) status() int {
	if c.Refused {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// importFile imports an upload into a form (a wave, or the activity log
// with the key): the same checks as rct survey import, the findings naming
// the file as uploaded; an interviewer may report their families only. An
// XLSX with findings gets an annotated copy to download.
func (s *Server) importFile(ctx context.Context, u *Session, form string, up *upload, in survey.ImportOptions) (*checked, error) {
	in.Form, in.Files, in.Names, in.Actor = form, []string{up.path}, []string{up.name}, s.actor(u)
	p, err := s.protocol(ctx)
	if err != nil {
		return nil, err
	}
	if in.Assigned, err = s.families(ctx, u); err != nil {
		return nil, err
	}
	if form == survey.CaseLog {
		s.keyed.Lock()
		defer s.keyed.Unlock()
	}
	res, err := survey.Import(ctx, s.cfg.DB, p, in)
	var ie *survey.ImportError
	if res == nil || err != nil && !errors.As(err, &ie) {
		return nil, withStatus(http.StatusBadRequest, err)
	}
	out := &checked{Result: res, Refused: err != nil}
	ext := strings.ToLower(filepath.Ext(up.name))
	if (ext == ".xlsx" || ext == ".xlsm") && res.Errors+res.Warnings > 0 {
		var b bytes.Buffer
		if survey.Annotate(up.path, up.name, &b, res.Issues) == nil {
			out.Annotated = s.files.put(u.Name, strings.TrimSuffix(up.name, filepath.Ext(up.name))+".checked.xlsx", xlsxType, b.Bytes())
		}
	}
	verb := "upload"
	if out.Refused {
		verb = "upload refused"
	}
	s.record(ctx, s.actor(u), verb, fmt.Sprintf("%s %s sha256 %s: %d rows, %d errors, %d warnings", form, up.name, res.Files[0].SHA256, res.Rows, res.Errors, res.Warnings))
	return out, nil
}

func (s *Server) surveyUpload(w http.ResponseWriter, r *http.Request, u *Session) error {
	up, err := s.receive(r, "file")
	if err != nil {
		return err
	}
	defer up.Close()
	wave := r.FormValue("wave")
	c, err := s.importFile(r.Context(), u, wave, up, survey.ImportOptions{})
	if err != nil {
		return err
	}
	s.renderCode(w, r, c.status(), "imported", u, map[string]any{"C": c, "Again": "/survey/upload?wave=" + wave})
	return nil
}

// apiSurveyImport: POST /api/survey/import?wave=W with the multipart field
// file: 200 with the import's summary, 422 with every finding when
// refused (nothing written).
func (s *Server) apiSurveyImport(w http.ResponseWriter, r *http.Request, u *Session) error {
	up, err := s.receive(r, "file")
	if err != nil {
		return err
	}
	defer up.Close()
	c, err := s.importFile(r.Context(), u, r.URL.Query().Get("wave"), up, survey.ImportOptions{})
	if err != nil {
		return err
	}
	writeJSON(w, c.status(), c.Result)
	return nil
}

func (s *Server) importsPage(w http.ResponseWriter, r *http.Request, u *Session) error {
	list, err := survey.Imports(r.Context(), s.cfg.DB, u.Name)
	if err != nil {
		return err
	}
	s.render(w, r, "imports", u, map[string]any{"Imports": list})
	return nil
}
