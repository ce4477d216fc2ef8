package serve

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rct-trials/rct/trial"
)

// Config is what a server serves and how.
type Config struct {
	DB        *trial.DB
	Key       *trial.AllocationKey // nil: only what needs no key
	PseudoKey *trial.PseudoKey     // nil: no enrolment
	Now       func() time.Time
	Log       io.Writer // one line per request: time, user, method, path, status, duration
	// Secure sets the Secure attribute of the session cookie: true except
	// for plain HTTP on the loopback interface (development).
	Secure bool
	// IdleTimeout and MaxAge end a session after inactivity and after it
	// began (defaults 30 minutes and 12 hours).
	IdleTimeout, MaxAge time.Duration
	// TempDir holds uploads while they are checked (default: the system's).
	TempDir string
	// Draws overrides the protocol's randomization-inference draws of the
	// analyses served (0: the protocol's).
	Draws int
}

// Server serves one trial.
type Server struct {
	cfg      Config
	sessions *sessions
	throttle *throttle
	pages    *template.Template
	files    *fileStore
	keyed    sync.Mutex // keyed writes one at a time: the witness follows the chain in order
	routes   []Route
}

//go:embed templates/*.html
var templateFS embed.FS

// New makes a server of cfg.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, fmt.Errorf("serve: no database")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 12 * time.Hour
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	pages, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, sessions: newSessions(cfg), throttle: newThrottle(cfg.Now), pages: pages, files: newFileStore(cfg.Now)}
	s.routes = s.table()
	return s, nil
}

// Route is one path of the server: who may use it and whether it needs the
// server's key.
type Route struct {
	Pattern string   // method and path, as http.ServeMux reads them
	Roles   []string // nil: anyone, without a session (login, health)
	Key     bool     // served only when the server holds the allocation key
	// handle answers the request, or returns the error the guard answers
	// (its status from a statusError, else 500) before writing anything.
	handle func(w http.ResponseWriter, r *http.Request, u *Session) error
}

// Routes lists every route (for the role matrix).
func (s *Server) Routes() []Route { return s.routes }

var (
	everyone    = trial.Roles
	surveyRoles = []string{trial.RoleInterviewer, trial.RoleResearcher}
	trialRoles  = []string{trial.RoleResearcher, trial.RoleRandomizer}
	analysts    = []string{trial.RoleAnalyst, trial.RoleResearcher}
)

// table is every route of the server.
func (s *Server) table() []Route {
	return []Route{
		{"GET /healthz", nil, false, s.health},
		{"GET /login", nil, false, s.loginPage},
		{"POST /login", nil, false, s.loginForm},
		{"POST /api/login", nil, false, s.apiLogin},
		{"POST /logout", everyone, false, s.logout},
		{"POST /api/logout", everyone, false, s.logout},
		{"GET /{$}", everyone, false, s.home},
		{"GET /status", everyone, false, s.statusPage},
		{"GET /api/status", everyone, false, s.apiStatus},
		{"GET /api/me", everyone, false, s.apiMe},

		{"GET /due", surveyRoles, false, s.duePage},
		{"GET /survey/template", surveyRoles, false, s.surveyTemplate},
		{"GET /api/survey/template", surveyRoles, false, s.surveyTemplate},
		{"GET /survey/upload", surveyRoles, false, s.uploadPage},
		{"POST /survey/upload", surveyRoles, false, s.surveyUpload},
		{"POST /api/survey/import", surveyRoles, false, s.apiSurveyImport},
		{"GET /imports", surveyRoles, false, s.importsPage},
		{"GET /files/{id}", everyone, false, s.download},

		{"GET /caseload", []string{trial.RoleCaseManager}, true, s.caseloadPage},
		{"GET /caselog/template", []string{trial.RoleCaseManager}, true, s.caselogTemplate},
		{"POST /caselog/upload", []string{trial.RoleCaseManager}, true, s.caselogUpload},
		{"GET /caselog/form", []string{trial.RoleCaseManager}, true, s.caselogFormPage},
		{"POST /caselog/form", []string{trial.RoleCaseManager}, true, s.caselogForm},
		{"GET /api/allocation", []string{trial.RoleCaseManager, trial.RoleRandomizer}, true, s.apiAllocation},

		{"GET /enroll", trialRoles, false, s.enrollPage},
		{"POST /enroll", trialRoles, false, s.enroll},
		{"GET /randomize", trialRoles, true, s.randomizePage},
		{"POST /randomize", trialRoles, true, s.randomize},
		{"POST /withdraw", trialRoles, false, s.withdraw},
		{"POST /unblind", []string{trial.RoleRandomizer}, true, s.unblind},
		{"GET /audit", trialRoles, false, s.auditPage},

		{"GET /analysis", analysts, false, s.analysisPage},
		{"GET /report", analysts, false, s.reportPage},
		{"GET /export/{file}", analysts, false, s.export},
	}
}

