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

// seesTitle says whether the user may read the trial's title: it may say
// what is tested, and interviewers are blind to that.
func seesTitle(u *Session) bool { return u != nil && u.Role != trial.RoleInterviewer }

func (s *Server) home(w http.ResponseWriter, r *http.Request, u *Session) error {
	s.render(w, r, "home", u, nil)
	return nil
}

// status is the trial's counts and, per survey wave, its slots by status:
// no group, no arm.
type status struct {
	Status *trial.Status       `json:"status"`
	Waves  []survey.WaveStatus `json:"waves"`
}

func (s *Server) status(ctx context.Context, u *Session) (*status, error) {
	st, err := s.cfg.DB.Status(ctx)
	if err != nil {
		return nil, err
	}
	if !seesTitle(u) {
		st.Title = ""
	}
	p, err := s.protocol(ctx)
	if err != nil {
		return nil, err
	}
	waves, err := survey.Status(ctx, s.cfg.DB, p, s.actor(u).Today())
	return &status{st, waves}, err
}

func (s *Server) statusPage(w http.ResponseWriter, r *http.Request, u *Session) error {
	st, err := s.status(r.Context(), u)
	if err != nil {
		return err
	}
	s.render(w, r, "status", u, map[string]any{"Status": st.Status, "Waves": st.Waves})
	return nil
}

// apiStatus is rct status --json, with the waves' counts.
func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request, u *Session) error {
	st, err := s.status(r.Context(), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, u *Session) error {
	writeJSON(w, http.StatusOK, map[string]string{"user": u.Name, "role": u.Role, "csrf": u.CSRF})
	return nil
}

func (s *Server) enrollPage(w http.ResponseWriter, r *http.Request, u *Session) error {
	s.render(w, r, "enroll", u, map[string]any{"CanEnrol": s.cfg.PseudoKey != nil})
	return nil
}

// enroll enrols a referral list: the same checks as rct enroll; any error
// refuses the whole file (422, every problem listed).
func (s *Server) enroll(w http.ResponseWriter, r *http.Request, u *Session) error {
	ctx := r.Context()
	if s.cfg.PseudoKey == nil {
		return errorf(http.StatusServiceUnavailable, "enrolment needs the pseudonymisation key beside the database (trial.pseudo.key), which the server did not find")
	}
	up, err := s.receive(r, "file")
	if err != nil {
		return err
	}
	defer up.Close()
	p, err := s.protocol(ctx)
	if err != nil {
		return err
	}
	a := s.actor(u)
	sum, err := sheet.FileSHA256(up.path)
	if err != nil {
		return err
	}
	refs, rows, err := trial.ReadReferrals(up.path, p, a.Today(), sheet.Options{}, nil)
	var res *trial.EnrollResult
	if err == nil {
		res, err = s.cfg.DB.Enroll(ctx, p, trial.EnrollInput{File: up.name, SHA256: sum, RowsRead: rows, Referrals: refs, Key: s.cfg.PseudoKey, Actor: a})
	}
	switch {
	case dataerr.Is(err):
		s.record(ctx, a, "upload refused", "referrals "+up.name+" sha256 "+sum)
		s.renderCode(w, r, http.StatusUnprocessableEntity, "enrolled", u, map[string]any{"Problems": strings.Split(strings.ReplaceAll(err.Error(), up.path, up.name), "\n")})
	case err != nil:
		return err
	default:
		s.record(ctx, a, "upload", "referrals "+up.name+" sha256 "+sum)
		s.render(w, r, "enrolled", u, map[string]any{"R": res})
	}
	return nil
}

func (s *Server) randomizePage(w http.ResponseWriter, r *http.Request, u *Session) error {
	members, err := s.cfg.DB.Members(r.Context())
	if err != nil {
		return err
	}
	var pending []trial.Member
	for _, m := range members {
		if m.RandomizedOn == "" && !m.Withdrawn {
			pending = append(pending, m)
		}
	}
	s.render(w, r, "randomize", u, map[string]any{"Pending": pending})
	return nil
}

// keyedWrite runs a write that appends to the audit chain, one at a time
// (the witness follows the chain in order); data errors are the user's
// (422).
func (s *Server) keyedWrite(ctx context.Context, fn func(p *trial.Protocol) error) error {
	p, err := s.protocol(ctx)
	if err != nil {
		return err
	}
	s.keyed.Lock()
	defer s.keyed.Unlock()
	err = fn(p)
	if dataerr.Is(err) {
		return withStatus(http.StatusUnprocessableEntity, err)
	}
	return err
}

// family reads the form's study code.
func family(r *http.Request) string { return trial.NormalizeCode(r.FormValue("family")) }

// randomize randomizes the pending families or one family, with the
// server's key; the receipt shows the arm to randomizers only (the showing
// is recorded in the audit chain).
func (s *Server) randomize(w http.ResponseWriter, r *http.Request, u *Session) error {
	in := trial.RandomizeInput{Key: s.cfg.Key, Actor: s.actor(u), Rand: rand.Reader, ShowArms: u.Role == trial.RoleRandomizer}
	if fam := family(r); fam != "" {
		in.Families = []string{fam}
	} else {
		in.Pending = true
	}
	var res []trial.AllocationResult
	err := s.keyedWrite(r.Context(), func(p *trial.Protocol) (err error) {
		res, err = s.cfg.DB.Randomize(r.Context(), p, in)
		return err
	})
	if err != nil {
		return err
	}
	s.render(w, r, "randomized", u, map[string]any{"Results": res, "ShowArms": in.ShowArms})
	return nil
}

func (s *Server) withdraw(w http.ResponseWriter, r *http.Request, u *Session) error {
	var wd *trial.Withdrawal
	err := s.keyedWrite(r.Context(), func(p *trial.Protocol) (err error) {
		wd, err = s.cfg.DB.Withdraw(r.Context(), p, s.cfg.Key, family(r), r.FormValue("reason"), s.actor(u))
		return err
	})
	if err != nil {
		return withStatus(http.StatusUnprocessableEntity, err)
	}
	s.render(w, r, "done", u, map[string]any{"Withdrawal": wd})
	return nil
}

// unblind reveals one family's arm in an emergency, with a reason, as rct
// unblind: an entry of the audit chain.
func (s *Server) unblind(w http.ResponseWriter, r *http.Request, u *Session) error {
	if family(r) == "" {
		return errorf(http.StatusBadRequest, "name the family (study code)")
	}
	var ub *trial.Unblinding
	err := s.keyedWrite(r.Context(), func(p *trial.Protocol) (err error) {
		ub, err = s.cfg.DB.Unblind(r.Context(), p, s.cfg.Key, family(r), r.FormValue("reason"), s.actor(u))
		return err
	})
	if err != nil {
		return withStatus(http.StatusUnprocessableEntity, err)
	}
	s.render(w, r, "done", u, map[string]any{"Unblinding": ub})
	return nil
}

// auditPage verifies the audit chain (with the server's key when it has
// it) and lists its last entries.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, u *Session) error {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		return err
	}
	rep, err := s.cfg.DB.VerifyChain(ctx, p, s.cfg.Key)
	if err != nil {
		return err
	}
	entries, err := s.cfg.DB.AuditLog(ctx, "")
	if err != nil {
		return err
	}
	if len(entries) > 100 {
		entries = entries[len(entries)-100:]
	}
	s.render(w, r, "audit", u, map[string]any{"Report": rep, "Entries": entries})
	return nil
}
