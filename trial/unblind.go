package trial

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/randomize"
)

// Unblinding is what an unblinding reveals.
type Unblinding struct {
	Family string            `json:"family,omitempty"` // empty for the whole trial
	Group  string            `json:"group,omitempty"`
	Arm    string            `json:"arm,omitempty"`
	Label  string            `json:"label,omitempty"`
	Groups map[string]string `json:"groups,omitempty"` // whole trial: group code → arm id
	Reason string            `json:"reason"`
	Seq    int               `json:"chain_seq"`
}

// Unblind reveals one family's arm (emergency unblinding), or with family
// "" the arm of every group (end of trial). Each is an audit-chain entry
// with who, when and why.
func (db *DB) Unblind(ctx context.Context, p *Protocol, key *AllocationKey, family, reason string, a Actor) (*Unblinding, error) {
	if reason == "" {
		return nil, errors.New("unblind: give the reason (--reason)")
	}
	family = NormalizeCode(family)
	var out *Unblinding
	err := db.writeChained(ctx, p, key, func(tx *sql.Tx, _ *AuditReport) error {
		arms, err := unseal(ctx, tx, key)
		if err != nil {
			return dataerr.New(db.Path, "%v", err)
		}
		labels := armLabels(p, arms)
		if family == "" {
			seq, err := appendChain(ctx, tx, key, nil, ChainBody{Kind: KindUnblindTrial, Reason: reason, At: a.Stamp(), By: a.Name})
			if err != nil {
				return err
			}
			out = &Unblinding{Groups: arms, Reason: reason, Seq: seq}
			return nil
		}
		var id int64
		var group string
		err = tx.QueryRowContext(ctx, `SELECT f.id, a.group_code FROM families f JOIN allocations a ON a.family = f.id WHERE f.study_code = ?`, family).Scan(&id, &group)
		if err == sql.ErrNoRows {
			return dataerr.New(db.Path, "family %s: not randomized (or no such study code): nothing to unblind", family)
		}
		if err != nil {
			return err
		}
		seq, err := appendChain(ctx, tx, key, &id, ChainBody{Kind: KindUnblindFamily, Family: family, Reason: reason, At: a.Stamp(), By: a.Name})
		if err != nil {
			return err
		}
		out = &Unblinding{Family: family, Group: group, Arm: arms[group], Label: labels[group].Label, Reason: reason, Seq: seq}
		return nil
	})
	return out, err
}

// Withdrawal says what Withdraw recorded.
type Withdrawal struct {
	Family  string `json:"family"`
	Seq     int    `json:"chain_seq"`
	Already bool   `json:"already_withdrawn"` // recorded before: nothing new
	Keyed   bool   `json:"keyed"`             // recorded with the key (with a MAC)
}

// Withdraw records that a randomized family withdrew. The family keeps its
// allocation: it is analysed in its arm (intention to treat). It needs no
// key (recording a withdrawal must not need the key that unblinds): without
// one the entry has no MAC and the next keyed command covers it. A family
// withdrawn before is not recorded again.
func (db *DB) Withdraw(ctx context.Context, p *Protocol, key *AllocationKey, family, reason string, a Actor) (*Withdrawal, error) {
	if reason == "" {
		return nil, errors.New("withdraw: give the reason (--reason)")
	}
	family = NormalizeCode(family)
	out := &Withdrawal{Family: family, Keyed: key != nil}
	record := func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT f.id FROM families f JOIN allocations a ON a.family = f.id WHERE f.study_code = ?`, family).Scan(&id)
		if err == sql.ErrNoRows {
			return dataerr.New(db.Path, "family %s: not randomized (or no such study code); an enrolled family that leaves before randomization is not a withdrawal", family)
		}
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT seq FROM chain WHERE family = ? AND kind = 'withdraw' ORDER BY seq LIMIT 1`, id).Scan(&out.Seq)
		if err == nil {
			out.Already, out.Keyed = true, false
			return nil
		}
		if err != sql.ErrNoRows {
			return err
		}
		out.Seq, err = appendChain(ctx, tx, key, &id, ChainBody{Kind: KindWithdraw, Family: family, Reason: reason, At: a.Stamp(), By: a.Name})
		return err
	}
	if key != nil {
		return out, db.writeChained(ctx, p, key, func(tx *sql.Tx, _ *AuditReport) error { return record(tx) })
	}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		groups, err := readGroups(ctx, tx)
		if err != nil {
			return err
		}
		rep, err := db.verify(ctx, tx, p, groups, nil, nil)
		if err != nil {
			return err
		}
		if len(rep.Problems) > 0 {
			return dataerr.New(db.Path, "the audit chain does not verify, so nothing is added to it: %s (run `rct audit verify --key ...`)", rep.Problems[0])
		}
		return record(tx)
	})
	return out, err
}

// AllocationRow is a line of the allocation list.
type AllocationRow struct {
	Slot      int    `json:"slot"`
	StudyCode string `json:"study_code"`
	Group     string `json:"group"`
	Arm       string `json:"arm,omitempty"`
	ArmLabel  string `json:"arm_label,omitempty"`
	Stratum   string `json:"stratum"`
	Date      string `json:"date"`
	Withdrawn bool   `json:"withdrawn"`
}

// ErrUnknownArm is returned for an arm id the protocol does not have.
var ErrUnknownArm = errors.New("no such arm in the protocol")

