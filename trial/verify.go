package trial

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/randomize"
)

// AuditReport is the result of verifying the audit chain.
type AuditReport struct {
	Entries     int  `json:"entries"`
	Allocations int  `json:"allocations"`
	Unblindings int  `json:"unblindings"`
	Withdrawals int  `json:"withdrawals"`
	Keyed       bool `json:"keyed"` // MACs checked and allocations re-derived from the seed
	// Head is the last entry's sequence number and hash: publish it (with
	// the trial registration's updates) to anchor the chain outside rct.
	HeadSeq  int      `json:"head_seq"`
	HeadHash string   `json:"head_hash"`
	Notes    []string `json:"notes"`    // what was not checked and why (a chain from an older rct)
	Problems []string `json:"problems"` // empty when the chain verifies; the first is the first mismatch
	seq      *randomize.Sequencer
	witness  *witness // the witness beside the key, when read
	// noWitness: the key has no witness file beside it (a trial begun by
	// an rct that kept none).
	noWitness bool
}

// VerifyChain checks the audit chain: that it begins with this trial's init
// entry (instance, seed commitment, protocol), every entry's hash and link,
// the allocations table against the allocation entries, each randomized
// family's referral and persons against the digest recorded when it was
// randomized, and its strata. With the key it also checks every entry's
// MAC, the head, the chain against the witness beside the key (a rollback
// or a shortened chain), the sealed arms, and re-derives every allocation
// from the seed and the recorded order.
//
// The chain and the tables are read from one state of the database (a
// commit meanwhile could otherwise look like tampering), on three readers.
func (db *DB) VerifyChain(ctx context.Context, p *Protocol, key *AllocationKey) (*AuditReport, error) {
	r, release, err := db.Snapshot(ctx, 3)
	if err != nil {
		return nil, err
	}
	defer release()
	groups, err := readGroups(ctx, r.sql)
	if err != nil {
		return nil, err
	}
	return db.verify(ctx, r.sql, p, groups, key, r.Readers()[1:])
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
	// logDigest is the sealed activity log's digest at its last import.
	logDigest string
	// unkeyed counts the entries recorded without the key (withdrawals).
	unkeyed int
	tick    func() // an entry or a family checked
	// early is what was read beside the chain's walk, on a reader of the
	// same state (nil: nothing was).
	early *earlyReads
}

// earlyReads are the verification's long reads that need nothing from the
// chain, made on other readers while the chain is read and walked: the
// digest of every allocated family's referral and persons, and the sealed
// log's digest; on a third reader when there is one, the allocated
// families' strata. wait returns them once made.
type earlyReads struct {
	wg          sync.WaitGroup
	digests     map[int64]string
	logDigest   string
	strata      []familyStratum // nil: read by strata itself
	err, strErr error
}

func (e *earlyReads) wait() error {
	e.wg.Wait()
	return errors.Join(e.err, e.strErr)
}

// readEarly starts the early reads on rs (one reader or more).
func (v *verifier) readEarly(rs []*DB) {
	e := &earlyReads{}
	v.early = e
	r := rs[0]
	e.wg.Go(func() {
		families, err := ColumnSet[int64](v.ctx, r.sql, `SELECT family FROM allocations`)
		if err == nil {
			e.digests, err = membersDigests(v.ctx, r.sql, families, v.tick)
		}
		if err == nil {
			e.logDigest, err = r.sealedLogDigest(v.ctx)
		}
		e.err = err
	})
	if len(rs) > 1 {
		// Read at the end of the walk, the strata kept one core busy
		// for half a second at 80,000 families, the other idle.
		e.wg.Go(func() { e.strata, e.strErr = readStrata(v.ctx, rs[1].sql) })
	}
}

// chainAlloc is an allocation as both the chain and the allocations table
// record it.
type chainAlloc struct {
	family               int64
	group, stratum, date string
	det                  bool
	chainSeq             int
	members              string // the chain's only: the family's digest when randomized
}

func (v *verifier) problem(err error) { v.rep.Problems = append(v.rep.Problems, err.Error()) }

