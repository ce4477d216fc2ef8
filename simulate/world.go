package simulate

import (
	"math"
	"math/rand/v2"
	"time"
)

// Household is the world's side of one referral: its members and how it
// would fare in either arm. Everything that depends on chance is drawn
// when the household is made, from the seed and the referral's index, and
// never from the arm: the arm only picks which potential outcome is seen,
// so the true effects do not depend on the allocation.
type Household struct {
	Index    int
	Referral string
	Members  []ReferralRow // mother, partner (two-parent households), child

	// Complier: would accept guidance if offered the intervention.
	Complier bool
	// Potential outcomes of the primary outcomes by arm: [control,
	// intervention, phone guidance (three arms)].
	SuppAid  [3]bool
	EmplProg [3]bool
	// Who in the household the register events happen to (index in Members).
	OCMWClient, VDABClient int

	Leefloon      bool    // on leefloon around randomization (no effect)
	Income        float64 // baseline monthly income (no effect)
	IncomeChange  [2]float64
	SocialHousing bool
	Respond       float64 // latent: not interviewed at a wave when below its attrition
	Caseload      string  // case manager

	seed uint64 // each detail (events, answers, log) draws from its own stream of it
}

// Households makes the world of every referral in rows (as Referrals
// returns them). Duplicate referrals (id ending in -2) share the
// household of the first.
func Households(cfg Config, rows []ReferralRow) []*Household {
	var out []*Household
	byID := map[string]*Household{}
	for _, r := range rows {
		h := byID[r.ReferralID]
		if h == nil {
			h = &Household{Index: len(out), Referral: r.ReferralID}
			byID[r.ReferralID] = h
			out = append(out, h)
		}
		h.Members = append(h.Members, r)
	}
	for _, h := range out {
		h.draw(cfg)
	}
	return out
}

func (h *Household) draw(cfg Config) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed_1000+uint64(h.Index)))
	h.Complier = rng.Float64() >= cfg.DeclineGuidance
	// One uniform per outcome gives every arm's potential outcome: the
	// arms differ only in the probability it is compared with (compliers).
	potential := func(p0, p1, p2 float64) [3]bool {
		u := rng.Float64()
		y := [3]bool{u < p0, u < p0, u < p0}
		if h.Complier {
			y[1] = u < complierP(p0, p1, cfg.DeclineGuidance)
			y[2] = u < complierP(p0, p2, cfg.DeclineGuidance)
		}
		return y
	}
	h.SuppAid = potential(cfg.SuppAidControl, cfg.SuppAidIntervention, cfg.SuppAidLight)
	h.EmplProg = potential(cfg.EmplProgControl, cfg.EmplProgIntervention, cfg.EmplProgLight)
	adults := 0
	for _, m := range h.Members {
		if m.Role != "child" {
			adults++
		}
	}
	h.OCMWClient, h.VDABClient = 0, 0
	if adults == 2 && rng.Float64() < 0.25 {
		h.OCMWClient = 1
	}
	if adults == 2 && rng.Float64() < 0.5 {
		h.VDABClient = 1
	}
	h.Leefloon = rng.Float64() < cfg.Leefloon
	h.Income = math.Max(400, cfg.IncomeMean+cfg.IncomeSD*rng.NormFloat64())
	h.IncomeChange = [2]float64{cfg.IncomeSD / 3 * rng.NormFloat64(), cfg.IncomeSD / 3 * rng.NormFloat64()}
	h.SocialHousing = rng.Float64() < cfg.SocialHousing
	h.Respond = rng.Float64()
	h.Caseload = []string{"An", "Bieke", "Charlotte", "Dirk", "Evi"}[rng.IntN(5)]
	h.seed = cfg.Seed
}

// Responds says whether the household is interviewed at a wave, given its
// arm (0 control, 1 intervention, 2 phone guidance): attrition a at m6 and
// m12 is the configured one plus half the differential in control, minus
// half in an intervention arm; dropping out is monotone (not at m6 means
// not at m12). Baseline: 2%.
func (h *Household) Responds(cfg Config, wave string, arm int) bool {
	var a float64
	switch wave {
	case "m0":
		a = 0.02
	case "m6":
		a = cfg.Attrition6
	default:
		a = cfg.Attrition12
	}
	if wave != "m0" {
		if arm != 0 {
			a -= cfg.Differential / 2
		} else {
			a += cfg.Differential / 2
		}
	}
	return h.Respond >= a
}

