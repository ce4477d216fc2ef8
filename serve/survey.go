package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// maxUpload bounds an uploaded workbook or list.
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

// dueSlot is a family to interview, as the due list shows it.
type dueSlot struct {
	Wave, Label string
	survey.Slot
}

func (s *Server) duePage(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	mine, err := s.families(ctx, u)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	today := s.actor(u).Today()
	var due []dueSlot
	for _, wv := range p.Waves {
		slots, err := survey.ToInterview(ctx, s.cfg.DB, p, wv.ID, trial.Span("14d"), today)
		if err != nil {
			s.fail(w, r, false, http.StatusInternalServerError, err.Error())
			return
		}
		for _, sl := range slots {
			if mine == nil || mine[sl.StudyCode] {
				due = append(due, dueSlot{wv.ID, wv.Label, sl})
			}
		}
	}
	s.render(w, r, "due", u, map[string]any{"Due": due, "Waves": p.Waves, "Assigned": len(mine), "Interviewer": mine != nil})
}

// surveyTemplate sends a wave's template with the user's families due.
func (s *Server) surveyTemplate(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	api := strings.HasPrefix(r.URL.Path, "/api/")
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, api, http.StatusInternalServerError, err.Error())
		return
	}
	wave := r.URL.Query().Get("wave")
	if _, ok := p.Wave(wave); !ok {
		s.fail(w, r, api, http.StatusBadRequest, fmt.Sprintf("no wave %q (waves: %s)", wave, strings.Join(survey.Waves(p), ", ")))
		return
	}
	cb, version, err := survey.Current(ctx, s.cfg.DB, p)
	if err != nil {
		s.fail(w, r, api, http.StatusConflict, err.Error())
		return
	}
	mine, err := s.families(ctx, u)
	if err != nil {
		s.fail(w, r, api, http.StatusInternalServerError, err.Error())
		return
	}
	today := s.actor(u).Today()
	slots, err := survey.ToInterview(ctx, s.cfg.DB, p, wave, trial.Span("14d"), today)
	if err != nil {
		s.fail(w, r, api, http.StatusInternalServerError, err.Error())
		return
	}
	var rows []survey.TemplateRow
	for _, sl := range slots {
		if mine == nil || mine[sl.StudyCode] {
			rows = append(rows, sl.Row())
		}
	}
	var b bytes.Buffer
	if err := cb.WriteTemplate(&b, survey.TemplateOptions{Form: wave, TrialID: p.Trial.ID, CodebookVersion: version, Interviewer: u.Name, Today: today, Rows: rows}); err != nil {
		s.fail(w, r, api, http.StatusInternalServerError, err.Error())
		return
	}
	name := fmt.Sprintf("%s-%s-%s.xlsx", wave, safeName(u.Name), today.Format("2006-01-02"))
	s.record(ctx, s.actor(u), "download", fmt.Sprintf("template %s (%d families)", wave, len(rows)))
	attachment(w, name, xlsxType, b.Bytes())
}

func (s *Server) uploadPage(w http.ResponseWriter, r *http.Request, u *Session) {
	p, err := s.protocol(r.Context())
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "upload", u, map[string]any{"Waves": p.Waves, "Wave": r.URL.Query().Get("wave")})
}

// upload is a file sent in a form, saved to a private folder under its
// own (cleaned) name while it is checked.
type upload struct {
	dir, path, name string
}

func (up *upload) Close() { os.RemoveAll(up.dir) }

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(filepath.Base(s), "_")
	if s == "" || s == "." || s == ".." {
		s = "upload"
	}
	return s
}

// receive reads the form's file field into a private temporary folder.
func (s *Server) receive(w http.ResponseWriter, r *http.Request, field string) (*upload, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		return nil, fmt.Errorf("the upload is not a form with a file of at most %d MB: %v", maxUpload>>20, err)
	}
	f, fh, err := r.FormFile(field)
	if err != nil {
		return nil, fmt.Errorf("choose a file (form field %q)", field)
	}
	defer f.Close()
	return s.save(f, fh)
}

