package trial

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rct-trials/rct/randomize"
)

// AuditReport is the result of verifying the audit chain.
type AuditReport struct {
	Entries     int      `json:"entries"`
	Allocations int      `json:"allocations"`
	Unblindings int      `json:"unblindings"`
	Withdrawals int      `json:"withdrawals"`
	Keyed       bool     `json:"keyed"`    // MACs checked and allocations re-derived from the seed
	Problems    []string `json:"problems"` // empty when the chain verifies; the first is the first mismatch
	seq         *randomize.Sequencer
}

// VerifyChain checks the audit chain: every entry's hash and link, and the
// allocations table against the allocation entries. With the key it also
// checks every entry's MAC and the head, and re-derives every allocation
// from the seed and the recorded order.
func (db *DB) VerifyChain(ctx context.Context, p *Protocol, key *AllocationKey) (*AuditReport, error) {
	groups, err := db.Groups(ctx)
	if err != nil {
		return nil, err
	}
	return db.verify(ctx, db.sql, p, groups, key)
}

func (db *DB) verify(ctx context.Context, q queryer, p *Protocol, groups []Group, key *AllocationKey) (*AuditReport, error) {
	rep := &AuditReport{Keyed: key != nil, Problems: []string{}}
	problem := func(err error) { rep.Problems = append(rep.Problems, err.Error()) }
	entries, err := readChain(ctx, q)
	if err != nil {
		return nil, err
	}
	rep.Entries = len(entries)
	codes := map[int64]string{}
	rows, err := q.QueryContext(ctx, `SELECT id, study_code FROM families`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var c string
		rows.Scan(&id, &c)
		codes[id] = c
	}
	rows.Close()
	byCode := map[string]Group{}
	for _, g := range groups {
		byCode[g.Code] = g
	}
	if key != nil {
		arms, err := unseal(ctx, q, key)
		if err != nil && len(entries) > 0 {
			return nil, err
		}
		ratio := p.Ratio()
		for code, arm := range arms {
			for i, a := range p.Arms {
				if a.ID == arm && byCode[code].Ratio != ratio[i] {
					problem(fmt.Errorf("group %s has ratio part %d in the database, but its arm has %d", code, byCode[code].Ratio, ratio[i]))
				}
			}
		}
	}
	var seq *randomize.Sequencer
	if key != nil && len(groups) > 0 {
		if seq, err = randomize.New(p.Design(groups), key.Seed); err != nil {
			return nil, err
		}
	}
	type alloc struct {
		family               int64
		group, stratum, date string
		det                  bool
		chainSeq             int
	}
	fromChain := map[int]alloc{}
	prev := zeroHash
	for i, e := range entries {
		if e.Seq != i+1 {
			problem(chainProblem(e.Seq, "expected entry %d here: an entry was deleted or inserted", i+1))
			break
		}
		if e.Prev != prev {
			problem(chainProblem(e.Seq, "does not link to the entry before it (edited, deleted, inserted or reordered)"))
			break
		}
		if h := chainHash(e.Prev, e.Body); h != e.Hash {
			problem(chainProblem(e.Seq, "its content does not match its hash: the entry was edited"))
			break
		}
		if key != nil && !hmacHexEqual(e.MAC, chainMAC(key.Seal[:], e.Hash)) {
			problem(chainProblem(e.Seq, "its MAC does not verify under the allocation key: written without the key"))
			break
		}
		prev = e.Hash
		var b ChainBody
		if err := json.Unmarshal([]byte(e.Body), &b); err != nil || b.Seq != e.Seq || b.Kind != e.Kind {
			problem(chainProblem(e.Seq, "its body does not match its columns"))
			break
		}
		if b.Family != "" && (!e.Family.Valid || codes[e.Family.Int64] != b.Family) {
			problem(chainProblem(e.Seq, "names family %s, but the row points to another family", b.Family))
			break
		}
		switch b.Kind {
		case KindAllocate:
			rep.Allocations++
			if b.Slot != rep.Allocations {
				problem(chainProblem(e.Seq, "allocation slot %d out of order (expected %d)", b.Slot, rep.Allocations))
				break
			}
			fromChain[b.Slot] = alloc{e.Family.Int64, b.Group, b.Stratum, b.Date, b.Deterministic, e.Seq}
			if seq != nil {
				prof, err := p.profile(b.Stratum)
				if err != nil {
					problem(chainProblem(e.Seq, "family %s: %v", b.Family, err))
					break
				}
				a, err := seq.Next(prof)
				if err != nil {
					problem(chainProblem(e.Seq, "family %s: re-deriving the allocation: %v", b.Family, err))
					break
				}
				if g, ok := byCode[b.Group]; !ok || g.Index != a.Group || a.Deterministic != b.Deterministic {
					problem(chainProblem(e.Seq, "family %s (slot %d) is recorded in group %s, but the seed and the recorded order give group %s", b.Family, b.Slot, b.Group, groups[a.Group].Code))
				}
			}
		case KindUnblindFamily, KindUnblindTrial:
			rep.Unblindings++
		case KindWithdraw:
			rep.Withdrawals++
		}
		if len(rep.Problems) > 0 {
			break
		}
	}
	if key != nil && len(entries) > 0 && len(rep.Problems) == 0 {
		var head string
		q.QueryRowContext(ctx, `SELECT value FROM trial_meta WHERE key = 'chain_head'`).Scan(&head)
		last := entries[len(entries)-1]
		if !hmacHexEqual(head, headMAC(key.Seal[:], last.Seq, last.Hash)) {
			problem(fmt.Errorf("the chain's head does not match its last entry (%d): entries were removed from the end", last.Seq))
		}
	}
	// The allocations table mirrors the chain.
	arows, err := q.QueryContext(ctx, `SELECT slot, family, group_code, stratum, deterministic, allocated_on, chain_seq FROM allocations ORDER BY slot`)
	if err != nil {
		return nil, err
	}
	n := 0
	for arows.Next() {
		var slot, det, cs int
		var a alloc
		if err := arows.Scan(&slot, &a.family, &a.group, &a.stratum, &det, &a.date, &cs); err != nil {
			arows.Close()
			return nil, err
		}
		a.det, a.chainSeq = det == 1, cs
		n++
		if c, ok := fromChain[slot]; !ok || c != a {
			problem(fmt.Errorf("allocation slot %d (family %s) differs from its audit chain entry: the allocations table was edited", slot, codes[a.family]))
		}
	}
	arows.Close()
	if n != len(fromChain) && len(rep.Problems) == 0 {
		problem(fmt.Errorf("the allocations table has %d rows but the audit chain %d allocations", n, len(fromChain)))
	}
	// Strata changed after randomization would make the recorded order lie.
	chainStratum := map[int64]string{}
	for _, c := range fromChain {
		chainStratum[c.family] = c.stratum
	}
	srows, err := q.QueryContext(ctx, stratumSQL+` JOIN allocations a ON a.family = f.id ORDER BY a.slot`)
	if err != nil {
		return nil, err
	}
	for srows.Next() {
		var id int64
		var code, st string
		srows.Scan(&id, &code, &st)
		if want, ok := chainStratum[id]; ok && want != p.canonicalStratum(st) {
			problem(fmt.Errorf("family %s: its strata are now %q but it was randomized as %q", code, p.canonicalStratum(st), want))
		}
	}
	srows.Close()
	rep.seq = seq
	return rep, nil
}
