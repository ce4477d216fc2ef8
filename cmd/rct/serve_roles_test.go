package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/serve"
	"github.com/rct-trials/rct/trial"
)

// TestServeTrialRoles: a researcher enrols a referral list and randomizes
// (the receipt names no arm); a randomizer randomizes the next list (the
// receipt names the arm, recorded), withdraws a family and unblinds one in
// an emergency; a case manager sees the caseload, downloads the month's
// log and saves a month through the form; an analyst gets the blinded
// analysis, report and export (no arm); and the chain verifies with the
// key afterwards.
func TestServeTrialRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r, held := servedTrial(t, 40, 9, 2)
	ts, _ := startServer(t, r, true)
	arms := armWords(t, r)
	res := newClient(t, ts.URL)
	res.login("researcher", password("researcher"))
	code, b := res.upload("/enroll", held[0], nil)
	if code != 200 || !bytes.Contains(b, []byte("Enrolled")) {
		t.Fatalf("enrol: %d\n%.1000s", code, b)
	}
	code, b = res.get("/randomize")
	if code != 200 || !regexp.MustCompile(`[1-9]\d* enrolled families wait`).Match(b) {
		t.Fatalf("randomize page: %d\n%.500s", code, b)
	}
	code, b = res.postForm("/randomize", nil)
	if code != 200 || !bytes.Contains(b, []byte(`id="receipt"`)) || arms.Match(b) {
		t.Fatalf("a researcher's receipt: %d (an arm shown: %v)\n%.1000s", code, arms.Find(b), b)
	}
	rnd := newClient(t, ts.URL)
	rnd.login("randomizer", password("randomizer"))
	rnd.upload("/enroll", held[1], nil)
	code, b = rnd.postForm("/randomize", nil)
	if code != 200 || !regexp.MustCompile(`<td>(intervention|control)</td>`).Match(b) {
		t.Fatalf("a randomizer's receipt: %d\n%.1000s", code, b)
	}
	code, b = rnd.postForm("/withdraw", url.Values{"family": {"K-0003"}, "reason": {"moved abroad"}})
	if code != 200 || !bytes.Contains(b, []byte("withdrawal recorded")) {
		t.Errorf("withdraw: %d\n%.500s", code, b)
	}
	code, b = rnd.postForm("/unblind", url.Values{"family": {"K-0004"}, "reason": {"hospital needs to know"}})
	if code != 200 || !regexp.MustCompile(`is in arm <strong>(intervention|control)</strong>`).Match(b) {
		t.Errorf("unblind: %d\n%.500s", code, b)
	}
	if code, _ := rnd.postForm("/unblind", url.Values{"family": {"K-0005"}}); code != http.StatusUnprocessableEntity {
		t.Errorf("unblinding without a reason: %d", code)
	}
	// The case manager: caseload with arms, the month's template, a month
	// through the form.
	cm := newClient(t, ts.URL)
	cm.login("case-manager", password("case-manager"))
	code, b = cm.get("/caseload")
	if code != 200 || !bytes.Contains(b, []byte("Outreaching case management")) || bytes.Contains(b, []byte("Usual services")) {
		t.Fatalf("caseload: %d\n%.1000s", code, b)
	}
	fam := regexp.MustCompile(`<td>(K-\d{4})</td><td>Outreaching`).FindSubmatch(b)
	if fam == nil {
		t.Fatal("no family in the caseload")
	}
	code, tmpl := cm.get("/caselog/template?month=2019-12")
	if code != 200 || len(tmpl) < 1000 {
		t.Errorf("caselog template: %d", code)
	}
	form := url.Values{"family": {string(fam[1])}, "month": {"2019-12"}, "case_manager": {"An"}, "contacts_text": {"3"}, "contacts_phone": {"1"},
		"contacts_home_visit": {"1"}, "contacts_accompanied": {"0"}, "contacts_email": {"0"}, "organisations_contacted": {"1"}, "hours_spent": {"2.5"}, "accepted_guidance": {"1"}}
	code, b = cm.postForm("/caselog/form", form)
	if code != 200 || !bytes.Contains(b, []byte("1 rows imported")) {
		t.Errorf("caselog form: %d\n%.2000s", code, b)
	}
	code, b = cm.upload("/caselog/upload", r.path("caselog.xlsx"), nil)
	if code != 200 || !bytes.Contains(b, []byte("rows imported")) {
		t.Errorf("the activity log workbook: %d\n%.1500s", code, b)
	}
	form.Set("family", "K-9999")
	if code, _ := cm.postForm("/caselog/form", form); code != http.StatusUnprocessableEntity {
		t.Errorf("a family outside the caseload: %d", code)
	}
	// The analyst: blinded analysis, report, export.
	an := newClient(t, ts.URL)
	an.login("analyst", password("analyst"))
	for _, p := range []string{"/analysis", "/report", "/export/data.csv", "/export/data_codebook.csv", "/export/data.R", "/export/data.do"} {
		code, b := an.get(p)
		if code != 200 || len(b) < 200 {
			t.Errorf("%s: %d, %d bytes", p, code, len(b))
		}
		if m := regexp.MustCompile(`Outreaching case management|Usual services|"intervention"|\bz_intervention`).Find(b); m != nil && p != "/report" {
			t.Errorf("%s tells the analyst %q", p, m)
		}
	}
	if code, b := an.get("/analysis"); !bytes.Contains(b, []byte("group B minus group A")) {
		t.Errorf("the blinded analysis: %d\n%.500s", code, b)
	}
	r.must("audit", "verify", "--key", r.path("trial.key"))
	log := r.must("audit", "log")
	for _, want := range []string{"\tallocate\t", "\twithdraw\t", "\tunblind_family\t", "upload: referrals", "download: blinded report", "download: caselog template 2019-12"} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
}

