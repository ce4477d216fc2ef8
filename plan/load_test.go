package plan

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/internal/trialtest"
	"github.com/rct-trials/rct/trial"
)

// TestLoadFamiliesDesign: the design Warm reads ahead (its groups and the
// strata read on their own) is the families' (Profiles against
// Randomized), and loadFamilies draws from it; families randomized after
// Warm read it (rct serve) stop its warming and make the design again
// from the families. Without Warm, loadFamilies reads the design itself.
func TestLoadFamiliesDesign(t *testing.T) {
	ctx := context.Background()
	a := trial.Actor{Name: "tester", Now: func() time.Time { return time.Date(2016, 10, 3, 10, 0, 0, 0, time.UTC) }}
	tt := trialtest.New(t, a)
	tt.Enroll(t, "first.csv", "KG", 10, time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC), a)
	tt.Randomize(t, a)
	profiles, err := tt.DB.Profiles(ctx, tt.P)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := tt.DB.Randomized(ctx, tt.P)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(fams, profiles, func(f trial.RandomizedFamily, p []int) bool { return slices.Equal(f.Profile, p) }) {
		t.Fatalf("Profiles %v are not the families' strata", profiles)
	}
	s := Settings{Draws: 40, Seed: 3}
	drawn := func(d *Data, n int) {
		t.Helper()
		z := make([]float64, n)
		if err := d.Draw(analysis.DrawSource(s.Seed, 0), z); err != nil {
			t.Fatalf("a draw of %d families: %v", n, err)
		}
	}

	w := Warm(ctx, tt.DB, tt.P, s)
	d, err := loadFamilies(ctx, tt.DB, tt.P, nil, w)
	if err != nil {
		t.Fatal(err)
	}
	w.design.warming.Wait() // all 40 kept: the draw takes one
	drawn(d, 10)
	if w.design.stopped || len(w.design.kept) != s.Draws-1 {
		t.Fatalf("the warmed design was not the one drawn from: stopped %v, %d of %d draws kept", w.design.stopped, len(w.design.kept), s.Draws)
	}
	w.Stop()

	w = Warm(ctx, tt.DB, tt.P, s)
	tt.Enroll(t, "second.csv", "KH", 6, time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC), a)
	tt.Randomize(t, a)
	d, err = loadFamilies(ctx, tt.DB, tt.P, nil, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Families) != 16 || !w.design.stopped {
		t.Fatalf("randomized after Warm: %d families, warming stopped %v", len(d.Families), w.design.stopped)
	}
	drawn(d, 16)
	w.Stop()

	if d, err = loadFamilies(ctx, tt.DB, tt.P, nil, nil); err != nil {
		t.Fatal(err)
	}
	drawn(d, 16)
}
