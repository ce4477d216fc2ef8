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

// verifier checks one chain: what it reads and what it has found.
type verifier struct {
	ctx    context.Context
	q      queryer
	p      *Protocol
	groups []Group
	byCode map[string]Group
	key    *AllocationKey
	codes  map[int64]string // family id → study code
	seq    *randomize.Sequencer
	rep    *AuditReport
	// fromChain is each allocation slot as the chain records it.
	fromChain map[int]chainAlloc
}

// chainAlloc is an allocation as both the chain and the allocations table
// record it.
type chainAlloc struct {
	family               int64
	group, stratum, date string
	det                  bool
	chainSeq             int
}

func (v *verifier) problem(err error) { v.rep.Problems = append(v.rep.Problems, err.Error()) }

func (db *DB) verify(ctx context.Context, q queryer, p *Protocol, groups []Group, key *AllocationKey) (*AuditReport, error) {
	v := &verifier{ctx: ctx, q: q, p: p, groups: groups, key: key, byCode: map[string]Group{}, codes: map[int64]string{},
		rep: &AuditReport{Keyed: key != nil, Problems: []string{}}, fromChain: map[int]chainAlloc{}}
	entries, err := readChain(ctx, q)
	if err != nil {
		return nil, err
	}
	v.rep.Entries = len(entries)
	if err := v.load(len(entries)); err != nil {
		return nil, err
	}
	v.entries(entries)
	if key != nil && len(entries) > 0 && len(v.rep.Problems) == 0 {
		v.head(entries[len(entries)-1])
	}
	if err := v.allocations(); err != nil {
		return nil, err
	}
	if err := v.strata(); err != nil {
		return nil, err
	}
	v.rep.seq = v.seq
	return v.rep, nil
}

// load reads the study codes and, with the key, checks the sealed arms'
// ratio parts and prepares the sequence to re-derive allocations.
func (v *verifier) load(entries int) error {
	rows, err := v.q.QueryContext(v.ctx, `SELECT id, study_code FROM families`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var c string
		if err := rows.Scan(&id, &c); err != nil {
			rows.Close()
			return err
		}
		v.codes[id] = c
	}
	rows.Close()
	for _, g := range v.groups {
		v.byCode[g.Code] = g
	}
	if v.key == nil {
		return nil
	}
	arms, err := unseal(v.ctx, v.q, v.key)
	if err != nil && entries > 0 {
		return err
	}
	ratio := v.p.Ratio()
	for code, arm := range arms {
		for i, a := range v.p.Arms {
			if a.ID == arm && v.byCode[code].Ratio != ratio[i] {
				v.problem(fmt.Errorf("group %s has ratio part %d in the database, but its arm has %d", code, v.byCode[code].Ratio, ratio[i]))
			}
		}
	}
	if len(v.groups) > 0 {
		if v.seq, err = randomize.New(v.p.Design(v.groups), v.key.Seed); err != nil {
			return err
		}
	}
	return nil
}

// entries walks the chain: each entry's sequence, link, hash, MAC (with
// the key) and body, and each allocation re-derived from the seed; it
// stops at the first problem.
func (v *verifier) entries(entries []ChainEntry) {
	prev := zeroHash
	for i, e := range entries {
		if e.Seq != i+1 {
			v.problem(chainProblem(e.Seq, "expected entry %d here: an entry was deleted or inserted", i+1))
			return
		}
		if e.Prev != prev {
			v.problem(chainProblem(e.Seq, "does not link to the entry before it (edited, deleted, inserted or reordered)"))
			return
		}
		if h := chainHash(e.Prev, e.Body); h != e.Hash {
			v.problem(chainProblem(e.Seq, "its content does not match its hash: the entry was edited"))
			return
		}
		if v.key != nil && !hmacHexEqual(e.MAC, chainMAC(v.key.Seal[:], e.Hash)) {
			v.problem(chainProblem(e.Seq, "its MAC does not verify under the allocation key: written without the key"))
			return
		}
		prev = e.Hash
		var b ChainBody
		if err := json.Unmarshal([]byte(e.Body), &b); err != nil || b.Seq != e.Seq || b.Kind != e.Kind {
			v.problem(chainProblem(e.Seq, "its body does not match its columns"))
			return
		}
		if b.Family != "" && (!e.Family.Valid || v.codes[e.Family.Int64] != b.Family) {
			v.problem(chainProblem(e.Seq, "names family %s, but the row points to another family", b.Family))
			return
		}
		switch b.Kind {
		case KindAllocate:
			v.allocation(e, b)
		case KindUnblindFamily, KindUnblindTrial:
			v.rep.Unblindings++
		case KindWithdraw:
			v.rep.Withdrawals++
		}
		if len(v.rep.Problems) > 0 {
			return
		}
	}
}

