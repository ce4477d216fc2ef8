package simulate

import (
	"fmt"
	"math/rand/v2"
	"time"

	isheet "github.com/rct-trials/rct/internal/sheet"

	"github.com/rct-trials/rct/trial"
	"github.com/xuri/excelize/v2"
)

// ReferralRow is one row of the referral file: one household member.
type ReferralRow struct {
	ReferralID   string
	ReferralDate time.Time
	Role         string
	Number       string // formatted national number, or ""
	FirstName    string
	LastName     string
	BirthDate    time.Time
	Postcode     string
	Consent      bool
	Weak         []bool   // per protocol domain
	Strata       []string // per protocol stratum
	First        bool     // first row of its referral: carries the referral-level values
	Language     string   // main language at home (first row; not in the referral file)
}

var (
	firstNames = map[string][]string{
		"mother":  {"Sarah", "Fatima", "Hélène", "Amina", "Laura", "Khadija", "Nathalie", "Hodan", "Elif", "Marie", "Yasmina", "Sofie", "Ayaan", "Leen", "Naïma"},
		"partner": {"Mohamed", "Tom", "Youssef", "Kevin", "Ahmed", "Pieter", "Abdi", "Jean-Marie", "Emre", "Bram", "Karim", "Dries"},
		"child":   {"Lina", "Adam", "Noah", "Nour", "Yara", "Liam", "Imran", "Olivia", "Sami", "Amir", "Lotte", "Ilyas"},
	}
	lastNames = []string{"Peeters", "Janssens", "Maes", "Mohamed", "Van den Broucke", "Vandenbroucke", "El Amrani", "Desmet", "Verhaeghe",
		"Ali", "Yilmaz", "Dewitte", "Vanhoutte", "Benali", "Hassan", "Claeys", "De Clercq", "Declercq", "Farah", "Lefebvre", "Vermeulen",
		"Dupont", "Mertens", "Öztürk", "D'Hondt", "Vandamme", "Bouzid", "Warsame", "Deconinck", "Goethals"}
	postcodes = []string{"8500", "8501", "8510", "8511", "8520", "8530", "8540", "8550", "8560", "8570"}
)

