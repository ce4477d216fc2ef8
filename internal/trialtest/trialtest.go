// Package trialtest makes trials for the tests of the packages above
// trial: a trial of the example protocol with its keys, and referral lists
// enrolled into it. Only tests import it.
package trialtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
)

// Trial is a trial of the example protocol in a folder of its own: t.db,
// with its allocation key (t.key) and pseudonymisation key (t.pk).
type Trial struct {
	Dir       string
	DB        *trial.DB
	P         *trial.Protocol
	Key       *trial.AllocationKey
	PseudoKey *trial.PseudoKey
}

// New creates the trial (a sets it up) and opens it; it is closed when
// the test ends.
func New(t testing.TB, a trial.Actor) *Trial {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trial.Init(ctx, trial.InitOptions{Protocol: p, ProtocolPath: "x", DBPath: filepath.Join(dir, "t.db"),
		KeyPath: filepath.Join(dir, "t.key"), PseudoKeyPath: filepath.Join(dir, "t.pk"), Actor: a}); err != nil {
		t.Fatal(err)
	}
	db, err := trial.Open(ctx, filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tt := &Trial{Dir: dir, DB: db, P: p}
	if tt.PseudoKey, err = db.VerifyPseudoKey(ctx, filepath.Join(dir, "t.pk")); err != nil {
		t.Fatal(err)
	}
	if tt.Key, err = db.VerifyAllocationKey(ctx, filepath.Join(dir, "t.key")); err != nil {
		t.Fatal(err)
	}
	return tt
}

// Enroll writes n referrals (WriteReferrals) to name in the trial's folder
// and enrols them as a does.
func (tt *Trial) Enroll(t testing.TB, name, prefix string, n int, start time.Time, a trial.Actor) {
	t.Helper()
	path := filepath.Join(tt.Dir, name)
	WriteReferrals(t, path, tt.P, prefix, n, start)
	tt.EnrollFile(t, path, a)
}

// EnrollFile reads the referral list at path and enrols it as a does; it
// returns the referrals read.
func (tt *Trial) EnrollFile(t testing.TB, path string, a trial.Actor) []*trial.Referral {
	t.Helper()
	refs, rows, err := trial.ReadReferrals(path, tt.P, a.Today(), sheet.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tt.DB.Enroll(context.Background(), tt.P, trial.EnrollInput{File: path, SHA256: filepath.Base(path), RowsRead: rows, Referrals: refs, Key: tt.PseudoKey, Actor: a}); err != nil {
		t.Fatal(err)
	}
	return refs
}

// Randomize randomizes every family enrolled and not yet randomized.
func (tt *Trial) Randomize(t testing.TB, a trial.Actor) []trial.AllocationResult {
	t.Helper()
	res, err := tt.DB.Randomize(context.Background(), tt.P, trial.RandomizeInput{Pending: true, Key: tt.Key, Actor: a})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// WriteReferrals writes a referral list of n eligible, consenting families
// of p (a mother and a child each, referred over 30 days from start, the
// strata's levels in turn) to path, their ids prefix-000001 on.
func WriteReferrals(t testing.TB, path string, p *trial.Protocol, prefix string, n int, start time.Time) {
	t.Helper()
	var b strings.Builder
	head := []string{"referral_id", "referral_date", "role", "national_number", "first_name", "last_name", "birth_date", "postcode", "consent"}
	head = append(head, p.Eligibility.Domains...)
	for _, v := range p.Randomization.Strata {
		head = append(head, v.ID)
	}
	b.WriteString(strings.Join(head, ",") + "\n")
	for i := 0; i < n; i++ {
		day := start.AddDate(0, 0, i%30).Format("02/01/2006")
		row := []string{fmt.Sprintf("%s-%06d", prefix, i+1), day, "mother", "", fmt.Sprintf("Moeder%d", i), prefix + "family", "01/02/1990", "8500", "yes"}
		for range p.Eligibility.Domains {
			row = append(row, "1")
		}
		for j, v := range p.Randomization.Strata {
			row = append(row, v.Values[(i/(j+1))%len(v.Values)])
		}
		b.WriteString(strings.Join(row, ",") + "\n")
		b.WriteString(fmt.Sprintf("%s-%06d,,child,,Kind%d,%sfamily,%s,8500,%s\n", prefix, i+1, i, prefix, day, strings.Repeat(",", len(p.Eligibility.Domains)+len(p.Randomization.Strata)-1)))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
