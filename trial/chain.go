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
)

// Chain entry kinds.
const (
	KindAllocate      = "allocate"
	KindUnblindFamily = "unblind_family"
	KindUnblindTrial  = "unblind_trial"
	KindWithdraw      = "withdraw"
	KindExport        = "export"
	KindReveal        = "reveal"
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

func headMAC(seal []byte, seq int, hash string) string {
	m := hmac.New(sha256.New, seal)
	m.Write([]byte("rct chain head\x00" + strconv.Itoa(seq) + "\x00" + hash))
	return hex.EncodeToString(m.Sum(nil))
}

// appendChain adds an entry after the current head and moves the head.
func appendChain(ctx context.Context, tx *sql.Tx, key *AllocationKey, family *int64, b ChainBody) (int, error) {
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
	if _, err := tx.ExecContext(ctx, `INSERT INTO chain (seq, kind, family, body, prev, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.Seq, b.Kind, fam, string(body), prev, hash, chainMAC(key.Seal[:], hash)); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO trial_meta (key, value) VALUES ('chain_head', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, headMAC(key.Seal[:], b.Seq, hash)); err != nil {
		return 0, err
	}
	return b.Seq, nil
}

// readChain returns every entry in order.
func readChain(ctx context.Context, q queryer) ([]ChainEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, kind, family, body, prev, hash, mac FROM chain ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ChainEntry
	for rows.Next() {
		var e ChainEntry
		if err := rows.Scan(&e.Seq, &e.Kind, &e.Family, &e.Body, &e.Prev, &e.Hash, &e.MAC); err != nil {
			return nil, err
		}
		out = append(out, e)
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
