package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rct-trials/rct/trial"
)

var funcs = template.FuncMap{
	"join": strings.Join,
	"has": func(role string, roles ...string) bool {
		for _, r := range roles {
			if r == role {
				return true
			}
		}
		return false
	},
}

// render writes a page: the named template with data, the user, the CSRF
// token of their forms and the trial.
func (s *Server) render(w http.ResponseWriter, r *http.Request, page string, u *Session, data map[string]any) {
	s.renderCode(w, r, http.StatusOK, page, u, data)
}

// renderCode writes a page with a status other than 200.
func (s *Server) renderCode(w http.ResponseWriter, r *http.Request, code int, page string, u *Session, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["User"] = u
	data["HasKey"] = s.cfg.Key != nil
	if u != nil {
		data["CSRF"] = u.CSRF
	}
	if p, _, err := s.cfg.DB.Protocol(r.Context()); err == nil {
		tr := p.Trial
		if !seesTitle(u) {
			tr.Title = ""
		}
		data["Trial"] = tr
	}
	var b bytes.Buffer
	if err := s.pages.ExecuteTemplate(&b, page, data); err != nil {
		http.Error(w, "serve: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// fail answers an error: JSON {"error"} for the API, a page otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, api bool, code int, msg string) {
	if api {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	s.renderCode(w, r, code, "error", userOf(r), map[string]any{"Code": code, "Status": http.StatusText(code), "Message": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// attachment sends bytes as a download.
func attachment(w http.ResponseWriter, name, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Write(b)
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func (s *Server) actor(u *Session) trial.Actor { return trial.Actor{Name: u.Name, Now: s.cfg.Now} }

func (s *Server) protocol(ctx context.Context) (*trial.Protocol, error) {
	p, _, err := s.cfg.DB.Protocol(ctx)
	return p, err
}

// fileStore keeps, for an hour, files made for one user to download once
// a page has shown them (an annotated workbook).
type fileStore struct {
	mu    sync.Mutex
	files map[string]storedFile
	now   func() time.Time
}

type storedFile struct {
	owner, name, contentType string
	data                     []byte
	made                     time.Time
}

func newFileStore(now func() time.Time) *fileStore {
	return &fileStore{files: map[string]storedFile{}, now: now}
}

func (f *fileStore) put(owner, name, contentType string, data []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, sf := range f.files {
		if f.now().Sub(sf.made) > time.Hour {
			delete(f.files, id)
		}
	}
	id := randomToken()
	f.files[id] = storedFile{owner, name, contentType, data, f.now()}
	return id
}

func (f *fileStore) get(owner, id string) (storedFile, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sf, ok := f.files[id]
	return sf, ok && sf.owner == owner
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, u *Session) error {
	sf, ok := s.files.get(u.Name, r.PathValue("id"))
	if !ok {
		return errorf(http.StatusNotFound, "no such file (files are kept for an hour, for the user they were made for)")
	}
	s.record(r.Context(), s.actor(u), "download", sf.name)
	attachment(w, sf.name, sf.contentType, sf.data)
	return nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request, _ *Session) error {
	if _, err := s.cfg.DB.Status(r.Context()); err != nil {
		http.Error(w, "the trial database cannot be read", http.StatusServiceUnavailable)
		return nil
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
	return nil
}