// Referrals draws the referral rows of a synthetic trial. domains and strata
// follow the protocol; a household stratum named "household" with values
// single_parent / two_parents and a "language" stratum dutch / other get
// values consistent with the household drawn; other strata are drawn
// uniformly.
func Referrals(cfg Config, p *trial.Protocol) []ReferralRow {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed_0001))
	var rows []ReferralRow
	type family struct{ rows []ReferralRow }
	serials := map[time.Time]int{} // per birth date, so no two persons share a number
	nrn := func(born time.Time) string {
		serials[born]++
		d := numberFor(born, serials[born]%998)
		return fmt.Sprintf("%s.%s.%s-%s.%s", d[0:2], d[2:4], d[4:6], d[6:9], d[9:])
	}
	minWeak := p.Eligibility.MinWeak
	nd := len(p.Eligibility.Domains)
	// Referrals arrive evenly over the recruitment period until Families
	// of them are eligible and consent (the families enrolled).
	expected := float64(cfg.Families) / max((1-cfg.Ineligible)*(1-cfg.Declining), 0.01)
	for i, enrolled := 0, 0; enrolled < cfg.Families; i++ {
		id := fmt.Sprintf("KG-%06d", i+1)
		date := cfg.Start().AddDate(0, 0, min(int(float64(i)*float64(cfg.Recruitment)/expected), cfg.Recruitment-1))
		// How many domains weak: eligible ones have min_weak..nd.
		k := minWeak + rng.IntN(nd-minWeak+1)
		if rng.Float64() < cfg.Ineligible {
			k = rng.IntN(minWeak)
		}
		weak := make([]bool, nd)
		for _, j := range rng.Perm(nd)[:k] {
			weak[j] = true
		}
		single := rng.Float64() < cfg.SingleParents
		lang := cfg.language(rng.Float64())
		dutch := lang == "dutch"
		strata := make([]string, len(p.Randomization.Strata))
		for j, v := range p.Randomization.Strata {
			switch {
			case v.ID == "household" && len(v.Values) == 2:
				strata[j] = v.Values[boolIdx(!single)]
			case v.ID == "language" && len(v.Values) == 2:
				strata[j] = v.Values[boolIdx(!dutch)]
			default:
				strata[j] = v.Values[rng.IntN(len(v.Values))]
			}
		}
		consent := rng.Float64() >= cfg.Declining
		if consent && k >= minWeak {
			enrolled++
		}
		last := lastNames[rng.IntN(len(lastNames))]
		post := postcodes[rng.IntN(len(postcodes))]
		child := date.AddDate(0, 0, -rng.IntN(40)-7)
		members := []struct {
			role string
			born time.Time
			last string
		}{{"mother", date.AddDate(-18-rng.IntN(25), 0, -rng.IntN(365)), last}}
		if !single {
			members = append(members, struct {
				role string
				born time.Time
				last string
			}{"partner", date.AddDate(-20-rng.IntN(25), 0, -rng.IntN(365)), lastNames[rng.IntN(len(lastNames))]})
		}
		members = append(members, struct {
			role string
			born time.Time
			last string
		}{"child", child, last})
		var f family
		for j, m := range members {
			r := ReferralRow{
				ReferralID: id, ReferralDate: date, Role: m.role, FirstName: firstNames[m.role][rng.IntN(len(firstNames[m.role]))],
				LastName: m.last, BirthDate: m.born, Postcode: post, First: j == 0,
			}
			if rng.Float64() >= cfg.MissingNumber {
				r.Number = nrn(m.born)
			}
			if r.First {
				r.Consent, r.Weak, r.Strata, r.Language = consent, weak, strata, lang
			}
			f.rows = append(f.rows, r)
		}
		rows = append(rows, f.rows...)
		// A duplicate referral: the same family, referred again a few weeks later.
		if rng.Float64() < cfg.Duplicates {
			d := make([]ReferralRow, len(f.rows))
			copy(d, f.rows)
			delay := 0
			for j := range d {
				// One draw per row keeps the stream of earlier versions; the
				// referral's rows share the first row's date.
				if dl := 14 + rng.IntN(30); j == 0 {
					delay = dl
				}
				d[j].ReferralID = id + "-2"
				d[j].ReferralDate = date.AddDate(0, 0, delay)
			}
			rows = append(rows, d...)
		}
	}
	return rows
}

// language maps a uniform draw to a main language by the configured shares.
func (cfg Config) language(u float64) string {
	for _, l := range []struct {
		code  string
		share float64
	}{{"dutch", cfg.Dutch}, {"french", cfg.French}, {"arabic", cfg.Arabic}, {"somali", cfg.Somali}, {"berber", cfg.Berber}} {
		if u < l.share {
			return l.code
		}
		u -= l.share
	}
	return "other"
}

func boolIdx(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WriteReferralsXLSX writes the rows as Kind en Gezin's referral workbook:
// sheet "referrals", dates as date cells, national numbers as text.
func WriteReferralsXLSX(path string, p *trial.Protocol, rows []ReferralRow) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "referrals"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	if err := isheet.SetDimension(f, sheet, len(rows)+1, len(p.ReferralColumns())); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14}) // d/m/yyyy in a Belgian Excel
	if err != nil {
		return err
	}
	head := p.ReferralColumns()
	hdr := make([]any, len(head))
	for i, h := range head {
		hdr[i] = h
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return err
	}
	for i, r := range rows {
		cells := make([]any, 0, len(head))
		cells = append(cells, r.ReferralID)
		if r.First {
			cells = append(cells, excelize.Cell{StyleID: dateStyle, Value: r.ReferralDate})
		} else {
			cells = append(cells, nil)
		}
		cells = append(cells, r.Role, r.Number, r.FirstName, r.LastName, excelize.Cell{StyleID: dateStyle, Value: r.BirthDate}, r.Postcode)
		if r.First {
			cells = append(cells, yesNo(r.Consent))
			for _, w := range r.Weak {
				cells = append(cells, boolIdx(w))
			}
			for _, s := range r.Strata {
				cells = append(cells, s)
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, cells); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
