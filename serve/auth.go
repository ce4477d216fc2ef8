package serve

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rct-trials/rct/internal/passwords"
	"github.com/rct-trials/rct/trial"
)

// Session is a logged-in user.
type Session struct {
	Name    string
	Role    string
	CSRF    string
	token   string
	hash    string // the password hash at login: a new password ends the session
	created time.Time
	last    time.Time
}

func (u *Session) validCSRF(r *http.Request) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.FormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(u.CSRF)) == 1
}

const cookieName = "rct_session"

// sessions are kept in memory: a restart logs everyone out.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*Session
	cfg  Config
}

func newSessions(cfg Config) *sessions { return &sessions{byID: map[string]*Session{}, cfg: cfg} }

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("serve: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// start makes a session for u and sets its cookie.
func (s *sessions) start(w http.ResponseWriter, u *trial.User) *Session {
	now := s.cfg.Now()
	se := &Session{Name: u.Name, Role: u.Role, CSRF: randomToken(), token: randomToken(), hash: u.Hash, created: now, last: now}
	s.mu.Lock()
	s.byID[se.token] = se
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: se.token, Path: "/", HttpOnly: true, Secure: s.cfg.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.cfg.MaxAge.Seconds())})
	return se
}

// get returns the request's live session (idle and absolute timeouts),
// nil when there is none.
func (s *sessions) get(w http.ResponseWriter, r *http.Request) *Session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.byID[c.Value]
	if se == nil {
		return nil
	}
	if now.Sub(se.last) > s.cfg.IdleTimeout || now.Sub(se.created) > s.cfg.MaxAge {
		delete(s.byID, c.Value)
		return nil
	}
	se.last = now
	return se
}

