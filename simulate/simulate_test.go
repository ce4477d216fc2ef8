package simulate

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/rct-trials/rct/ident"
	"github.com/rct-trials/rct/trial"
)

func exampleProtocol(t *testing.T) *trial.Protocol {
	t.Helper()
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("sim.yaml", []byte("families: 30\nsupp_aid_intervention: 0.4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Families != 30 || c.SuppAidIntervention != 0.4 || c.EmplProgControl != DefaultConfig().EmplProgControl {
		t.Errorf("got %+v", c)
	}
	if c, err := ParseConfig("empty.yaml", nil); err != nil || c != DefaultConfig() {
		t.Errorf("an empty file should give the defaults: %v", err)
	}
	back, err := ParseConfig("round trip", DefaultConfig().YAML())
	if err != nil || back != DefaultConfig() {
		t.Errorf("YAML round trip: %v", err)
	}
	for _, bad := range []struct{ text, want string }{
		{"famlies: 3\n", "famlies"},
		{"declining: 1.5\n", "declining: 1.5 is not a share"},
		{"supp_aid_control: 0.6\nsupp_aid_intervention: 0.95\n", "needs a probability of"},
		{"start_date: 2016-13-01\n", "start_date"},
		{"attrition_m6: 0.01\ndifferential_attrition: 0.1\n", "differential_attrition"},
		{"dutch: 0.9\nfrench: 0.5\n", "add up to more than 1"},
		{"families: [1]\n", "sim.yaml"},
	} {
		if _, err := ParseConfig("sim.yaml", []byte(bad.text)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: got %v, want an error with %q", bad.text, err, bad.want)
		}
	}
}

// The families counted are those enrolled: eligible and consenting, not
// duplicates; the same seed gives the same rows.
func TestReferralsCountEnrolled(t *testing.T) {
	p := exampleProtocol(t)
	cfg := DefaultConfig()
	rows := Referrals(cfg, p)
	enrolled, dups := 0, 0
	for _, r := range rows {
		if !r.First {
			continue
		}
		weak := 0
		for _, w := range r.Weak {
			if w {
				weak++
			}
		}
		switch {
		case strings.HasSuffix(r.ReferralID, "-2"):
			dups++
		case r.Consent && weak >= p.Eligibility.MinWeak:
			enrolled++
		}
	}
	if enrolled != 112 || dups == 0 {
		t.Errorf("%d eligible consenting referrals (want 112), %d duplicates", enrolled, dups)
	}
	again := Referrals(cfg, p)
	if len(again) != len(rows) || !reflect.DeepEqual(again, rows) {
		t.Error("the same seed gave other rows")
	}
}

// The arm picks a potential outcome; it does not change the world.
func TestHouseholdsIndependentOfArm(t *testing.T) {
	p := exampleProtocol(t)
	cfg := DefaultConfig()
	hh := Households(cfg, Referrals(cfg, p))
	var supp [2]int
	compliers := 0
	for _, h := range hh {
		if h.Complier {
			compliers++
		} else if h.SuppAid[0] != h.SuppAid[1] || h.EmplProg[0] != h.EmplProg[1] {
			t.Fatalf("%s declines guidance but its outcome depends on the arm", h.Referral)
		}
		if h.SuppAid[0] && !h.SuppAid[1] {
			t.Fatalf("%s: aid without guidance but not with it (the effect is monotone)", h.Referral)
		}
		for z := 0; z < 2; z++ {
			if h.SuppAid[z] {
				supp[z]++
			}
		}
		r := cfg.Start()
		ev0, ev1 := h.OCMWEvents(r, 0), h.OCMWEvents(r, 1)
		other := func(ev []Event) (n int) {
			for _, e := range ev {
				if e.Code != "AFH" || e.Start.Before(r) || e.Start.After(r.AddDate(0, 6, 0)) {
					n++
				}
			}
			return n
		}
		if other(ev0) != other(ev1) {
			t.Fatalf("%s: the events outside the outcome depend on the arm", h.Referral)
		}
	}
	n := float64(len(hh))
	if d := float64(supp[1]-supp[0]) / n; d < 0.15 || d > 0.35 {
		t.Errorf("effect on supplementary aid in the sample %.3f, the truth is 0.25", d)
	}
	if c := float64(compliers) / n; c < 0.65 || c > 0.85 {
		t.Errorf("compliance %.3f, configured 0.75", c)
	}
}

func TestRegisterIdentity(t *testing.T) {
	if got := variant("Van den Broucke"); got != "Vandenbroucke" {
		t.Errorf("variant(Van den Broucke) = %q", got)
	}
	if got := variant("Vandenbroucke"); got != "Van den Broucke" {
		t.Errorf("variant(Vandenbroucke) = %q", got)
	}
	if got := variant("Öztürk"); got != "Ozturk" {
		t.Errorf("variant(Öztürk) = %q", got)
	}
	if got := variant("De Clercq"); got != "Declercq" {
		t.Errorf("variant(De Clercq) = %q", got)
	}
	cfg := DefaultConfig()
	cfg.MissingNumber, cfg.MistypedNumber, cfg.NameVariant, cfg.SwappedBirth = 0, 1, 0, 0
	p := exampleProtocol(t)
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for _, m := range Referrals(cfg, p)[:60] {
		if m.Number == "" {
			continue
		}
		id := registerIdentity(cfg, m, rng)
		if _, err := ident.ParseNumber(id.number); err == nil {
			t.Errorf("mistyped %s → %s still passes the check digits", m.Number, id.number)
		}
		if _, err := ident.ParseNumber(m.Number); err != nil {
			t.Errorf("the referral's own number %s is invalid: %v", m.Number, err)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no number checked")
	}
}

// FuzzParseConfig: any text gives a configuration that validates, or an
// error; never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add(DefaultConfig().YAML())
	f.Add([]byte("families: 30\nseed: 7\n"))
	f.Add([]byte("declining: -1\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := ParseConfig("fuzz.yaml", text)
		if err == nil && c.Validate() != nil {
			t.Fatalf("accepted an invalid configuration: %v", c.Validate())
		}
	})
}
