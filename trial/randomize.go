package trial

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/randomize"
)

// Design returns the allocation design of the protocol over the given
// groups (ratio parts in group order) with the strata as factors.
func (p *Protocol) Design(groups []Group) randomize.Design {
	r := p.Randomization
	d := randomize.Design{Method: r.Method, BlockSizes: r.BlockSizes, SampleSize: r.SampleSize,
		P: r.P, Imbalance: r.Imbalance, MaxImbalance: r.MaxImbalance}
	for _, g := range groups {
		d.Ratio = append(d.Ratio, g.Ratio)
	}
	weighted := false
	for _, v := range r.Strata {
		d.Levels = append(d.Levels, len(v.Values))
		w := v.Weight
		if w == 0 {
			w = 1
		} else {
			weighted = true
		}
		d.Weights = append(d.Weights, w)
	}
	if !weighted {
		d.Weights = nil
	}
	return d
}

// PlannedGroups returns one group per arm in protocol order (A for the
// first arm, ...), for simulations before any group is drawn. A trial's
// real groups are drawn at random at the first randomization (Groups).
func (p *Protocol) PlannedGroups() []Group {
	var out []Group
	for i, r := range p.Ratio() {
		out = append(out, Group{Code: groupCode(i), Index: i, Ratio: r})
	}
	return out
}

// profile turns a family's strata ("household=single_parent;language=dutch")
// into level indices, in protocol order.
func (p *Protocol) profile(stratum string) ([]int, error) {
	vals := parseStratum(stratum)
	out := make([]int, len(p.Randomization.Strata))
	for i, v := range p.Randomization.Strata {
		x, ok := vals[v.ID]
		if !ok {
			return nil, fmt.Errorf("no value for stratification variable %s", v.ID)
		}
		j := slices.Index(v.Values, x)
		if j < 0 {
			return nil, fmt.Errorf("%s: %q is not one of %s", v.ID, x, strings.Join(v.Values, ", "))
		}
		out[i] = j
	}
	return out, nil
}

// profiles returns profile with each stratum parsed once, its profile
// shared (read only) by every later call with the same stratum: a trial
// has a few strata and many families.
func (p *Protocol) profiles() func(stratum string) ([]int, error) {
	seen := map[string][]int{}
	return func(stratum string) ([]int, error) {
		if prof, ok := seen[stratum]; ok {
			return prof, nil
		}
		prof, err := p.profile(stratum)
		if err == nil {
			seen[stratum] = prof
		}
		return prof, err
	}
}

// AllocationResult is one family's allocation.
type AllocationResult struct {
	Slot          int    `json:"slot"`
	StudyCode     string `json:"study_code"`
	Group         string `json:"group"`
	Arm           string `json:"arm,omitempty"` // only with the key and when asked
	Stratum       string `json:"stratum"`
	Date          string `json:"date"`
	Deterministic bool   `json:"deterministic"`
}

// RandomizeInput says which families to randomize.
type RandomizeInput struct {
	Families []string // study codes; or
	Pending  bool     // every enrolled family not yet randomized, in order of enrolment
	Key      *AllocationKey
	Actor    Actor
	Rand     io.Reader // for drawing the group ↔ arm mapping at the first randomization
	// ShowArms fills in the arms of the families allocated; the showing is
	// recorded in the audit chain.
	ShowArms bool
}