// end ends a session and clears its cookie.
func (s *sessions) end(w http.ResponseWriter, se *Session) {
	s.mu.Lock()
	delete(s.byID, se.token)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// throttle counts failed logins per address and per address and name:
// after 5 failures within 15 minutes (20 for an address) logins from there
// wait (HTTP 429) until the oldest failure is 15 minutes old.
type throttle struct {
	mu    sync.Mutex
	fails map[string][]time.Time
	now   func() time.Time
}

const (
	throttleWindow  = 15 * time.Minute
	throttlePerName = 5
	throttlePerAddr = 20
)

func newThrottle(now func() time.Time) *throttle {
	return &throttle{fails: map[string][]time.Time{}, now: now}
}

func (t *throttle) recent(key string) []time.Time {
	cut := t.now().Add(-throttleWindow)
	f := t.fails[key]
	for len(f) > 0 && f[0].Before(cut) {
		f = f[1:]
	}
	t.fails[key] = f
	return f
}

// wait returns how long logins of name from addr must wait (0: none).
func (t *throttle) wait(addr, name string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range []struct {
		key   string
		limit int
	}{{addr + "\x00" + name, throttlePerName}, {addr, throttlePerAddr}} {
		if f := t.recent(k.key); len(f) >= k.limit {
			return f[0].Add(throttleWindow).Sub(t.now())
		}
	}
	return 0
}

func (t *throttle) fail(addr, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range []string{addr + "\x00" + name, addr} {
		t.fails[k] = append(t.recent(k), now)
	}
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// errThrottled and errLocked say why a login is refused besides a wrong
// password.
var (
	errThrottled = errors.New("too many failed logins: wait")
	errLocked    = errors.New("the account is locked after too many failed logins, or disabled: ask the trial manager (rct user passwd)")
	errWrong     = errors.New("wrong user name or password")
)

// hashing bounds the argon2id checks run at once (19 MiB each).
var hashing = make(chan struct{}, 4)

// authenticate checks a user name and password: throttled, locked and
// disabled accounts refused, every attempt recorded in the audit chain.
func (s *Server) authenticate(ctx context.Context, r *http.Request, name, pw string) (*trial.User, time.Duration, error) {
	addr := clientAddr(r)
	if d := s.throttle.wait(addr, name); d > 0 {
		return nil, d, errThrottled
	}
	u, err := s.cfg.DB.UserByName(ctx, name)
	hash := passwords.Dummy()
	if err == nil {
		hash = u.Hash
	} else if !errors.Is(err, trial.ErrNoUser) {
		return nil, 0, err
	}
	hashing <- struct{}{}
	ok := passwords.Verify(pw, hash)
	<-hashing
	actor := trial.Actor{Name: name, Now: s.cfg.Now}
	switch {
	case u == nil || !ok:
		s.throttle.fail(addr, name)
		if u != nil {
			if err := s.cfg.DB.LoginFailed(ctx, name); err != nil {
				return nil, 0, err
			}
			s.record(ctx, actor, "login failed", "")
		}
		return nil, 0, errWrong
	case u.Disabled || u.Locked:
		s.record(ctx, actor, "login refused", "locked or disabled")
		return nil, 0, errLocked
	}
	if err := s.cfg.DB.LoginSucceeded(ctx, name); err != nil {
		return nil, 0, err
	}
	s.record(ctx, actor, "login", "")
	return u, 0, nil
}

// record appends an access entry to the audit chain; a failure to record
// is written to the log.
func (s *Server) record(ctx context.Context, a trial.Actor, action, detail string) {
	if err := s.cfg.DB.RecordAccess(ctx, a, action, detail); err != nil {
		fmt.Fprintf(s.cfg.Log, "%s audit chain: %s %s not recorded: %v\n", s.cfg.Now().UTC().Format(time.RFC3339), a.Name, action, err)
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, _ *Session) error {
	s.render(w, r, "login", nil, map[string]any{"Error": ""})
	return nil
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, _ *Session) error {
	u, wait, err := s.authenticate(r.Context(), r, r.FormValue("user"), r.FormValue("password"))
	switch {
	case errors.Is(err, errThrottled):
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.renderCode(w, r, http.StatusTooManyRequests, "login", nil, map[string]any{"Error": err.Error() + " " + wait.Round(time.Second).String()})
	case errors.Is(err, errWrong), errors.Is(err, errLocked):
		s.renderCode(w, r, http.StatusUnauthorized, "login", nil, map[string]any{"Error": err.Error()})
	case err != nil:
		return err
	default:
		s.sessions.start(w, u)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
	return nil
}

// apiLogin: POST {"user","password"} → the session cookie and
// {"user","role","csrf"} (send csrf as X-CSRF-Token with every POST); 401
// wrong or locked, 429 throttled.
func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request, _ *Session) error {
	var in struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		return errorf(http.StatusBadRequest, "send {\"user\": ..., \"password\": ...}")
	}
	u, wait, err := s.authenticate(r.Context(), r, in.User, in.Password)
	switch {
	case errors.Is(err, errThrottled):
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return withStatus(http.StatusTooManyRequests, err)
	case errors.Is(err, errWrong), errors.Is(err, errLocked):
		return withStatus(http.StatusUnauthorized, err)
	case err != nil:
		return err
	}
	se := s.sessions.start(w, u)
	writeJSON(w, http.StatusOK, map[string]string{"user": se.Name, "role": se.Role, "csrf": se.CSRF})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, u *Session) error {
	s.sessions.end(w, u)
	if r.URL.Path == "/api/logout" {
		writeJSON(w, http.StatusOK, map[string]string{"logged_out": u.Name})
		return nil
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// The request's user, for the log line, in a slot the guard fills.
type userKey struct{}

type userSlot struct{ u *Session }

func withUserSlot(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), userKey{}, &userSlot{}))
}

func setUser(r *http.Request, u *Session) {
	if s, ok := r.Context().Value(userKey{}).(*userSlot); ok {
		s.u = u
	}
}

func userOf(r *http.Request) *Session {
	if s, ok := r.Context().Value(userKey{}).(*userSlot); ok {
		return s.u
	}
	return nil
}