// verify checks the chain as q sees it (VerifyChain says what). beside,
// when not empty, are readers of the same state as q: the long reads
// that need nothing from the chain are made there meanwhile.
func (db *DB) verify(ctx context.Context, q queryer, p *Protocol, groups []Group, key *AllocationKey, beside []*DB) (*AuditReport, error) {
	v := &verifier{ctx: ctx, q: q, p: p, groups: groups, key: key, byCode: map[string]Group{}, codes: map[int64]string{},
		rep: &AuditReport{Keyed: key != nil, Problems: []string{}, Notes: []string{}, HeadHash: zeroHash}, fromChain: map[int]chainAlloc{}}
	var done func()
	v.tick, done = db.Progress.Start("audit chain, entries and families checked", 0)
	defer done()
	if len(beside) > 0 {
		ctx, cancel := context.WithCancel(ctx)
		v.ctx = ctx
		v.readEarly(beside)
		defer v.early.wg.Wait()
		defer cancel()
	}
	entries, err := readChain(ctx, q)
	if err != nil {
		return nil, err
	}
	v.rep.Entries = len(entries)
	if n := len(entries); n > 0 {
		v.rep.HeadSeq, v.rep.HeadHash = entries[n-1].Seq, entries[n-1].Hash
	}
	if err := v.load(); err != nil {
		return nil, err
	}
	if err := v.genesis(entries); err != nil {
		return nil, err
	}
	if len(v.rep.Problems) == 0 {
		v.entries(entries)
	}
	walked := len(v.rep.Problems) == 0
	if key != nil && walked {
		v.witness(entries)
		v.head(entries)
	}
	// The tables are held against the chain once the chain itself holds
	// (a broken chain's first problem is the one to read).
	if walked || len(entries) == 0 {
		for _, step := range []func() error{v.allocations, v.members, v.strata, v.sealedLog} {
			if err := step(); err != nil {
				return nil, err
			}
		}
	}
	v.rep.seq = v.seq
	return v.rep, nil
}

// load reads the study codes and, with the key, checks the sealed arms'
// ratio parts and prepares the sequence to re-derive allocations.
func (v *verifier) load() error {
	var err error
	if v.codes, err = StudyCodes(v.ctx, v.q); err != nil {
		return err
	}
	for _, g := range v.groups {
		v.byCode[g.Code] = g
	}
	if v.key == nil || len(v.groups) == 0 {
		return nil
	}
	arms, err := unseal(v.ctx, v.q, v.key)
	if err != nil {
		v.problem(fmt.Errorf("the sealed arms: %v", err))
	}
	ratio := v.p.Ratio()
	for code, arm := range arms {
		for i, a := range v.p.Arms {
			if a.ID == arm && v.byCode[code].Ratio != ratio[i] {
				v.problem(fmt.Errorf("group %s has ratio part %d in the database, but its arm has %d", code, v.byCode[code].Ratio, ratio[i]))
			}
		}
	}
	if v.seq, err = randomize.New(v.p.Design(v.groups), v.key.Seed); err != nil {
		return err
	}
	return nil
}