// Event is one register record of a person.
type Event struct {
	Person     int // index in Members
	Code       string
	Start, End time.Time // End zero: one-off
	Amount     float64
}

// OCMWEvents are the social-welfare records of the household around its
// randomization date r for arm z (0 control, 1 intervention, 2 phone
// guidance): supplementary aid within 6 months as the
// potential outcome says (and sometimes before or later), leefloon spells
// (no effect), activation and budget guidance.
func (h *Household) OCMWEvents(r time.Time, z int) []Event {
	rng := rand.New(rand.NewPCG(h.seed, 0x0c0a_0000+uint64(h.Index)))
	c := h.OCMWClient
	var ev []Event
	day := func(lo, hi int) time.Time { return r.AddDate(0, 0, lo+rng.IntN(hi-lo+1)) }
	aid, amount := day(3, 170), float64(100+rng.IntN(900)) // drawn in either arm: the arm only decides
	if h.SuppAid[z] {
		ev = append(ev, Event{Person: c, Code: "AFH", Start: aid, Amount: amount})
	}
	if rng.Float64() < 0.35 { // later aid, outside the 6-month window
		ev = append(ev, Event{Person: c, Code: "AFH", Start: day(200, 600), Amount: float64(100 + rng.IntN(900))})
	}
	if rng.Float64() < 0.20 { // aid before randomization (baseline window)
		ev = append(ev, Event{Person: c, Code: "AFH", Start: day(-330, -20), Amount: float64(100 + rng.IntN(900))})
	}
	if h.Leefloon {
		ev = append(ev, Event{Person: c, Code: "LL", Start: day(-400, -30), End: day(60, 600), Amount: 1200})
	}
	if rng.Float64() < 0.2 {
		s := day(-200, 300)
		ev = append(ev, Event{Person: c, Code: "ACT", Start: s, End: s.AddDate(0, 3+rng.IntN(9), 0)})
	}
	if rng.Float64() < 0.1 {
		s := day(-300, 300)
		ev = append(ev, Event{Person: c, Code: "BB", Start: s, End: s.AddDate(1, 0, 0)})
	}
	return ev
}

// VDABEvents are the employment-service records of the household around r
// for arm z: an employment programme within 12 months as the potential
// outcome says (and sometimes before or later), job-seeker spells,
// training and paid work.
func (h *Household) VDABEvents(r time.Time, z int) []Event {
	rng := rand.New(rand.NewPCG(h.seed, 0x0dab_0000+uint64(h.Index)))
	c := h.VDABClient
	var ev []Event
	day := func(lo, hi int) time.Time { return r.AddDate(0, 0, lo+rng.IntN(hi-lo+1)) }
	prog := day(10, 350)
	progEnd := prog.AddDate(0, 0, 60+rng.IntN(300))
	if h.EmplProg[z] {
		ev = append(ev, Event{Person: c, Code: "TWE", Start: prog, End: progEnd})
	}
	if rng.Float64() < 0.2 {
		s := day(380, 700)
		ev = append(ev, Event{Person: c, Code: "TWE", Start: s, End: s.AddDate(0, 0, 60+rng.IntN(300))})
	}
	if rng.Float64() < 0.1 {
		s := day(-360, -100)
		ev = append(ev, Event{Person: c, Code: "TWE", Start: s, End: s.AddDate(0, 0, 60)})
	}
	for p, m := range h.Members {
		if m.Role == "child" {
			continue
		}
		if rng.Float64() < 0.6 {
			ev = append(ev, Event{Person: p, Code: "WZ", Start: day(-500, 0), End: day(30, 500)})
		}
		if rng.Float64() < 0.2 {
			s := day(-100, 400)
			ev = append(ev, Event{Person: p, Code: "OPL", Start: s, End: s.AddDate(0, 2+rng.IntN(6), 0)})
		}
		if rng.Float64() < 0.25 {
			s := day(-300, 500)
			ev = append(ev, Event{Person: p, Code: "WERK", Start: s, End: s.AddDate(0, 1+rng.IntN(12), 0)})
		}
	}
	return ev
}