// Randomize allocates families in one transaction. It first verifies the
// audit chain and re-derives every earlier allocation from the seed; a
// chain that does not verify is refused. Families are given the next slots
// in order: by the order of Families, or of enrolment with Pending.
func (db *DB) Randomize(ctx context.Context, p *Protocol, in RandomizeInput) ([]AllocationResult, error) {
	if in.Rand == nil {
		in.Rand = rand.Reader
	}
	in.Families = NormalizeCodes(in.Families)
	var out []AllocationResult
	err := db.writeChained(ctx, p, in.Key, func(tx *sql.Tx, rep *AuditReport) error {
		groups, err := readGroups(ctx, tx)
		if err != nil {
			return err
		}
		seq, slot := rep.seq, rep.Allocations
		if len(groups) == 0 {
			if groups, err = createGroups(ctx, tx, p, in.Key, in.Rand); err != nil {
				return err
			}
			if seq, err = randomize.New(p.Design(groups), in.Key.Seed); err != nil {
				return err
			}
		}
		fams, err := db.candidates(ctx, tx, p, in)
		if err != nil {
			return err
		}
		only := map[int64]bool{}
		for _, f := range fams {
			only[f.id] = true
		}
		members, err := membersDigests(ctx, tx, only, nil)
		if err != nil {
			return err
		}
		today := sheet.FormatDate(in.Actor.Today())
		ins, err := tx.PrepareContext(ctx, `INSERT INTO allocations (slot, family, group_code, stratum, deterministic, allocated_on, chain_seq) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, f := range fams {
			prof, err := p.profile(f.stratum)
			if err != nil {
				return dataerr.New(db.Path, "family %s: %v", f.code, err)
			}
			a, err := seq.Next(prof)
			if errors.Is(err, randomize.ErrSampleSizeReached) {
				return dataerr.New(db.Path, "family %s: the planned sample size (%d) is reached: the complete design allocates no more families", f.code, p.Randomization.SampleSize)
			}
			if err != nil {
				return err
			}
			slot++
			g := groups[a.Group]
			id := f.id
			cs, err := appendChain(ctx, tx, in.Key, &id, ChainBody{Kind: KindAllocate, Family: f.code, Slot: slot, Group: g.Code,
				Stratum: f.stratum, Deterministic: a.Deterministic, Date: today, Version: randomize.Version, At: in.Actor.Stamp(), By: in.Actor.Name,
				Members: members[f.id]})
			if err != nil {
				return err
			}
			if _, err := ins.ExecContext(ctx, slot, f.id, g.Code, f.stratum, boolInt(a.Deterministic), today, cs); err != nil {
				return err
			}
			out = append(out, AllocationResult{Slot: slot, StudyCode: f.code, Group: g.Code, Stratum: f.stratum, Date: today, Deterministic: a.Deterministic})
		}
		if in.ShowArms && len(out) > 0 {
			arms, err := unseal(ctx, tx, in.Key)
			if err != nil {
				return dataerr.New(db.Path, "%v", err)
			}
			for i := range out {
				out[i].Arm = arms[out[i].Group]
			}
			if _, err := appendChain(ctx, tx, in.Key, nil, ChainBody{Kind: KindExport, Reason: fmt.Sprintf("arms shown at randomization of %d families", len(out)), At: in.Actor.Stamp(), By: in.Actor.Name}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type famStratum struct {
	id      int64
	code    string
	stratum string
}

// stratumOf is the canonical stratum text of a family, in protocol order.
const stratumSQL = `SELECT f.id, f.study_code, COALESCE((SELECT group_concat(variable || '=' || value, ';') FROM
	(SELECT variable, value FROM family_strata s WHERE s.family = f.id ORDER BY variable)), '') FROM families f`

// parseStratum reads "household=single_parent;language=dutch".
func parseStratum(s string) map[string]string {
	vals := map[string]string{}
	if s != "" {
		for _, kv := range strings.Split(s, ";") {
			k, v, _ := strings.Cut(kv, "=")
			vals[k] = v
		}
	}
	return vals
}

// canonicalStratum writes a stratum with the variables in protocol order.
func (p *Protocol) canonicalStratum(raw string) string {
	vals := parseStratum(raw)
	var parts []string
	for _, v := range p.Randomization.Strata {
		if x, ok := vals[v.ID]; ok {
			parts = append(parts, v.ID+"="+x)
		}
	}
	return strings.Join(parts, ";")
}

// candidates returns the families to randomize, checked.
func (db *DB) candidates(ctx context.Context, tx *sql.Tx, p *Protocol, in RandomizeInput) ([]famStratum, error) {
	query, args := stratumSQL+` LEFT JOIN allocations a ON a.family = f.id WHERE a.slot IS NULL`, []any{}
	if !in.Pending {
		// Only the named families: a trial of many families is not read whole.
		query += ` AND f.study_code IN (` + Placeholders(len(in.Families)) + `)`
		for _, c := range in.Families {
			args = append(args, c)
		}
	}
	rows, err := tx.QueryContext(ctx, query+` ORDER BY f.id`, args...)
	if err != nil {
		return nil, err
	}
	pending := map[string]famStratum{}
	var order []famStratum
	for rows.Next() {
		var f famStratum
		if err := rows.Scan(&f.id, &f.code, &f.stratum); err != nil {
			rows.Close()
			return nil, err
		}
		f.stratum = p.canonicalStratum(f.stratum)
		pending[f.code] = f
		order = append(order, f)
	}
	rows.Close()
	var out []famStratum
	var problems dataerr.List
	bad := func(code, format string, args ...any) {
		problems = append(problems, &dataerr.Error{File: db.Path, Err: fmt.Errorf("family %s: %s", code, fmt.Sprintf(format, args...))})
	}
	if in.Pending {
		out = order
	} else {
		seen := map[string]bool{}
		for _, code := range in.Families {
			if seen[code] {
				bad(code, "named twice")
				continue
			}
			seen[code] = true
			f, ok := pending[code]
			if !ok {
				var slot int
				err := tx.QueryRowContext(ctx, `SELECT a.slot FROM allocations a JOIN families f ON f.id = a.family WHERE f.study_code = ?`, code).Scan(&slot)
				switch {
				case err == nil:
					bad(code, "already randomized (slot %d); a family is never randomized again", slot)
				case err == sql.ErrNoRows:
					bad(code, "no enrolled family has this study code (referrals that were not eligible, declined or duplicates get none)")
				default:
					return nil, err
				}
				continue
			}
			out = append(out, f)
		}
	}
	var kept []famStratum
	for _, f := range out {
		if _, err := p.profile(f.stratum); err != nil {
			bad(f.code, "cannot be randomized: %v", err)
			continue
		}
		if p.Randomization.AfterBaseline {
			done, err := baselineIn(ctx, tx, p, f.id)
			if err != nil {
				return nil, err
			}
			if !done {
				if in.Pending {
					continue // waits for its baseline survey
				}
				bad(f.code, "its baseline survey (%s) is not in yet, and the protocol randomizes only after baseline", p.Waves[0].ID)
				continue
			}
		}
		kept = append(kept, f)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return kept, nil
}

// baselineIn reports whether the family's first-wave survey is imported.
func baselineIn(ctx context.Context, tx *sql.Tx, p *Protocol, family int64) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM survey_responses WHERE family = ? AND wave = ? AND period = ''`, family, p.Waves[0].ID).Scan(&n)
	return n > 0, err
}

// AwaitingBaseline counts the enrolled families not yet randomized whose
// baseline survey is not in: when the protocol randomizes after baseline,
// `randomize --pending` leaves them for later.
func (db *DB) AwaitingBaseline(ctx context.Context, p *Protocol) (int, error) {
	if !p.Randomization.AfterBaseline {
		return 0, nil
	}
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM families f
		WHERE NOT EXISTS (SELECT 1 FROM allocations a WHERE a.family = f.id)
		AND NOT EXISTS (SELECT 1 FROM survey_responses r WHERE r.family = f.id AND r.wave = ? AND r.period = '')`, p.Waves[0].ID).Scan(&n)
	return n, err
}