// Handler is the server's http.Handler: every route behind the session,
// role, key and CSRF checks, logged.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.Pattern, s.guard(rt))
	}
	return s.logged(securityHeaders(mux))
}

// guard checks, before a route's handler: a live session (else the login
// page, or 401 for the API), the role (403), the key (503), and on every
// request that changes something the CSRF token (403).
func (s *Server) guard(rt Route) http.Handler {
	api := strings.Contains(rt.Pattern, " /api/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			// Bounded before anything reads it (the CSRF token of a
			// multipart form is read with the form).
			r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
		}
		if r.Method != http.MethodGet && !sameOrigin(r) {
			s.fail(w, r, api, http.StatusForbidden, "the request comes from another site")
			return
		}
		if rt.Roles == nil {
			s.answer(w, r, api, rt.handle(w, r, nil))
			return
		}
		u := s.sessions.get(w, r)
		if u != nil && !s.current(r.Context(), u) {
			s.sessions.end(w, u)
			u = nil
		}
		if u == nil {
			if api || r.Method != http.MethodGet {
				s.fail(w, r, api, http.StatusUnauthorized, "log in first")
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		setUser(r, u)
		switch {
		case !slices.Contains(rt.Roles, u.Role):
			s.fail(w, r, api, http.StatusForbidden, "a "+u.Role+" may not do this")
		case r.Method != http.MethodGet && !u.validCSRF(r):
			s.fail(w, r, api, http.StatusForbidden, "the form has expired or was not sent from this site: reload the page")
		case rt.Key && s.cfg.Key == nil:
			s.fail(w, r, api, http.StatusServiceUnavailable, "this needs the allocation key, and the server was started without it (rct serve --key)")
		default:
			s.answer(w, r, api, rt.handle(w, r, u))
		}
	})
}

// statusError is an error and the HTTP status that answers it.
type statusError struct {
	code int
	err  error
}

func (e statusError) Error() string { return e.err.Error() }
func (e statusError) Unwrap() error { return e.err }

// withStatus gives err (when not nil) the status that answers it.
func withStatus(code int, err error) error {
	if err == nil {
		return nil
	}
	return statusError{code, err}
}

// errorf is an error answered with code.
func errorf(code int, format string, args ...any) error {
	return statusError{code, fmt.Errorf(format, args...)}
}

// answer answers a handler's error: its status (500 unless it says),
// JSON for the API, a page otherwise.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, api bool, err error) {
	if err == nil {
		return
	}
	code := http.StatusInternalServerError
	var se statusError
	if errors.As(err, &se) {
		code = se.code
	}
	s.fail(w, r, api, code, err.Error())
}

// current reports whether a session's account still stands as it did at
// login: not disabled, not locked, the same password (rct user passwd or
// disable, run beside the server, end its sessions).
func (s *Server) current(ctx context.Context, u *Session) bool {
	acct, err := s.cfg.DB.UserByName(ctx, u.Name)
	return err == nil && !acct.Disabled && !acct.Locked && acct.Hash == u.hash && acct.Role == u.Role
}

// sameOrigin refuses a request whose Origin (or Sec-Fetch-Site) says
// another site sent it.
func sameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	o = strings.TrimPrefix(strings.TrimPrefix(o, "https://"), "http://")
	return o == r.Host
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin") // no-referrer would make browsers send Origin: null
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logged writes a line per request: time, user and role, method, path
// (never the query: it may name a family), status, duration.
func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		r = withUserSlot(r)
		h.ServeHTTP(sw, r)
		who := "-"
		if u := userOf(r); u != nil {
			who = u.Name + " (" + u.Role + ")"
		}
		fmt.Fprintf(s.cfg.Log, "%s %s %s %s %d %dms\n", s.cfg.Now().UTC().Format(time.RFC3339), who, r.Method, r.URL.Path, sw.status, time.Since(start).Milliseconds())
	})
}

// Serve runs the server on the listener until ctx ends, then stops
// gracefully: requests in flight finish (each write is one transaction:
// nothing is left half written).
func (s *Server) Serve(ctx context.Context, srv *http.Server, ln net.Listener, tlsCert, tlsKey string) error {
	srv.Handler = s.Handler()
	errc := make(chan error, 1)
	go func() {
		if tlsCert != "" {
			errc <- srv.ServeTLS(ln, tlsCert, tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(stop)
}