// AllocationList returns every allocation in slot order. With the key the
// arms are filled in and the export is recorded in the audit chain (who,
// when); without it only group codes are given. A non-empty arm keeps that
// arm's families only (the case managers' caseload) and needs the key.
func (db *DB) AllocationList(ctx context.Context, p *Protocol, key *AllocationKey, arm string, a Actor) ([]AllocationRow, error) {
	if arm != "" {
		if key == nil {
			return nil, &KeyError{"--key", errors.New("listing one arm needs the allocation key")}
		}
		if _, known := p.Arm(arm); !known {
			return nil, fmt.Errorf("%w: %q", ErrUnknownArm, arm)
		}
	}
	var arms map[string]string
	out := []AllocationRow{}
	list := func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT a.slot, f.study_code, a.group_code, a.stratum, a.allocated_on,
			EXISTS (SELECT 1 FROM chain c WHERE c.family = f.id AND c.kind = 'withdraw')
			FROM allocations a JOIN families f ON f.id = a.family ORDER BY a.slot`)
		if err != nil {
			return err
		}
		defer rows.Close()
		labels := armLabels(p, arms)
		for rows.Next() {
			var r AllocationRow
			if err := rows.Scan(&r.Slot, &r.StudyCode, &r.Group, &r.Stratum, &r.Date, &r.Withdrawn); err != nil {
				return err
			}
			if arms != nil {
				r.Arm, r.ArmLabel = arms[r.Group], labels[r.Group].Label
			}
			if arm != "" && r.Arm != arm {
				continue
			}
			out = append(out, r)
		}
		return rows.Err()
	}
	if key == nil {
		return out, db.Write(ctx, list)
	}
	err := db.writeChained(ctx, p, key, func(tx *sql.Tx, _ *AuditReport) error {
		var err error
		if arms, err = unseal(ctx, tx, key); err != nil {
			return dataerr.New(db.Path, "%v", err)
		}
		if _, err := appendChain(ctx, tx, key, nil, ChainBody{Kind: KindExport, Reason: "allocation list with arms", At: a.Stamp(), By: a.Name}); err != nil {
			return err
		}
		return list(tx)
	})
	return out, err
}

// Arms unseals which group code is which arm (code → arm id) for a keyed
// use of the data, recorded in the audit chain with who, when and why (an
// unblinded analysis, report or export). read, when not nil, reads what
// else the keyed use needs (the sealed activity log) beside the chain's
// verification, on a reader of the same snapshot the verification checks;
// its error counts only once the chain verifies.
func (db *DB) Arms(ctx context.Context, p *Protocol, key *AllocationKey, why string, a Actor, read func(r *DB) error) (map[string]string, error) {
	var arms map[string]string
	err := db.writeChained(ctx, p, key, func(tx *sql.Tx, _ *AuditReport) error {
		var err error
		if arms, err = unseal(ctx, tx, key); err != nil {
			return dataerr.New(db.Path, "%v", err)
		}
		_, err = appendChain(ctx, tx, key, nil, ChainBody{Kind: KindExport, Reason: why, At: a.Stamp(), By: a.Name})
		return err
	}, read)
	return arms, err
}

// Reveal returns the seed, for publication at the end of the trial, once
// the trial has been unblinded. Anyone can then check it against the
// commitment and re-derive every allocation.
func (db *DB) Reveal(ctx context.Context, p *Protocol, key *AllocationKey, a Actor) error {
	return db.writeChained(ctx, p, key, func(tx *sql.Tx, _ *AuditReport) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM chain WHERE kind = 'unblind_trial'`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return &KeyError{"allocation key", errors.New("the seed is revealed only after the trial is unblinded (`rct unblind --trial --reason ...`): it would predict every future allocation")}
		}
		_, err := appendChain(ctx, tx, key, nil, ChainBody{Kind: KindReveal, Reason: "seed revealed", At: a.Stamp(), By: a.Name})
		return err
	})
}

// Balance counts allocations by group overall, per stratum and per
// factor margin. It needs no key.
type Balance struct {
	Groups       []string                  `json:"groups"`
	Overall      map[string]int            `json:"overall"`
	Strata       map[string]map[string]int `json:"strata"`  // stratum → group → n
	Margins      map[string]map[string]int `json:"margins"` // variable=value → group → n
	MaxImbalance float64                   `json:"max_imbalance"`
	Where        string                    `json:"max_imbalance_in"`
}

// RandomizationBalance returns the current balance.
func (db *DB) RandomizationBalance(ctx context.Context, p *Protocol) (*Balance, error) {
	groups, err := db.Groups(ctx)
	if err != nil {
		return nil, err
	}
	b := &Balance{Groups: []string{}, Overall: map[string]int{}, Strata: map[string]map[string]int{}, Margins: map[string]map[string]int{}}
	ratio := map[string]int{}
	for _, g := range groups {
		b.Groups = append(b.Groups, g.Code)
		ratio[g.Code] = g.Ratio
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT group_code, stratum FROM allocations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	add := func(m map[string]map[string]int, k, g string) {
		if m[k] == nil {
			m[k] = map[string]int{}
		}
		m[k][g]++
	}
	for rows.Next() {
		var g, st string
		if err := rows.Scan(&g, &st); err != nil {
			return nil, err
		}
		b.Overall[g]++
		add(b.Strata, st, g)
		if st != "" {
			for _, kv := range strings.Split(st, ";") {
				add(b.Margins, kv, g)
			}
		}
	}
	imb := func(m map[string]int) float64 {
		n, r := make([]int, len(groups)), make([]int, len(groups))
		for i, g := range groups {
			n[i], r[i] = m[g.Code], g.Ratio
		}
		return randomize.Imbalance(n, r)
	}
	if len(groups) > 0 {
		b.MaxImbalance, b.Where = imb(b.Overall), "overall"
		keys := make([]string, 0, len(b.Strata))
		for k := range b.Strata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := imb(b.Strata[k]); v > b.MaxImbalance {
				b.MaxImbalance, b.Where = v, "stratum "+k
			}
		}
	}
	return b, rows.Err()
}