// allocation checks an allocation entry: its slot in order, and with the
// key its group re-derived from the seed and the recorded order.
func (v *verifier) allocation(e ChainEntry, b ChainBody) {
	v.rep.Allocations++
	if b.Slot != v.rep.Allocations {
		v.problem(chainProblem(e.Seq, "allocation slot %d out of order (expected %d)", b.Slot, v.rep.Allocations))
		return
	}
	v.fromChain[b.Slot] = chainAlloc{e.Family.Int64, b.Group, b.Stratum, b.Date, b.Deterministic, e.Seq}
	if v.seq == nil {
		return
	}
	prof, err := v.p.profile(b.Stratum)
	if err != nil {
		v.problem(chainProblem(e.Seq, "family %s: %v", b.Family, err))
		return
	}
	a, err := v.seq.Next(prof)
	if err != nil {
		v.problem(chainProblem(e.Seq, "family %s: re-deriving the allocation: %v", b.Family, err))
		return
	}
	if g, ok := v.byCode[b.Group]; !ok || g.Index != a.Group || a.Deterministic != b.Deterministic {
		v.problem(chainProblem(e.Seq, "family %s (slot %d) is recorded in group %s, but the seed and the recorded order give group %s", b.Family, b.Slot, b.Group, v.groups[a.Group].Code))
	}
}

// head checks, with the key, that the stored head names the last entry.
func (v *verifier) head(last ChainEntry) {
	var head string
	v.q.QueryRowContext(v.ctx, `SELECT value FROM trial_meta WHERE key = 'chain_head'`).Scan(&head)
	if !hmacHexEqual(head, headMAC(v.key.Seal[:], last.Seq, last.Hash)) {
		v.problem(fmt.Errorf("the chain's head does not match its last entry (%d): entries were removed from the end", last.Seq))
	}
}

// allocations checks that the allocations table mirrors the chain.
func (v *verifier) allocations() error {
	rows, err := v.q.QueryContext(v.ctx, `SELECT slot, family, group_code, stratum, deterministic, allocated_on, chain_seq FROM allocations ORDER BY slot`)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var slot, det, cs int
		var a chainAlloc
		if err := rows.Scan(&slot, &a.family, &a.group, &a.stratum, &det, &a.date, &cs); err != nil {
			return err
		}
		a.det, a.chainSeq = det == 1, cs
		n++
		if c, ok := v.fromChain[slot]; !ok || c != a {
			v.problem(fmt.Errorf("allocation slot %d (family %s) differs from its audit chain entry: the allocations table was edited", slot, v.codes[a.family]))
		}
	}
	if n != len(v.fromChain) && len(v.rep.Problems) == 0 {
		v.problem(fmt.Errorf("the allocations table has %d rows but the audit chain %d allocations", n, len(v.fromChain)))
	}
	return rows.Err()
}

// strata checks that no randomized family's strata changed: they would
// make the recorded order lie.
func (v *verifier) strata() error {
	chainStratum := map[int64]string{}
	for _, c := range v.fromChain {
		chainStratum[c.family] = c.stratum
	}
	rows, err := v.q.QueryContext(v.ctx, stratumSQL+` JOIN allocations a ON a.family = f.id ORDER BY a.slot`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var code, st string
		if err := rows.Scan(&id, &code, &st); err != nil {
			return err
		}
		if want, ok := chainStratum[id]; ok && want != v.p.canonicalStratum(st) {
			v.problem(fmt.Errorf("family %s: its strata are now %q but it was randomized as %q", code, v.p.canonicalStratum(st), want))
		}
	}
	return rows.Err()
}
