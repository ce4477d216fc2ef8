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

// TestLoadFamiliesDesign: the design's draws are made from the strata read
// on their own, which are the families' (Profiles against Randomized);
// families randomized between the two reads (rct serve) make the design
// again from the families, stopping the first one's warming.
func TestLoadFamiliesDesign(t *testing.T) {
	ctx := context.Background()
	a := trial.Actor{Name: "tester", Now: func() time.Time { return time.Date(2016, 10, 3, 10, 0, 0, 0, time.UTC) }}
	tt := trialtest.New(t, a)
	tt.Enroll(t, "first.csv", "KG", 10, time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC), a)
	tt.Randomize(t, a)
	tt.Enroll(t, "second.csv", "KH", 6, time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC), a)
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
	for _, between := range []bool{false, true} {
		var warmed []*designDraws
		stopped := 0
		d, err := loadFamilies(ctx, tt.DB, tt.P, nil, func(dd *designDraws) func() {
			warmed = append(warmed, dd)
			if between && len(warmed) == 1 {
				tt.Randomize(t, a)
			}
			return func() { stopped++ }
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []int{10}
		if between {
			want = []int{10, 16}
		}
		var got []int
		for _, dd := range warmed {
			got = append(got, dd.n)
		}
		if !slices.Equal(got, want) || d.design != warmed[len(warmed)-1] || len(d.Families) != want[len(want)-1] {
			t.Fatalf("between %v: designs of %v units warmed, want %v; %d families", between, got, want, len(d.Families))
		}
		if stopped != len(want)-1 {
			t.Fatalf("between %v: %d warmings stopped, want %d", between, stopped, len(want)-1)
		}
		z := make([]float64, len(d.Families))
		if err := d.Draw(analysis.DrawSource(1, 0), z); err != nil {
			t.Fatal(err)
		}
	}
}
