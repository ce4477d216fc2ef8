package linkage

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"github.com/rct-trials/rct/trial"
)

// Window is the interval (From, To] of calendar dates.
type Window struct{ From, To time.Time }

// Spell is a register event as an interval: a one-off event has End = Start.
type Spell struct {
	Start, End time.Time
	Open       bool // no end date: still running
	Amount     float64
	HasAmount  bool
}

func (s Spell) overlaps(w Window) bool {
	end := s.End
	if s.Open {
		end = w.To
	}
	return !s.Start.After(w.To) && end.After(w.From)
}

// Aggregate reduces a family's spells in a window as the protocol says:
// any (1 if a spell overlaps the window, else 0), count (spells
// overlapping), sum (amounts of spells starting in the window), days (days
// of the window covered by the union of spells; a one-off event covers its
// day; an open spell runs to the window's end).
func Aggregate(spells []Spell, w Window, how string) float64 {
	switch how {
	case "any", "count":
		n := 0
		for _, s := range spells {
			if s.overlaps(w) {
				n++
			}
		}
		if how == "any" && n > 0 {
			return 1
		}
		return float64(n)
	case "sum":
		t := 0.0
		for _, s := range spells {
			if s.HasAmount && s.Start.After(w.From) && !s.Start.After(w.To) {
				t += s.Amount
			}
		}
		return t
	case "days":
		type iv struct{ a, b time.Time } // days a..b inclusive
		var ivs []iv
		first := w.From.AddDate(0, 0, 1)
		for _, s := range spells {
			if !s.overlaps(w) {
				continue
			}
			a, b := s.Start, s.End
			if s.Open {
				b = w.To
			}
			if a.Before(first) {
				a = first
			}
			if b.After(w.To) {
				b = w.To
			}
			if !b.Before(a) {
				ivs = append(ivs, iv{a, b})
			}
		}
		sort.Slice(ivs, func(i, j int) bool { return ivs[i].a.Before(ivs[j].a) })
		days := 0
		var cur *iv
		for i := range ivs {
			x := ivs[i]
			if cur != nil && !x.a.After(cur.b.AddDate(0, 0, 1)) {
				if x.b.After(cur.b) {
					cur.b = x.b
				}
				continue
			}
			if cur != nil {
				days += int(cur.b.Sub(cur.a).Hours()/24) + 1
			}
			c := x
			cur = &c
		}
		if cur != nil {
			days += int(cur.b.Sub(cur.a).Hours()/24) + 1
		}
		return float64(days)
	}
	return 0
}

// DeriveResult counts the values derived per outcome.
type DeriveResult struct {
	Outcome  string `json:"outcome"`
	Families int    `json:"families"`
	Linked   int    `json:"families_linked"`
	NonZero  int    `json:"non_zero"`
}

// Derive computes every register outcome (and its baseline window) for
// every randomized family from the linked events of any of its members,
// relative to the family's randomization date, and stores them in one
// transaction, replacing earlier derivations.
func Derive(ctx context.Context, db *trial.DB, p *trial.Protocol, a trial.Actor) ([]DeriveResult, error) {
	out := []DeriveResult{}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		type fam struct {
			id   int64
			date time.Time
		}
		var fams []fam
		rows, err := tx.QueryContext(ctx, `SELECT family, allocated_on FROM allocations ORDER BY slot`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var f fam
			var d string
			rows.Scan(&f.id, &d)
			f.date, _ = time.Parse("2006-01-02", d)
			fams = append(fams, f)
		}
		rows.Close()
		spellEvents := map[string]map[string]bool{}
		for _, r := range p.Registers {
			spellEvents[r.ID] = map[string]bool{}
			for _, ev := range r.Spells {
				spellEvents[r.ID][ev] = true
			}
		}
		// spells[register][event][family]
		spells := map[string]map[string]map[int64][]Spell{}
		linked := map[string]map[int64]bool{}
		rows, err = tx.QueryContext(ctx, `SELECT l.register, p.family, e.event, e.start_date, COALESCE(e.end_date, ''), e.amount
			FROM register_events e JOIN register_links l ON l.id = e.link JOIN persons p ON p.id = l.person WHERE l.status = 'linked'`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var reg, ev, start, end string
			var famID int64
			var amount sql.NullFloat64
			if err := rows.Scan(&reg, &famID, &ev, &start, &end, &amount); err != nil {
				rows.Close()
				return err
			}
			s := Spell{Amount: amount.Float64, HasAmount: amount.Valid}
			s.Start, _ = time.Parse("2006-01-02", start)
			s.End = s.Start
			if end != "" {
				s.End, _ = time.Parse("2006-01-02", end)
			} else if spellEvents[reg][ev] {
				s.Open = true
			}
			if spells[reg] == nil {
				spells[reg] = map[string]map[int64][]Spell{}
			}
			if spells[reg][ev] == nil {
				spells[reg][ev] = map[int64][]Spell{}
			}
			spells[reg][ev][famID] = append(spells[reg][ev][famID], s)
		}
		rows.Close()
		rows, err = tx.QueryContext(ctx, `SELECT DISTINCT l.register, p.family FROM register_links l JOIN persons p ON p.id = l.person WHERE l.status = 'linked'`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var reg string
			var famID int64
			rows.Scan(&reg, &famID)
			if linked[reg] == nil {
				linked[reg] = map[int64]bool{}
			}
			linked[reg][famID] = true
		}
		rows.Close()
		if _, err := tx.ExecContext(ctx, `DELETE FROM outcome_values WHERE wave = ''`); err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO outcome_values (family, outcome, wave, value, linked, derived_at) VALUES (?, ?, '', ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		stamp := a.Now().UTC().Format(time.RFC3339)
		for _, o := range p.Outcomes {
			src := o.Source
			if src.Register == "" || src.Window == nil {
				continue
			}
			windows := []struct {
				id string
				w  trial.Window
			}{{o.ID, *src.Window}}
			if o.Baseline != nil && o.Baseline.Window != nil {
				windows = append(windows, struct {
					id string
					w  trial.Window
				}{o.ID + "_baseline", *o.Baseline.Window})
			}
			for _, win := range windows {
				r := DeriveResult{Outcome: win.id}
				for _, f := range fams {
					var ss []Spell
					for _, ev := range src.Events {
						ss = append(ss, spells[src.Register][ev][f.id]...)
					}
					w := Window{From: win.w.From.AddTo(f.date), To: win.w.To.AddTo(f.date)}
					v := Aggregate(ss, w, src.Aggregate)
					isLinked := linked[src.Register][f.id]
					if _, err := ins.ExecContext(ctx, f.id, win.id, v, boolInt(isLinked), stamp); err != nil {
						return err
					}
					r.Families++
					if isLinked {
						r.Linked++
					}
					if v != 0 {
						r.NonZero++
					}
				}
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
