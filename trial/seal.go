package trial

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Group is a randomization group as the database knows it: a code and the
// index and ratio part the algorithms use. Which arm it is, is sealed.
type Group struct {
	Code  string `json:"code"`
	Index int    `json:"index"`
	Ratio int    `json:"ratio"`
}

func groupCode(i int) string { return string(rune('A' + i)) }

// Groups returns the trial's groups, by index; none before the first
// randomization.
func (db *DB) Groups(ctx context.Context) ([]Group, error) { return readGroups(ctx, db.sql) }

func readGroups(ctx context.Context, q queryer) ([]Group, error) {
	rows, err := q.QueryContext(ctx, `SELECT code, idx, ratio FROM groups ORDER BY idx`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.Code, &g.Index, &g.Ratio); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// sealedArms is the plaintext of trial_meta.sealed_arms.
type sealedArms struct {
	Version int               `json:"version"`
	Arms    map[string]string `json:"arms"` // group code → arm id
}

func sealAAD(instance string) []byte { return []byte("rct sealed arms\x00" + instance) }

// createGroups draws which group code is which arm (a uniform random
// permutation from crypto/rand), stores the codes with their ratio parts,
// and seals the mapping under the allocation key.
func createGroups(ctx context.Context, tx *sql.Tx, p *Protocol, key *AllocationKey, random io.Reader) ([]Group, error) {
	ratio := p.Ratio()
	perm := make([]int, len(p.Arms))
	for i := range perm {
		perm[i] = i
	}
	for i := len(perm) - 1; i > 0; i-- {
		j, err := rand.Int(random, big.NewInt(int64(i+1)))
		if err != nil {
			return nil, err
		}
		perm[i], perm[j.Int64()] = perm[j.Int64()], perm[i]
	}
	m := sealedArms{Version: 1, Arms: map[string]string{}}
	var groups []Group
	for i, arm := range perm {
		g := Group{Code: groupCode(i), Index: i, Ratio: ratio[arm]}
		groups = append(groups, g)
		m.Arms[g.Code] = p.Arms[arm].ID
		if _, err := tx.ExecContext(ctx, `INSERT INTO groups (code, idx, ratio) VALUES (?, ?, ?)`, g.Code, g.Index, g.Ratio); err != nil {
			return nil, err
		}
	}
	plain, _ := json.Marshal(m)
	block, err := aes.NewCipher(key.Seal[:])
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, err
	}
	sealed := gcm.Seal(nonce, nonce, plain, sealAAD(key.Instance))
	if _, err := tx.ExecContext(ctx, `INSERT INTO trial_meta (key, value) VALUES ('sealed_arms', ?)`, base64.StdEncoding.EncodeToString(sealed)); err != nil {
		return nil, err
	}
	return groups, nil
}

// unseal opens the group code → arm mapping with the allocation key.
func unseal(ctx context.Context, q queryer, key *AllocationKey) (map[string]string, error) {
	var s string
	err := q.QueryRowContext(ctx, `SELECT value FROM trial_meta WHERE key = 'sealed_arms'`).Scan(&s)
	if err == sql.ErrNoRows {
		return nil, errors.New("no family has been randomized yet: there are no groups to unblind")
	}
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the sealed arms are damaged: %v", err)
	}
	block, _ := aes.NewCipher(key.Seal[:])
	gcm, _ := cipher.NewGCM(block)
	if len(raw) < gcm.NonceSize() {
		return nil, errors.New("the sealed arms are damaged")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], sealAAD(key.Instance))
	if err != nil {
		return nil, &KeyError{"allocation key", errors.New("the sealed arms do not open with this key (altered, or another trial's key)")}
	}
	var m sealedArms
	if err := json.Unmarshal(plain, &m); err != nil {
		return nil, err
	}
	return m.Arms, nil
}

// armLabels maps group codes to the protocol's arms.
func armLabels(p *Protocol, arms map[string]string) map[string]Arm {
	out := map[string]Arm{}
	for code, id := range arms {
		if a, ok := p.Arm(id); ok {
			out[code] = a
		}
	}
	return out
}

// sealKey derives the AES-256 key of one purpose from the seal key:
// HMAC-SHA256(seal, "rct sealed " ‖ purpose).
func (k *AllocationKey) sealKey(purpose string) cipher.AEAD {
	m := hmac.New(sha256.New, k.Seal[:])
	io.WriteString(m, "rct sealed "+purpose)
	block, _ := aes.NewCipher(m.Sum(nil)) // 32 bytes: never an error
	gcm, _ := cipher.NewGCM(block)
	return gcm
}

// SealBlob seals plain for one purpose (AES-256-GCM under a key derived
// from the seal key, the trial instance and the purpose as associated
// data), padded with zeros to at least size bytes, rounded up to 4 KiB: a
// holder of the database without the key learns neither the content nor,
// beyond that granularity, its length.
func (k *AllocationKey) SealBlob(purpose string, plain []byte, size int, random io.Reader) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	n := max(size, len(plain)+8)
	n = (n + 4095) / 4096 * 4096
	framed := make([]byte, n)
	binary.BigEndian.PutUint64(framed, uint64(len(plain)))
	copy(framed[8:], plain)
	gcm := k.sealKey(purpose)
	nonce := make([]byte, gcm.NonceSize())
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, framed, []byte(k.Instance+"\x00"+purpose)), nil
}

// OpenBlob opens a blob sealed by SealBlob for the same purpose. buf, when
// not nil, is storage to open into, set to the storage used for the next
// call: a caller opening many blobs allocates once, rather than megabytes
// for each month of the activity log. The result lives in that storage,
// which must not overlap sealed.
func (k *AllocationKey) OpenBlob(purpose string, sealed []byte, buf *[]byte) ([]byte, error) {
	gcm := k.sealKey(purpose)
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("a sealed blob is damaged (too short)")
	}
	var into []byte
	if buf != nil {
		into = (*buf)[:0]
	}
	framed, err := gcm.Open(into, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte(k.Instance+"\x00"+purpose))
	if err != nil {
		return nil, errors.New("a sealed blob does not open with this key: altered, moved, or another trial's")
	}
	if buf != nil {
		*buf = framed
	}
	n := binary.BigEndian.Uint64(framed)
	if n > uint64(len(framed)-8) {
		return nil, errors.New("a sealed blob is damaged (length)")
	}
	return framed[8 : 8+n], nil
}
