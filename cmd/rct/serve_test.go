package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/serve"
	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
)

// servedTrial runs the demo's pipeline on a simulated trial up to the
// fieldwork, importing the m0 and m12 interviews and the registers but not
// the m6 interviews nor the activity log: what the team then does through
// rct serve. One account per role (password "<name> password 12"). The
// last holdBack referral lists are left to enrol; their paths are returned.
func servedTrial(t testing.TB, families int, seed uint64, holdBack int) (*inProcess, []string) {
	t.Helper()
	r := newInProcess(t, t.TempDir(), seed)
	r.now = time.Date(2016, 8, 1, 12, 0, 0, 0, time.UTC)
	r.must("simulate", "--families", fmt.Sprint(families), "--seed", fmt.Sprint(seed), "-o", r.dir)
	r.must("init", "--protocol", r.path("trial.yaml"))
	r.must("codebook", "install", r.path("codebook.yaml"))
	lists, _ := filepath.Glob(r.path(simulate.ReferralDir + "/*.xlsx"))
	sort.Strings(lists)
	held := lists[len(lists)-holdBack:]
	for _, l := range lists[:len(lists)-holdBack] {
		d, _ := time.Parse("2006-01-02", strings.TrimSuffix(filepath.Base(l), ".xlsx"))
		r.now = d.Add(17 * time.Hour)
		r.must("enroll", l)
		r.must("randomize", "--pending", "--key", r.path("trial.key"))
	}
	r.now = time.Date(2019, 12, 31, 17, 0, 0, 0, time.UTC)
	r.must("simulate", "fieldwork", "--key", r.path("trial.key"), "-o", r.dir)
	for _, w := range []string{"m0", "m12"} {
		r.must("survey", "import", "--wave", w, r.path(w+"-interviews-corrected.xlsx"))
	}
	r.must("link", "import", "--register", "ocmw", r.path("ocmw.csv"))
	r.must("link", "import", "--register", "vdab", r.path("vdab.csv"))
	r.must("outcomes", "derive")
	for _, role := range trial.Roles {
		r.in = role + " password 12\n"
		r.must("user", "add", strings.ReplaceAll(role, "_", "-"), "--role", role, "--password-stdin")
	}
	return r, held
}

// password is the test accounts' password.
func password(user string) string { return strings.ReplaceAll(user, "-", "_") + " password 12" }

// startServer serves r's trial (with the allocation key when keyed) on a
// loopback test server, the clock at r.now.
func startServer(t testing.TB, r *inProcess, keyed bool) (*httptest.Server, *trial.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := trial.Open(ctx, r.path("trial.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := serve.Config{DB: db, Now: func() time.Time { return r.now }, TempDir: t.TempDir(), Draws: 200}
	if keyed {
		if cfg.Key, err = db.VerifyAllocationKey(ctx, r.path("trial.key")); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.PseudoKey, err = db.VerifyPseudoKey(ctx, r.path("trial.pseudo.key")); err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); db.Close() })
	return ts, db
}

