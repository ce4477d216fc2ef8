package trial

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"strings"

	"github.com/rct-trials/rct/internal/sheet"
)

// RandomizedFamily is what the analysis frame needs of a randomized family
// before outcomes: its group code (never its arm), strata and referral
// domains.
type RandomizedFamily struct {
	Slot      int
	StudyCode string
	Group     string
	Stratum   string          // as randomized: household=single_parent;language=dutch
	Profile   []int           // level index of each stratification variable; shared, read only
	Domains   map[string]bool // weak on each eligibility domain; shared, read only
	Weak      int
	Withdrawn bool
	Date      string // the randomization date, yyyy-mm-dd
}

// NormalizeCode is a study code as typed by a user, as stored: without
// surrounding spaces, in capitals (k-0001 is K-0001).
func NormalizeCode(s string) string { return strings.ToUpper(sheet.Clean(s)) }

// NormalizeCodes is NormalizeCode of each; empty ones are left out.
func NormalizeCodes(codes []string) []string {
	var out []string
	for _, c := range codes {
		if c = NormalizeCode(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// Randomized returns every randomized family in order of randomization.
// Families with the same domains or strata share their Domains map and
// Profile: there are a few of each, and parsing them per family (a JSON
// object and a map each) was half of reading 80,000 families.
func (db *DB) Randomized(ctx context.Context, p *Protocol) ([]RandomizedFamily, error) {
	var n int // a capacity only
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM allocations`).Scan(&n); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT a.slot, f.study_code, a.group_code, a.stratum, r.domains, r.weak_domains,
		EXISTS (SELECT 1 FROM chain c WHERE c.family = f.id AND c.kind = 'withdraw'), a.allocated_on
		FROM allocations a JOIN families f ON f.id = a.family JOIN referrals r ON r.id = f.referral ORDER BY a.slot`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]RandomizedFamily, 0, n)
	domains, profile := map[string]map[string]bool{}, p.profiles()
	for rows.Next() {
		var f RandomizedFamily
		var dom string
		if err := rows.Scan(&f.Slot, &f.StudyCode, &f.Group, &f.Stratum, &dom, &f.Weak, &f.Withdrawn, &f.Date); err != nil {
			return nil, err
		}
		var ok bool
		if f.Domains, ok = domains[dom]; !ok {
			var d map[string]int
			if err := json.Unmarshal([]byte(dom), &d); err != nil {
				return nil, err
			}
			f.Domains = map[string]bool{}
			for k, v := range d {
				f.Domains[k] = v == 1
			}
			domains[dom] = f.Domains
		}
		if f.Profile, err = profile(f.Stratum); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Profiles returns the randomized families' strata profiles in order of
// allocation, as Randomized gives them, read on their own: what the
// design needs, in a tenth of Randomized's time.
func (db *DB) Profiles(ctx context.Context, p *Protocol) ([][]int, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT stratum FROM allocations ORDER BY slot`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]int
	profile := p.profiles()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		prof, err := profile(s)
		if err != nil {
			return nil, err
		}
		out = append(out, prof)
	}
	return out, rows.Err()
}

// Member is an enrolled family as the survey schedule sees it: no group,
// no arm.
type Member struct {
	ID           int64
	StudyCode    string
	EnrolledOn   string // yyyy-mm-dd
	RandomizedOn string // yyyy-mm-dd; "" while not randomized
	Withdrawn    bool
}

// Members returns every enrolled family in order of study code.
func (db *DB) Members(ctx context.Context) ([]Member, error) {
	// The withdrawn families are found once, not probed in the chain for
	// each family: a third less time at 100,000 families.
	rows, err := db.sql.QueryContext(ctx, `SELECT f.id, f.study_code, f.enrolled_on, coalesce(a.allocated_on, ''), w.family IS NOT NULL
		FROM families f LEFT JOIN allocations a ON a.family = f.id
		LEFT JOIN (SELECT DISTINCT family FROM chain WHERE kind = 'withdraw') w ON w.family = f.id
		ORDER BY f.study_code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.StudyCode, &m.EnrolledOn, &m.RandomizedOn, &m.Withdrawn); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RandomizedSpan returns the first and last randomization dates
// (yyyy-mm-dd; "" before any): Members' RandomizedOn, least and greatest,
// from the allocations alone (Members' join with the chain's withdrawals
// and its order took a quarter of a second at 80,000 families).
func (db *DB) RandomizedSpan(ctx context.Context) (first, last string, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT coalesce(min(allocated_on), ''), coalesce(max(allocated_on), '')
		FROM allocations WHERE allocated_on <> ''`).Scan(&first, &last)
	return first, last, err
}

// OutcomeValues returns the derived values of register outcomes (or of
// their baseline windows, id + "_baseline"), a map for each id: the value
// of every family that has one, by study code; NaN where the derivation
// found it missing. All are read in one pass: the table is keyed by
// family, so a query per outcome read all of it each time (six times,
// 1.2 s of CPU, at 80,000 families).
func (db *DB) OutcomeValues(ctx context.Context, ids ...string) ([]map[string]float64, error) {
	out := make([]map[string]float64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	// The study codes are looked up by family id here, not joined row by
	// row (a search of families per value: half the time at 483,792
	// values), and each code's string is the one StudyCodes read.
	codes, err := StudyCodes(ctx, db.sql)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = make(map[string]float64, len(codes))
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT family, outcome, value FROM outcome_values WHERE wave = ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var family int64
		var outcome sql.RawBytes
		var v sql.NullFloat64
		if err := rows.Scan(&family, &outcome, &v); err != nil {
			return nil, err
		}
		i, ok := index[string(outcome)]
		code, known := codes[family]
		if !ok || !known {
			continue
		}
		out[i][code] = math.NaN()
		if v.Valid {
			out[i][code] = v.Float64
		}
	}
	return out, rows.Err()
}

// ReferralIDs maps each enrolled family's study code to the referral id it
// was enrolled from (Kind en Gezin's id).
func (db *DB) ReferralIDs(ctx context.Context) (map[string]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT f.study_code, r.referral_id FROM families f JOIN referrals r ON r.id = f.referral`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var code, ref string
		if err := rows.Scan(&code, &ref); err != nil {
			return nil, err
		}
		out[code] = ref
	}
	return out, rows.Err()
}
