package plan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
)

// loadTrial is a trial of the example protocol with families enrolled in
// two lists, the first randomized; randomize allocates the second.
type loadTrial struct {
	db        *trial.DB
	p         *trial.Protocol
	randomize func()
}

func newLoadTrial(t *testing.T, first, second int) *loadTrial {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	a := trial.Actor{Name: "tester", Now: func() time.Time { return time.Date(2016, 10, 3, 10, 0, 0, 0, time.UTC) }}
	if _, err := trial.Init(ctx, trial.InitOptions{Protocol: p, ProtocolPath: "x", DBPath: filepath.Join(dir, "t.db"),
		KeyPath: filepath.Join(dir, "t.key"), PseudoKeyPath: filepath.Join(dir, "t.pk"), Actor: a}); err != nil {
		t.Fatal(err)
	}
	db, err := trial.Open(ctx, filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pk, _ := db.VerifyPseudoKey(ctx, filepath.Join(dir, "t.pk"))
	key, err := db.VerifyAllocationKey(ctx, filepath.Join(dir, "t.key"))
	if err != nil {
		t.Fatal(err)
	}
	enroll := func(name string, from, n int) {
		var b strings.Builder
		head := []string{"referral_id", "referral_date", "role", "national_number", "first_name", "last_name", "birth_date", "postcode", "consent"}
		head = append(head, p.Eligibility.Domains...)
		for _, v := range p.Randomization.Strata {
			head = append(head, v.ID)
		}
		b.WriteString(strings.Join(head, ",") + "\n")
		for i := from; i < from+n; i++ {
			row := []string{fmt.Sprintf("KG-%06d", i+1), "01/09/2016", "mother", "", fmt.Sprintf("Moeder%d", i), "Family", "01/02/1990", "8500", "yes"}
			for range p.Eligibility.Domains {
				row = append(row, "1")
			}
			for j, v := range p.Randomization.Strata {
				row = append(row, v.Values[(i/(j+1))%len(v.Values)])
			}
			b.WriteString(strings.Join(row, ",") + "\n")
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		refs, rows, err := trial.ReadReferrals(path, p, a.Today(), sheet.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Enroll(ctx, p, trial.EnrollInput{File: path, SHA256: name, RowsRead: rows, Referrals: refs, Key: pk, Actor: a}); err != nil {
			t.Fatal(err)
		}
	}
	randomize := func() {
		if _, err := db.Randomize(ctx, p, trial.RandomizeInput{Pending: true, Key: key, Actor: a}); err != nil {
			t.Fatal(err)
		}
	}
	enroll("first.csv", 0, first)
	randomize()
	enroll("second.csv", first, second)
	return &loadTrial{db: db, p: p, randomize: randomize}
}

// TestLoadFamiliesDesign: the design's draws are made from the strata read
// on their own, which are the families' (Profiles against Randomized);
// families randomized between the two reads (rct serve) make the design
// again from the families, stopping the first one's warming.
func TestLoadFamiliesDesign(t *testing.T) {
	ctx := context.Background()
	lt := newLoadTrial(t, 10, 6)
	profiles, err := lt.db.Profiles(ctx, lt.p)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := lt.db.Randomized(ctx, lt.p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(fams, profiles, func(f trial.RandomizedFamily, p []int) bool { return slices.Equal(f.Profile, p) }) {
		t.Fatalf("Profiles %v are not the families' strata", profiles)
	}
	for _, between := range []bool{false, true} {
		var warmed []*designDraws
		stopped := 0
		d, err := loadFamilies(ctx, lt.db, lt.p, nil, func(dd *designDraws) func() {
			warmed = append(warmed, dd)
			if between && len(warmed) == 1 {
				lt.randomize()
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