// TestServeSessions: the CSRF token on every change, same-origin posts,
// throttling after five failed logins (429 with Retry-After), lock-out
// after ten in a row (until a new password), a disabled account or a new
// password ending the session, idle and absolute timeouts, and a server
// without the key refusing keyed routes (503).
func TestServeSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r, _ := servedTrial(t, 24, 10, 0)
	ts, _ := startServer(t, r, false)
	c := newClient(t, ts.URL)
	c.login("researcher", password("researcher"))
	token := c.csrf
	c.csrf = ""
	if code, _ := c.postForm("/withdraw", url.Values{"family": {"K-0001"}, "reason": {"x"}}); code != http.StatusForbidden {
		t.Errorf("a change without the CSRF token: %d", code)
	}
	c.csrf = "forged"
	if code, _ := c.postForm("/withdraw", url.Values{"family": {"K-0001"}, "reason": {"x"}}); code != http.StatusForbidden {
		t.Errorf("a forged CSRF token: %d", code)
	}
	c.csrf = token
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/withdraw", strings.NewReader("family=K-0001&reason=x&csrf="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if res, err := c.http.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("a post from another site: %v %v", res.StatusCode, err)
	}
	if code, b := c.get("/randomize"); code != http.StatusServiceUnavailable || !bytes.Contains(b, []byte("rct serve --key")) {
		t.Errorf("a keyed route without the key: %d", code)
	}
	// Throttling and lock-out.
	x := newClient(t, ts.URL)
	for i := 0; i < 5; i++ {
		if code := x.login("analyst", "not the password at all"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	b, _ := json.Marshal(map[string]string{"user": "analyst", "password": password("analyst")})
	res, err := x.http.Post(ts.URL+"/api/login", "application/json", bytes.NewReader(b))
	if err != nil || res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("the sixth try: %v %v", res.StatusCode, err)
	}
	r.now = r.now.Add(16 * time.Minute)
	if code := x.login("analyst", password("analyst")); code != http.StatusOK {
		t.Fatalf("after the window: %d", code)
	}
	for i := 0; i < 10; i++ {
		r.now = r.now.Add(4 * time.Minute) // slower than the throttle: only the lock-out stops them
		x.login("interviewer", "not the password at all")
	}
	if code := x.login("interviewer", password("interviewer")); code != http.StatusUnauthorized {
		t.Errorf("a locked account logged in: %d", code)
	}
	if out := r.must("user", "list"); !regexp.MustCompile(`interviewer\tinterviewer\tfalse\ttrue\t10`).MatchString(out) {
		t.Errorf("user list does not show the lock:\n%s", out)
	}
	r.in = "a brand new password\n"
	r.must("user", "passwd", "interviewer", "--password-stdin")
	if code := x.login("interviewer", "a brand new password"); code != http.StatusOK {
		t.Errorf("after a new password: %d", code)
	}
	// A disabled account loses its session at once.
	if code, _ := x.get("/status"); code != 200 {
		t.Fatalf("status: %d", code)
	}
	r.must("user", "disable", "interviewer")
	if code, _ := x.get("/status"); code != http.StatusSeeOther {
		t.Errorf("a disabled account's session: %d", code)
	}
	r.must("user", "enable", "interviewer")
	// Idle and absolute timeouts.
	y := newClient(t, ts.URL)
	y.login("analyst", password("analyst"))
	r.now = r.now.Add(31 * time.Minute)
	if code, _ := y.get("/api/me"); code != http.StatusUnauthorized {
		t.Errorf("after 31 idle minutes: %d", code)
	}
	y.login("analyst", password("analyst"))
	for i := 0; i < 26; i++ {
		r.now = r.now.Add(29 * time.Minute)
		y.get("/api/me")
	}
	if code, _ := y.get("/api/me"); code != http.StatusUnauthorized {
		t.Errorf("after 12.5 hours: %d", code)
	}
	// Logging out ends the session.
	z := newClient(t, ts.URL)
	z.login("analyst", password("analyst"))
	z.postForm("/api/logout", nil)
	if code, _ := z.get("/api/me"); code != http.StatusUnauthorized {
		t.Errorf("after logout: %d", code)
	}
}

// TestServeStopsGracefully: cancelling the context stops the server; a
// request in flight finishes first.

// slowReader sends a body slowly, so a request is in flight a while.
type slowReader struct{ r *strings.Reader }

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	return s.r.Read(p[:min(len(p), 2)])
}

func TestServeStopsGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole pipeline")
	}
	r, _ := servedTrial(t, 12, 11, 0)
	db, err := trial.Open(context.Background(), r.path("trial.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var log bytes.Buffer
	srv, err := serve.New(serve.Config{DB: db, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, &http.Server{}, ln, "", "") }()
	// A slow login in flight when the stop comes (its body still being
	// read): it finishes, with its answer.
	body := strings.NewReader(`{"user": "nobody", "password": "not the password at all"}`)
	slow := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/api/login", &slowReader{body})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- 0
			return
		}
		res.Body.Close()
		slow <- res.StatusCode
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	if code := <-slow; code != http.StatusUnauthorized {
		t.Errorf("the request in flight: %d", code)
	}
	select {
	case err := <-done:
		if err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
	if !strings.Contains(log.String(), "POST /api/login 401") {
		t.Errorf("the request log: %q", log.String())
	}
}