// client is a browser's worth of state: cookies and the CSRF token.
type client struct {
	t    testing.TB
	base string
	http *http.Client
	csrf string
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login logs in through the API and keeps the session's CSRF token.
func (c *client) login(user, pw string) int {
	b, _ := json.Marshal(map[string]string{"user": user, "password": pw})
	res, err := c.http.Post(c.base+"/api/login", "application/json", bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ CSRF string }
	json.NewDecoder(res.Body).Decode(&out)
	c.csrf = out.CSRF
	return res.StatusCode
}

// do sends a request (the CSRF token on every POST) and returns the
// status and body.
func (c *client) do(method, path string, body io.Reader, contentType string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodPost && c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (c *client) get(path string) (int, []byte) { return c.do(http.MethodGet, path, nil, "") }

func (c *client) postForm(path string, v url.Values) (int, []byte) {
	return c.do(http.MethodPost, path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

// upload posts a file in the multipart field "file" with form values.
func (c *client) upload(path, file string, v url.Values) (int, []byte) {
	c.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range v {
		for _, x := range vs {
			mw.WriteField(k, x)
		}
	}
	fw, _ := mw.CreateFormFile("file", filepath.Base(file))
	data, err := os.ReadFile(file)
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return c.do(http.MethodPost, path, &b, mw.FormDataContentType())
}

// assignAll gives the interviewer every family due at m6.
func assignAll(t testing.TB, r *inProcess) {
	t.Helper()
	var slots []struct {
		StudyCode string `json:"study_code"`
	}
	if err := json.Unmarshal([]byte(r.must("survey", "due", "--wave", "m6", "--within", "400d", "--json")), &slots); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, s := range slots {
		codes = append(codes, s.StudyCode)
	}
	r.must("user", "assign", "interviewer", "--families", strings.Join(codes, ","))
}

// TestServeRoleMatrix: every route answered for every role as the role
// matrix below says — the specification, written apart from the server's
// own table: 403 where the role may not, never 401/403 (nor a server
// error) where it may; without a session, the login page or 401.
func TestServeRoleMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r, _ := servedTrial(t, 40, 7, 0)
	assignAll(t, r)
	ts, _ := startServer(t, r, true)
	all := "researcher randomizer interviewer case_manager analyst"
	may := map[string]string{
		"GET /{$}": all, "GET /status": all, "GET /api/status": all, "GET /api/me": all, "POST /logout": all, "POST /api/logout": all,
		"GET /files/{id}": all,
		"GET /due":        "interviewer researcher", "GET /survey/template": "interviewer researcher", "GET /api/survey/template": "interviewer researcher",
		"GET /survey/upload": "interviewer researcher", "POST /survey/upload": "interviewer researcher", "POST /api/survey/import": "interviewer researcher",
		"GET /imports":  "interviewer researcher",
		"GET /caseload": "case_manager", "GET /caselog/template": "case_manager", "POST /caselog/upload": "case_manager",
		"GET /caselog/form": "case_manager", "POST /caselog/form": "case_manager", "GET /api/allocation": "case_manager randomizer",
		"GET /enroll": "researcher randomizer", "POST /enroll": "researcher randomizer", "GET /randomize": "researcher randomizer",
		"POST /randomize": "researcher randomizer", "POST /withdraw": "researcher randomizer", "POST /unblind": "randomizer",
		"GET /audit":    "researcher randomizer",
		"GET /analysis": "analyst researcher", "GET /report": "analyst researcher", "GET /export/{file}": "analyst researcher",
	}
	public := map[string]bool{"GET /healthz": true, "GET /login": true, "POST /login": true, "POST /api/login": true}
	routes := routesOf(t, r)
	for _, rt := range routes {
		if _, ok := may[rt]; !ok && !public[rt] {
			t.Errorf("route %s is not in the role matrix", rt)
		}
	}
	if len(routes) != len(may)+len(public) {
		t.Errorf("%d routes, the matrix has %d", len(routes), len(may)+len(public))
	}
	path := func(rt string) (string, string) {
		method, p, _ := strings.Cut(rt, " ")
		p = strings.NewReplacer("{$}", "", "{id}", "nosuchfile", "{file}", "data.csv").Replace(p)
		switch {
		case strings.Contains(p, "template"):
			p += "?wave=m6&month=2019-12"
		case strings.HasPrefix(p, "/caselog/form"):
			p += "?family=K-0001&month=2019-12"
		}
		return method, p
	}
	for _, role := range trial.Roles {
		user := strings.ReplaceAll(role, "_", "-")
		c := newClient(t, ts.URL)
		if code := c.login(user, password(user)); code != http.StatusOK {
			t.Fatalf("%s: login %d", user, code)
		}
		for _, rt := range routes {
			if public[rt] || strings.HasSuffix(rt, "logout") {
				continue
			}
			method, p := path(rt)
			var code int
			var body []byte
			if method == http.MethodGet {
				code, body = c.get(p)
			} else {
				code, body = c.postForm(p, url.Values{})
			}
			allowed := strings.Contains(" "+may[rt]+" ", " "+role+" ")
			switch {
			case allowed && (code == 401 || code == 403 || code >= 500):
				t.Errorf("%s %s: %d, the %s may\n%.300s", method, p, code, role, body)
			case !allowed && code != 403:
				t.Errorf("%s %s: %d, the %s may not (want 403)", method, p, code, role)
			}
		}
	}
	anon := newClient(t, ts.URL)
	for _, rt := range routes {
		if public[rt] {
			continue
		}
		method, p := path(rt)
		var code int
		if method == http.MethodGet {
			code, _ = anon.get(p)
		} else {
			code, _ = anon.postForm(p, url.Values{})
		}
		want := http.StatusSeeOther
		if method != http.MethodGet || strings.HasPrefix(p, "/api/") {
			want = http.StatusUnauthorized
		}
		if code != want {
			t.Errorf("without a session %s %s: %d, want %d", method, p, code, want)
		}
	}
}

// routesOf lists the server's routes.
func routesOf(t testing.TB, r *inProcess) []string {
	db, err := trial.Open(context.Background(), r.path("trial.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := serve.New(serve.Config{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rt := range srv.Routes() {
		out = append(out, rt.Pattern)
	}
	return out
}

// armWords are what would tell an arm: the arms' ids and labels, and group
// codes as they are written anywhere.
func armWords(t testing.TB, r *inProcess) *regexp.Regexp {
	p, err := trial.ParseProtocol("trial.yaml", must(os.ReadFile(r.path("trial.yaml"))))
	if err != nil {
		t.Fatal(err)
	}
	words := []string{`(?i)\bgroup [A-Z]\b`, `"group"`, `group_code`, `\bz_[a-z]`}
	for _, a := range p.Arms {
		words = append(words, regexp.QuoteMeta(a.ID), regexp.QuoteMeta(a.Label))
	}
	return regexp.MustCompile(strings.Join(words, "|"))
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// xlsxText is every XML part of a workbook, as text.
func xlsxText(t testing.TB, b []byte) string {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	var out strings.Builder
	for _, f := range zr.File {
		rc, _ := f.Open()
		x, _ := io.ReadAll(rc)
		rc.Close()
		out.Write(x)
	}
	return out.String()
}

// TestServeInterviewerJourney: an interviewer logs in, sees their
// families due, downloads the m6 template, uploads the workbook with the
// interviewers' mistakes (refused: 422, every finding by row and column,
// an annotated workbook to download, nothing written), uploads the
// corrected one (imported) and sees it among their imports and in the
// status; a family not assigned to them is refused. Every response they
// get — pages, API, workbooks — names no arm and no group code. The audit
// chain records each login, download and upload and verifies.
func TestServeInterviewerJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r, _ := servedTrial(t, 40, 8, 0)
	assignAll(t, r)
	ts, _ := startServer(t, r, true)
	leak := armWords(t, r)
	c := newClient(t, ts.URL)
	seen := func(what string, b []byte) {
		t.Helper()
		if m := leak.Find(b); m != nil {
			t.Errorf("%s tells the interviewer %q", what, m)
		}
	}
	if code := c.login("interviewer", "wrong password here"); code != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d", code)
	}
	if code := c.login("interviewer", password("interviewer")); code != http.StatusOK {
		t.Fatalf("login %d", code)
	}
	for _, p := range []string{"/", "/status", "/api/status", "/api/me", "/due", "/survey/upload", "/imports"} {
		code, b := c.get(p)
		if code != 200 {
			t.Errorf("%s: %d", p, code)
		}
		seen(p, b)
	}
	code, tmpl := c.get("/api/survey/template?wave=m6")
	if code != 200 || len(tmpl) < 1000 {
		t.Fatalf("template: %d, %d bytes", code, len(tmpl))
	}
	seen("the m6 template", []byte(xlsxText(t, tmpl)))
	_, before := c.get("/api/status")
	code, b := c.upload("/survey/upload", r.path("m6-interviews.xlsx"), url.Values{"wave": {"m6"}})
	seen("the refusal", b)
	if code != http.StatusUnprocessableEntity || !bytes.Contains(b, []byte("Refused: nothing was written")) || !regexp.MustCompile(`<td>m6-interviews.xlsx</td><td>m6</td><td>\d+</td><td>[A-Z]+</td>`).Match(b) {
		t.Fatalf("the workbook with mistakes: %d\n%.2000s", code, b)
	}
	link := regexp.MustCompile(`href="(/files/[^"]+)"`).FindSubmatch(b)
	if link == nil {
		t.Fatal("no annotated workbook to download")
	}
	code, ann := c.get(string(link[1]))
	if code != 200 || !strings.Contains(xlsxText(t, ann), "<comment") && !strings.Contains(xlsxText(t, ann), "comments") {
		t.Errorf("annotated workbook: %d", code)
	}
	seen("the annotated workbook", []byte(xlsxText(t, ann)))
	other := newClient(t, ts.URL)
	other.login("analyst", password("analyst"))
	if code, _ := other.get(string(link[1])); code != http.StatusNotFound {
		t.Errorf("another user downloads the interviewer's annotated workbook: %d", code)
	}
	if _, after := c.get("/api/status"); !bytes.Equal(before, after) {
		t.Error("a refused upload changed the status")
	}
	code, b = c.upload("/survey/upload", r.path("m6-interviews-corrected.xlsx"), url.Values{"wave": {"m6"}})
	seen("the import", b)
	if code != 200 || !bytes.Contains(b, []byte(`id="verdict"`)) || !bytes.Contains(b, []byte("rows imported")) {
		t.Fatalf("the corrected workbook: %d\n%.2000s", code, b)
	}
	if _, after := c.get("/api/status"); bytes.Equal(before, after) {
		t.Error("the status did not change after the import")
	}
	if _, b := c.get("/imports"); !bytes.Contains(b, []byte("m6-interviews-corrected.xlsx")) {
		t.Error("the import is not among the interviewer's imports")
	}
	// Another interviewer with one family only: the rest is refused.
	r.in = "second interviewer password\n"
	r.must("user", "add", "ann", "--role", "interviewer", "--password-stdin")
	r.must("user", "assign", "ann", "--families", "K-0001")
	ann2 := newClient(t, ts.URL)
	ann2.login("ann", "second interviewer password")
	code, b = ann2.upload("/api/survey/import?wave=m6", r.path("m6-interviews-corrected.xlsx"), nil)
	if code != http.StatusUnprocessableEntity || !bytes.Contains(b, []byte("not_assigned")) {
		t.Errorf("families not assigned: %d\n%.500s", code, b)
	}
	seen("the API refusal", b)
	log := r.must("audit", "log", "--kind", "access")
	for _, want := range []string{"\tfalse\tlogin failed", "\tfalse\tlogin", "download: template m6", "upload refused: m6 m6-interviews.xlsx", "upload: m6 m6-interviews-corrected.xlsx"} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, log)
		}
	}
	r.must("audit", "verify", "--key", r.path("trial.key"))
}