func (s *Server) save(f multipart.File, fh *multipart.FileHeader) (*upload, error) {
	dir, err := os.MkdirTemp(s.cfg.TempDir, "rct-upload-")
	if err != nil {
		return nil, err
	}
	up := &upload{dir: dir, name: safeName(fh.Filename)}
	up.path = filepath.Join(dir, up.name)
	out, err := os.OpenFile(up.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = io.Copy(out, f)
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

// checked is an import's outcome as a page or the API shows it.
type checked struct {
	Result    *survey.ImportResult
	Refused   bool
	Annotated string // id of the annotated workbook, "" when none
}

// importFile imports an upload into a form (a wave, or the activity log
// with the key): the same checks as rct survey import; an interviewer may
// report their families only. Findings name the file as uploaded; an XLSX
// with findings gets an annotated copy to download.
func (s *Server) importFile(ctx context.Context, u *Session, form string, up *upload, in survey.ImportOptions) (*checked, error) {
	in.Form, in.Files, in.Names, in.Actor = form, []string{up.path}, []string{up.name}, s.actor(u)
	p, err := s.protocol(ctx)
	if err != nil {
		return nil, err
	}
	mine, err := s.families(ctx, u)
	if err != nil {
		return nil, err
	}
	in.Assigned = mine
	if form == survey.CaseLog {
		s.keyed.Lock()
		defer s.keyed.Unlock()
	}
	res, err := survey.Import(ctx, s.cfg.DB, p, in)
	var ie *survey.ImportError
	if err != nil && !errors.As(err, &ie) {
		return nil, err
	}
	out := &checked{Result: res, Refused: err != nil}
	if res == nil {
		return nil, err
	}
	ext := strings.ToLower(filepath.Ext(up.name))
	if (ext == ".xlsx" || ext == ".xlsm") && res.Errors+res.Warnings > 0 {
		var b bytes.Buffer
		if survey.Annotate(up.path, &b, res.Issues) == nil {
			out.Annotated = s.files.put(u.Name, strings.TrimSuffix(up.name, filepath.Ext(up.name))+".checked.xlsx", xlsxType, b.Bytes())
		}
	}
	for i := range res.Issues {
		res.Issues[i].File = up.name
	}
	for i := range res.Files {
		res.Files[i].File = up.name
	}
	verb := "upload"
	if out.Refused {
		verb = "upload refused"
	}
	s.record(ctx, s.actor(u), verb, fmt.Sprintf("%s %s sha256 %s: %d rows, %d errors, %d warnings", form, up.name, fileSHA(res), res.Rows, res.Errors, res.Warnings))
	return out, nil
}

func fileSHA(res *survey.ImportResult) string {
	if len(res.Files) == 0 {
		return ""
	}
	return res.Files[0].SHA256
}

func (s *Server) surveyUpload(w http.ResponseWriter, r *http.Request, u *Session) {
	up, err := s.receive(w, r, "file")
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	defer up.Close()
	wave := r.FormValue("wave")
	c, err := s.importFile(r.Context(), u, wave, up, survey.ImportOptions{})
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	code := http.StatusOK
	if c.Refused {
		code = http.StatusUnprocessableEntity
	}
	s.renderCode(w, r, code, "imported", u, map[string]any{"C": c, "Wave": wave, "Again": "/survey/upload?wave=" + wave})
}

// apiSurveyImport: POST /api/survey/import?wave=W with the multipart field
// file: 200 with the import's summary, 422 with every finding when
// refused (nothing written).
func (s *Server) apiSurveyImport(w http.ResponseWriter, r *http.Request, u *Session) {
	up, err := s.receive(w, r, "file")
	if err != nil {
		s.fail(w, r, true, http.StatusBadRequest, err.Error())
		return
	}
	defer up.Close()
	c, err := s.importFile(r.Context(), u, r.URL.Query().Get("wave"), up, survey.ImportOptions{})
	if err != nil {
		s.fail(w, r, true, http.StatusBadRequest, err.Error())
		return
	}
	code := http.StatusOK
	if c.Refused {
		code = http.StatusUnprocessableEntity
	}
	writeJSON(w, code, c.Result)
}

func (s *Server) importsPage(w http.ResponseWriter, r *http.Request, u *Session) {
	list, err := survey.Imports(r.Context(), s.cfg.DB, u.Name)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "imports", u, map[string]any{"Imports": list})
}
