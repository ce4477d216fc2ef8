package serve

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request, u *Session) {
	s.render(w, r, "home", u, nil)
}

// statusData is the trial's counts and, per survey wave, its slots by
// status: no group, no arm.
func (s *Server) statusData(ctx context.Context, u *Session) (map[string]any, error) {
	st, err := s.cfg.DB.Status(ctx)
	if err != nil {
		return nil, err
	}
	if u.Role == trial.RoleInterviewer {
		st.Title = "" // a title may say what is tested: interviewers are blind to it
	}
	out := map[string]any{"Status": st}
	p, err := s.protocol(ctx)
	if err != nil {
		return nil, err
	}
	waves, err := survey.Status(ctx, s.cfg.DB, p, trial.Actor{Name: u.Name, Now: s.cfg.Now}.Today())
	if err != nil {
		return nil, err
	}
	out["Waves"] = waves
	return out, nil
}

func (s *Server) statusPage(w http.ResponseWriter, r *http.Request, u *Session) {
	d, err := s.statusData(r.Context(), u)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "status", u, d)
}

// apiStatus is rct status --json, with the waves' counts.
func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request, u *Session) {
	d, err := s.statusData(r.Context(), u)
	if err != nil {
		s.fail(w, r, true, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": d["Status"], "waves": d["Waves"]})
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, u *Session) {
	writeJSON(w, http.StatusOK, map[string]string{"user": u.Name, "role": u.Role, "csrf": u.CSRF})
}

func (s *Server) enrollPage(w http.ResponseWriter, r *http.Request, u *Session) {
	s.render(w, r, "enroll", u, map[string]any{"CanEnrol": s.cfg.PseudoKey != nil})
}

// enroll enrols a referral list: the same checks as rct enroll; any error
// refuses the whole file.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	if s.cfg.PseudoKey == nil {
		s.fail(w, r, false, http.StatusServiceUnavailable, "enrolment needs the pseudonymisation key beside the database (trial.pseudo.key), which the server did not find")
		return
	}
	up, err := s.receive(w, r, "file")
	if err != nil {
		s.fail(w, r, false, http.StatusBadRequest, err.Error())
		return
	}
	defer up.Close()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	a := s.actor(u)
	sum, err := sheet.FileSHA256(up.path)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	refs, rows, err := trial.ReadReferrals(up.path, p, a.Today(), sheet.Options{})
	if err == nil {
		var res *trial.EnrollResult
		res, err = s.cfg.DB.Enroll(ctx, p, trial.EnrollInput{File: up.name, SHA256: sum, RowsRead: rows, Referrals: refs, Key: s.cfg.PseudoKey, Actor: a})
		if err == nil {
			s.record(ctx, a, "upload", "referrals "+up.name+" sha256 "+sum)
			s.render(w, r, "enrolled", u, map[string]any{"R": res})
			return
		}
	}
	if dataerr.Is(err) {
		s.record(ctx, a, "upload refused", "referrals "+up.name+" sha256 "+sum)
		s.renderCode(w, r, http.StatusUnprocessableEntity, "enrolled", u, map[string]any{"Problems": strings.Split(strings.ReplaceAll(err.Error(), up.path, up.name), "\n")})
		return
	}
	s.fail(w, r, false, http.StatusInternalServerError, err.Error())
}

func (s *Server) randomizePage(w http.ResponseWriter, r *http.Request, u *Session) {
	members, err := s.cfg.DB.Members(r.Context())
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	var pending []trial.Member
	for _, m := range members {
		if m.RandomizedOn == "" && !m.Withdrawn {
			pending = append(pending, m)
		}
	}
	s.render(w, r, "randomize", u, map[string]any{"Pending": pending})
}

// randomize randomizes the pending families or one family, with the
// server's key; the receipt shows the arm to randomizers only (the showing
// is recorded in the audit chain).
func (s *Server) randomize(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	in := trial.RandomizeInput{Key: s.cfg.Key, Actor: s.actor(u), Rand: rand.Reader, ShowArms: u.Role == trial.RoleRandomizer}
	if fam := strings.ToUpper(strings.TrimSpace(r.FormValue("family"))); fam != "" {
		in.Families = []string{fam}
	} else {
		in.Pending = true
	}
	s.keyed.Lock()
	res, err := s.cfg.DB.Randomize(ctx, p, in)
	s.keyed.Unlock()
	if err != nil {
		code := http.StatusInternalServerError
		if dataerr.Is(err) {
			code = http.StatusUnprocessableEntity
		}
		s.fail(w, r, false, code, err.Error())
		return
	}
	s.render(w, r, "randomized", u, map[string]any{"Results": res, "ShowArms": in.ShowArms})
}

func (s *Server) withdraw(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	s.keyed.Lock()
	wd, err := s.cfg.DB.Withdraw(ctx, p, s.cfg.Key, strings.ToUpper(strings.TrimSpace(r.FormValue("family"))), r.FormValue("reason"), s.actor(u))
	s.keyed.Unlock()
	if err != nil {
		s.fail(w, r, false, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.render(w, r, "done", u, map[string]any{"Withdrawal": wd})
}

// unblind reveals one family's arm in an emergency, with a reason, as rct
// unblind: an entry of the audit chain.
func (s *Server) unblind(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	fam := strings.ToUpper(strings.TrimSpace(r.FormValue("family")))
	if fam == "" {
		s.fail(w, r, false, http.StatusBadRequest, "name the family (study code)")
		return
	}
	s.keyed.Lock()
	ub, err := s.cfg.DB.Unblind(ctx, p, s.cfg.Key, fam, r.FormValue("reason"), s.actor(u))
	s.keyed.Unlock()
	if err != nil {
		s.fail(w, r, false, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.render(w, r, "done", u, map[string]any{"Unblinding": ub})
}

// auditPage verifies the audit chain (with the server's key when it has
// it) and lists its last entries.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	rep, err := s.cfg.DB.VerifyChain(ctx, p, s.cfg.Key)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	entries, err := s.cfg.DB.AuditLog(ctx, "")
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	if len(entries) > 100 {
		entries = entries[len(entries)-100:]
	}
	s.render(w, r, "audit", u, map[string]any{"Report": rep, "Entries": entries})
}