// genesis checks that the chain begins with this trial's init entry, and
// that the trial's records it names (instance, seed commitment, protocol
// at init) are what the entry recorded. A chain made before rct wrote an
// init entry is accepted with a note.
func (v *verifier) genesis(entries []ChainEntry) error {
	meta := map[string]string{}
	rows, err := v.q.QueryContext(v.ctx, `SELECT key, value FROM trial_meta WHERE key IN ('instance', 'seed_commitment', 'chain_format')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k, val string
		if err := rows.Scan(&k, &val); err != nil {
			rows.Close()
			return err
		}
		meta[k] = val
	}
	rows.Close()
	if err := v.protocolVersions(); err != nil {
		return err
	}
	if len(entries) == 0 || entries[0].Kind != KindInit {
		if meta["chain_format"] != "" {
			if len(entries) == 0 {
				v.problem(errors.New("the audit chain is empty: its first entry, the trial's init, was deleted (with every entry after it)"))
			} else {
				v.problem(chainProblem(entries[0].Seq, "the audit chain does not begin with the trial's init entry: entries were deleted or replaced"))
			}
			return nil
		}
		v.rep.Notes = append(v.rep.Notes, "the chain was begun by an rct that did not record the trial's init in it: an emptied chain cannot be told from a new one without the witness")
		return nil
	}
	var b ChainBody
	if err := json.Unmarshal([]byte(entries[0].Body), &b); err != nil {
		v.problem(chainProblem(1, "the init entry cannot be read"))
		return nil
	}
	var sha0 string
	v.q.QueryRowContext(v.ctx, `SELECT sha256 FROM protocol_versions WHERE amendment = 0`).Scan(&sha0)
	switch {
	case b.Instance != meta["instance"]:
		v.problem(fmt.Errorf("the audit chain belongs to another trial (instance %s; this database is instance %s)", short(b.Instance), short(meta["instance"])))
	case b.SeedCommitment != meta["seed_commitment"]:
		v.problem(fmt.Errorf("the seed commitment in trial_meta is not the one the chain recorded at init: edited"))
	case b.Protocol != sha0:
		v.problem(fmt.Errorf("the protocol recorded at init (amendment 0) is not the one the chain recorded at init: edited"))
	}
	return nil
}

// protocolVersions checks that each recorded protocol text still has the
// SHA-256 recorded with it.
func (v *verifier) protocolVersions() error {
	rows, err := v.q.QueryContext(v.ctx, `SELECT amendment, sha256, text FROM protocol_versions ORDER BY amendment`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		var sum, text string
		if err := rows.Scan(&n, &sum, &text); err != nil {
			return err
		}
		s := sha256.Sum256([]byte(text))
		if hex.EncodeToString(s[:]) != sum {
			v.problem(fmt.Errorf("the protocol of amendment %d does not match its recorded SHA-256: edited", n))
		}
	}
	return rows.Err()
}

// witness checks the chain against the witness beside the key.
func (v *verifier) witness(entries []ChainEntry) {
	w, err := readWitness(v.key)
	if errors.Is(err, errNoWitness) {
		v.rep.noWitness = true
		v.problem(fmt.Errorf("no witness file %s beside the key: a rollback of the database cannot be ruled out (keep the witness with the key; for a trial begun by an older rct, `rct audit witness --key` writes one after checking the chain)", WitnessPath(v.key.Path)))
		return
	}
	if err != nil {
		v.problem(err)
		return
	}
	v.rep.witness = w
	if err := w.check(entries); err != nil {
		v.problem(err)
	}
}

// entries walks the chain: each entry's sequence, link, hash, MAC (with
// the key) and body, and each allocation re-derived from the seed; it
// stops at the first problem.
func (v *verifier) entries(entries []ChainEntry) {
	prev := zeroHash
	for i, e := range entries {
		v.tick()
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
		switch {
		case v.key == nil:
		case e.MAC == "" && keyless[e.Kind]:
			v.unkeyed++ // a withdrawal or an access recorded without the key
		case !hmacHexEqual(e.MAC, chainMAC(v.key.Seal[:], e.Hash)):
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
		case KindInit:
			if e.Seq != 1 {
				v.problem(chainProblem(e.Seq, "an init entry after the first: entries were spliced from another chain"))
				return
			}
		case KindCaseLog:
			v.logDigest = b.Digest
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
	v.fromChain[b.Slot] = chainAlloc{e.Family.Int64, b.Group, b.Stratum, b.Date, b.Deterministic, e.Seq, b.Members}
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

// head checks, with the key, that the stored head names the last entry
// appended with the key; only keyless entries (withdrawals) may follow it.
func (v *verifier) head(entries []ChainEntry) {
	var head string
	err := v.q.QueryRowContext(v.ctx, `SELECT value FROM trial_meta WHERE key = 'chain_head'`).Scan(&head)
	last := -1
	for i, e := range entries {
		if e.MAC != "" {
			last = i
		}
	}
	if last < 0 {
		return
	}
	if after := len(entries) - 1 - last; after > 0 {
		v.rep.Notes = append(v.rep.Notes, fmt.Sprintf("%d entries recorded without the key (withdrawals, access through rct serve) follow the last keyed entry: the next keyed command covers them", after))
	}
	e := entries[last]
	switch {
	case err != nil:
		v.problem(fmt.Errorf("the chain has no head (trial_meta.chain_head was deleted): its last entries may have been removed"))
	case hmacHexEqual(head, headMAC(v.key.Seal[:], v.key.Instance, e.Seq, e.Hash)):
	case hmacHexEqual(head, legacyHeadMAC(v.key.Seal[:], e.Seq, e.Hash)):
		v.rep.Notes = append(v.rep.Notes, "the chain's head is in the format of an older rct; the next entry rewrites it")
	default:
		v.problem(fmt.Errorf("the chain's head does not match its last keyed entry (%d): entries were removed from the end, or the database was rolled back", e.Seq))
	}
}

// sealedLog checks the sealed activity log against the digest its last
// import recorded in the chain.
func (v *verifier) sealedLog() error {
	var d string
	var err error
	if v.early != nil {
		err = v.early.wait()
		d = v.early.logDigest
	} else {
		d, err = SealedLogDigest(v.ctx, v.q)
	}
	if err != nil {
		return err
	}
	var n int
	if err := v.q.QueryRowContext(v.ctx, `SELECT count(*) FROM sealed_log`).Scan(&n); err != nil {
		return err
	}
	switch {
	case v.logDigest == "" && n > 0:
		v.problem(fmt.Errorf("the sealed activity log has %d months but no import of it is in the audit chain: added from elsewhere", n))
	case v.logDigest != "" && d != v.logDigest:
		v.problem(fmt.Errorf("the sealed activity log is not what its last import left: months edited, deleted or replaced by older ones"))
	}
	return nil
}

// members checks each randomized family's referral and persons against
// the digest its allocation entry recorded.
func (v *verifier) members() error {
	only := map[int64]bool{}
	for _, c := range v.fromChain {
		if c.members != "" {
			only[c.family] = true
		}
	}
	if len(only) == 0 {
		return nil
	}
	var digests map[int64]string
	if v.early != nil {
		// Made for the allocations table's families: a family of the
		// chain the table lacks is digested here.
		if err := v.early.wait(); err != nil {
			return err
		}
		digests = v.early.digests
		for id := range digests {
			delete(only, id)
		}
	}
	if len(only) > 0 {
		rest, err := membersDigests(v.ctx, v.q, only, v.tick)
		if err != nil {
			return err
		}
		if digests == nil {
			digests = rest
		} else {
			maps.Copy(digests, rest)
		}
	}
	for _, c := range v.fromChain {
		if c.members != "" && digests[c.family] != c.members {
			v.problem(fmt.Errorf("family %s: its persons or its referral changed after randomization (a person moved, added, deleted or edited, or another referral put behind it)", v.codes[c.family]))
		}
	}
	return nil
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
		c, ok := v.fromChain[slot]
		if a.members = c.members; !ok || c != a {
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
	rows := []familyStratum(nil)
	if v.early != nil {
		if err := v.early.wait(); err != nil {
			return err
		}
		rows = v.early.strata
	}
	if rows == nil {
		var err error
		if rows, err = readStrata(v.ctx, v.q); err != nil {
			return err
		}
	}
	for _, f := range rows {
		if want, ok := chainStratum[f.id]; ok && want != v.p.canonicalStratum(f.stratum) {
			v.problem(fmt.Errorf("family %s: its strata are now %q but it was randomized as %q", f.code, v.p.canonicalStratum(f.stratum), want))
		}
	}
	return nil
}

// familyStratum is an allocated family's strata as the tables hold them.
type familyStratum struct {
	id            int64
	code, stratum string
}

// readStrata reads every allocated family's strata, in the order of
// allocation (not nil: empty when none).
func readStrata(ctx context.Context, q queryer) ([]familyStratum, error) {
	rows, err := q.QueryContext(ctx, stratumSQL+` JOIN allocations a ON a.family = f.id ORDER BY a.slot`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []familyStratum{}
	for rows.Next() {
		var f familyStratum
		if err := rows.Scan(&f.id, &f.code, &f.stratum); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// WriteWitness writes the witness beside the key for a trial that has none
// (begun by an rct that kept none, or whose witness was lost): only after
// the whole chain verifies with the key, so that the witness starts from a
// head the key holder has checked. A trial that has a witness is left as
// it is.
func (db *DB) WriteWitness(ctx context.Context, p *Protocol, key *AllocationKey) (*AuditReport, error) {
	rep, err := db.VerifyChain(ctx, p, key)
	if err != nil {
		return nil, err
	}
	switch {
	case len(rep.Problems) == 0:
		return rep, nil
	case len(rep.Problems) > 1 || !rep.noWitness:
		return rep, dataerr.New(db.Path, "the audit chain does not verify, so no witness is written: %s", rep.Problems[0])
	}
	rep.Problems = []string{}
	return rep, writeWitness(key, witness{Seq: rep.HeadSeq, Hash: rep.HeadHash})
}
