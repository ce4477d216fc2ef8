package trial

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/rct-trials/rct/internal/dataerr"
)

// Chain entry kinds.
const (
	KindInit          = "init" // the first entry: the trial's instance, seed commitment and protocol
	KindAllocate      = "allocate"
	KindUnblindFamily = "unblind_family"
	KindUnblindTrial  = "unblind_trial"
	KindWithdraw      = "withdraw"
	KindExport        = "export"
	KindReveal        = "reveal"
	KindCaseLog       = "caselog" // an import into the sealed activity log: its digest after
	KindAccess        = "access"  // rct serve: who logged in, downloaded or uploaded what
)

// ChainBody is one entry of the audit chain, stored as canonical JSON (the
// fields in this order, no spaces). The entry's hash is
// SHA-256(previous hash ‖ body); its MAC is HMAC-SHA256(seal key,
// "rct chain entry" ‖ hash), so that a chain rewritten by someone without
// the key does not verify.
type ChainBody struct {
	Seq           int    `json:"seq"`
	Kind          string `json:"kind"`
	Family        string `json:"family,omitempty"` // study code
	Slot          int    `json:"slot,omitempty"`   // allocate: order of randomization
	Group         string `json:"group,omitempty"`  // allocate: group code
	Stratum       string `json:"stratum,omitempty"`
	Deterministic bool   `json:"deterministic,omitempty"`
	Date          string `json:"date,omitempty"`    // allocate: calendar date of randomization
	Version       int    `json:"version,omitempty"` // allocate: randomize.Version
	Reason        string `json:"reason,omitempty"`
	At            string `json:"at"`
	By            string `json:"by"`
	// init: the trial this chain belongs to.
	Trial          string `json:"trial,omitempty"`
	Instance       string `json:"instance,omitempty"`
	SeedCommitment string `json:"seed_commitment,omitempty"`
	Protocol       string `json:"protocol_sha256,omitempty"` // of the protocol at init
	// allocate: the digest of the family's referral and persons as they
	// were when it was randomized (membersDigest).
	Members string `json:"members,omitempty"`
	// caselog: the digest of the sealed activity log after the import.
	Digest string `json:"digest,omitempty"`
	// access: what was done (login, download, upload) and on what.
	Action string `json:"action,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// ChainEntry is a stored entry.
type ChainEntry struct {
	Seq    int
	Kind   string
	Family sql.NullInt64
	Body   string
	Prev   string
	Hash   string
	MAC    string
}

const zeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

func chainHash(prev, body string) string {
	p, _ := hex.DecodeString(prev)
	h := sha256.New()
	h.Write(p)
	h.Write([]byte(body))
	return hex.EncodeToString(h.Sum(nil))
}

func chainMAC(seal []byte, hash string) string {
	m := hmac.New(sha256.New, seal)
	m.Write([]byte("rct chain entry\x00"))
	m.Write([]byte(hash))
	return hex.EncodeToString(m.Sum(nil))
}

// headMAC binds the chain's head to the trial instance, the last entry's
// sequence number and its hash: a head copied from another trial, or kept
// from an earlier state, names another entry.
func headMAC(seal []byte, instance string, seq int, hash string) string {
	m := hmac.New(sha256.New, seal)
	m.Write([]byte("rct chain head v2\x00" + instance + "\x00" + strconv.Itoa(seq) + "\x00" + hash))
	return hex.EncodeToString(m.Sum(nil))
}

// legacyHeadMAC is the head of chains written before the head named the
// instance; it is accepted until the next entry rewrites the head.
func legacyHeadMAC(seal []byte, seq int, hash string) string {
	m := hmac.New(sha256.New, seal)
	m.Write([]byte("rct chain head\x00" + strconv.Itoa(seq) + "\x00" + hash))
	return hex.EncodeToString(m.Sum(nil))
}

// keyless are the kinds of entry a command may append without the key:
// recording a withdrawal must not need the key that unblinds, nor a login
// through rct serve. Such an entry has no MAC; it is hash-linked like every
// entry, and covered by the MAC of the next entry appended with the key.
var keyless = map[string]bool{KindWithdraw: true, KindAccess: true}

// appendChain adds an entry after the current head. With the key the
// entry carries its MAC and the head moves to it; without (a keyless
// kind only) it has no MAC and the head stays on the last keyed entry.
func appendChain(ctx context.Context, tx *sql.Tx, key *AllocationKey, family *int64, b ChainBody) (int, error) {
	if key == nil && !keyless[b.Kind] {
		return 0, fmt.Errorf("trial: a %s entry needs the allocation key", b.Kind)
	}
	var seq int
	prev := zeroHash
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && err != sql.ErrNoRows {
		return 0, err
	}
	b.Seq = seq + 1
	body, err := json.Marshal(b)
	if err != nil {
		return 0, err
	}
	hash := chainHash(prev, string(body))
	var fam any
	if family != nil {
		fam = *family
	}
	mac := ""
	if key != nil {
		mac = chainMAC(key.Seal[:], hash)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO chain (seq, kind, family, body, prev, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.Seq, b.Kind, fam, string(body), prev, hash, mac); err != nil {
		return 0, err
	}
	if key == nil {
		return b.Seq, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO trial_meta (key, value) VALUES ('chain_head', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, headMAC(key.Seal[:], key.Instance, b.Seq, hash)); err != nil {
		return 0, err
	}
	return b.Seq, nil
}

// writeChained runs fn in one transaction that appends to the audit chain
// with the key. The chain is verified first, against the witness beside
// the key too: nothing is appended to a chain that does not verify, or to
// a database rolled back. The witness then moves to the new head: written
// as pending before the commit (a crash leaves the database at either
// head) and as the head after it.
func (db *DB) writeChained(ctx context.Context, p *Protocol, key *AllocationKey, fn func(tx *sql.Tx, rep *AuditReport) error, beside ...func(r *DB) error) error {
	var before, after witness
	pending := false
	err := db.Write(ctx, func(tx *sql.Tx) (err error) {
		// The readers beside and the check's reader see one snapshot: the
		// sealed log's digest found by one serves the others.
		share := newSharedDigest()
		if wait := db.readBeside(ctx, beside, share); wait != nil {
			defer func() {
				if berr := wait(err != nil); err == nil {
					err = berr
				}
			}()
		}
		groups, err := readGroups(ctx, tx)
		if err != nil {
			return err
		}
		rs, release, err := db.verifyReaders(ctx, tx)
		if err != nil {
			return err
		}
		defer release()
		for _, r := range rs {
			r.logDigest = share
		}
		rep, err := db.verify(ctx, tx, p, groups, key, rs)
		if err != nil {
			return err
		}
		if len(rep.Problems) > 0 {
			return dataerr.New(db.Path, "the audit chain does not verify, so nothing is added to it: %s (run `rct audit verify --key ...`)", rep.Problems[0])
		}
		before = witness{Seq: rep.HeadSeq, Hash: rep.HeadHash}
		if err := fn(tx, rep); err != nil {
			return err
		}
		if after.Seq, after.Hash, err = currentHead(ctx, tx); err != nil {
			return err
		}
		if after.Seq == before.Seq {
			return nil
		}
		pending = true
		return writeWitness(key, witness{Seq: before.Seq, Hash: before.Hash, PendingSeq: after.Seq, PendingHash: after.Hash})
	})
	switch {
	case err != nil && pending:
		writeWitness(key, before) // the append did not happen
		return err
	case err != nil:
		return err
	case after.Seq != before.Seq:
		return writeWitness(key, after)
	}
	return nil
}

// WriteChained runs fn in one transaction that appends to the audit chain
// with the key, for packages that keep keyed data (the sealed activity
// log): the chain is verified first (the witness too), fn does its work and
// returns the entry to append (nil: none), and the witness follows.
func (db *DB) WriteChained(ctx context.Context, p *Protocol, key *AllocationKey, fn func(tx *sql.Tx) (*ChainBody, error)) error {
	return db.writeChained(ctx, p, key, func(tx *sql.Tx, _ *AuditReport) error {
		b, err := fn(tx)
		if err != nil || b == nil {
			return err
		}
		_, err = appendChain(ctx, tx, key, nil, *b)
		return err
	})
}

// SealedLogDigest is the SHA-256 of the sealed activity log as stored
// (each month's period and blob, in order): a caselog chain entry records
// it, so that a sealed month deleted, replaced by an older one or moved is
// found.
func SealedLogDigest(ctx context.Context, q queryer) (string, error) {
	return EachSealedLog(ctx, q, nil)
}

// EachSealedLog calls fn, when not nil, with each month of the sealed log
// in order (blob only until fn returns: it is not copied, 180 MB at
// 80,000 families), and returns the log's digest (SealedLogDigest).
func EachSealedLog(ctx context.Context, q queryer, fn func(period string, blob []byte) error) (string, error) {
	rows, err := q.QueryContext(ctx, `SELECT period, blob FROM sealed_log ORDER BY period`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var period string
		var blob sql.RawBytes
		if err := rows.Scan(&period, &blob); err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", period, len(blob))
		h.Write(blob)
		if fn != nil {
			if err := fn(period, blob); err != nil {
				return "", err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SealedLog is EachSealedLog on this handle. On a reader beside a keyed
// write (writeChained's), the digest it finds is also the audit check's:
// that reader's snapshot is the one checked, and the log is then read
// once, not twice.
func (db *DB) SealedLog(ctx context.Context, fn func(period string, blob []byte) error) (err error) {
	s := db.logDigest
	if s == nil || !s.claim() {
		_, err = EachSealedLog(ctx, db.sql, fn)
		return err
	}
	var digest string
	defer func() { s.publish(digest, err == nil) }()
	digest, err = EachSealedLog(ctx, db.sql, fn)
	return err
}

// sealedLogDigest is SealedLogDigest of this handle's snapshot: the one a
// reader of the same snapshot found (SealedLog) when one is reading it,
// else read here.
func (db *DB) sealedLogDigest(ctx context.Context) (string, error) {
	if s := db.logDigest; s != nil {
		if digest, ok := s.wait(ctx); ok {
			return digest, nil
		}
	}
	return SealedLogDigest(ctx, db.sql)
}

// sharedDigest is the sealed log's digest, handed from the reader that
// reads the log (the first to claim it) to the audit check, all readers
// of one snapshot.
type sharedDigest struct {
	claimed atomic.Bool
	done    chan struct{}
	digest  string
	ok      bool
}

func newSharedDigest() *sharedDigest { return &sharedDigest{done: make(chan struct{})} }

// claim says whether the caller is the first: it then must publish.
func (s *sharedDigest) claim() bool { return s.claimed.CompareAndSwap(false, true) }

// publish gives the digest (ok false: the read did not finish).
func (s *sharedDigest) publish(digest string, ok bool) {
	s.digest, s.ok = digest, ok
	close(s.done)
}

// wait returns the digest when a reader claimed it and finished reading;
// false when none claimed it or the read failed (the caller reads).
func (s *sharedDigest) wait(ctx context.Context) (string, bool) {
	if !s.claimed.Load() {
		return "", false
	}
	select {
	case <-s.done:
		return s.digest, s.ok
	case <-ctx.Done():
		return "", false
	}
}

// AuditEntry is one entry of the audit chain as people read it: what was
// done, to which family, by whom, when and why. Allocations give their slot
// and group code; no entry names an arm.
type AuditEntry struct {
	Seq    int    `json:"seq"`
	Kind   string `json:"kind"`
	At     string `json:"at"`
	By     string `json:"by"`
	Family string `json:"family,omitempty"`
	Slot   int    `json:"slot,omitempty"`
	Group  string `json:"group,omitempty"`
	Reason string `json:"reason,omitempty"`
	Action string `json:"action,omitempty"` // access: login, download, upload
	Detail string `json:"detail,omitempty"`
	Keyed  bool   `json:"keyed"` // carries a MAC under the allocation key
}

// AuditLog lists the audit chain, oldest first (kind "" for all kinds).
// It reads the entries as stored: run VerifyChain to know they are whole.
func (db *DB) AuditLog(ctx context.Context, kind string) ([]AuditEntry, error) {
	entries, err := readChain(ctx, db.sql)
	if err != nil {
		return nil, err
	}
	out := []AuditEntry{}
	for _, e := range entries {
		if kind != "" && e.Kind != kind {
			continue
		}
		var b ChainBody
		json.Unmarshal([]byte(e.Body), &b) // a damaged body lists as its columns
		out = append(out, AuditEntry{Seq: e.Seq, Kind: e.Kind, At: b.At, By: b.By, Family: b.Family, Slot: b.Slot, Group: b.Group,
			Reason: b.Reason, Action: b.Action, Detail: b.Detail, Keyed: e.MAC != ""})
	}
	return out, nil
}

// currentHead is the last entry's sequence number and hash (0 and the zero
// hash for an empty chain).
func currentHead(ctx context.Context, q queryer) (int, string, error) {
	seq, hash := 0, zeroHash
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if err == sql.ErrNoRows {
		err = nil
	}
	return seq, hash, err
}

// readChain returns every entry in order.
func readChain(ctx context.Context, q queryer) ([]ChainEntry, error) {
	// Counted first, the entries go into a slice of their size: appended
	// one at a time, 80,000 of them were copied into ever larger slices
	// (four times their size in garbage). The count is only a capacity.
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM chain`).Scan(&n); err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, kind, family, body, prev, hash, mac FROM chain ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]ChainEntry, 0, n)
	for rows.Next() {
		var e ChainEntry
		if err := rows.Scan(&e.Seq, &e.Kind, &e.Family, &e.Body, &e.Prev, &e.Hash, &e.MAC); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// StudyCodes returns every family's study code by its id.
func StudyCodes(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[int64]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, study_code FROM families`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	codes := map[int64]string{}
	for rows.Next() {
		var id int64
		var c string
		if err := rows.Scan(&id, &c); err != nil {
			return nil, err
		}
		codes[id] = c
	}
	return codes, rows.Err()
}

// ColumnSet returns the values of a query's single column as a set.
func ColumnSet[T comparable](ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) (map[T]bool, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[T]bool{}
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out[v] = true
	}
	return out, rows.Err()
}

type queryer interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// chainProblem describes where verification failed.
func chainProblem(seq int, format string, args ...any) error {
	return fmt.Errorf("audit chain entry %d: %s", seq, fmt.Sprintf(format, args...))
}

// verifyBesideFrom is the allocations from which a keyed write verifies
// with a reader beside it.
var verifyBesideFrom = 2000

// verifyReaders opens, for a large chain, two readers of the state the
// write transaction tx sees (it holds the lock and has written nothing),
// for the verification's reads beside the chain; none for a small one,
// where a connection more would cost more than it saves.
func (db *DB) verifyReaders(ctx context.Context, tx *sql.Tx) (rs []*DB, release func(), err error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM allocations`).Scan(&n); err != nil {
		return nil, nil, err
	}
	if n < verifyBesideFrom {
		return nil, func() {}, nil
	}
	return db.openReaders(ctx, 2)
}
