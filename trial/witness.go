package trial

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/internal/files"
)

// The witness is the audit chain's anchor outside the database: a small
// file beside the allocation key (trial.key → trial.witness) that every
// command appending to the chain with the key updates. It holds the head
// the key holder last saw — the sequence number and hash of the last entry
// — and, while an append is under way, the head it will leave. Whoever
// holds the database but not the key cannot bring the witness along when
// they restore an older copy of the database, or delete entries from its
// end and put back an older head: the key holder's verification finds the
// chain shorter than the witness, or its entry at the witness's place
// different.
type witness struct {
	Instance string
	Seq      int    // the head last committed
	Hash     string //
	// Pending is the head an append will leave, written before the
	// append commits: after a crash the database holds either Seq or
	// Pending as its head.
	PendingSeq  int
	PendingHash string
}

// WitnessPath is the witness file of a key file: beside it, with the
// extension .witness.
func WitnessPath(keyPath string) string {
	return strings.TrimSuffix(keyPath, filepath.Ext(keyPath)) + ".witness"
}

// errNoWitness is returned when the key has no witness file beside it.
var errNoWitness = errors.New("no witness file")

func (w witness) mac(seal []byte) string {
	m := hmac.New(sha256.New, seal)
	fmt.Fprintf(m, "rct witness v1\x00%s\x00%d\x00%s\x00%d\x00%s", w.Instance, w.Seq, w.Hash, w.PendingSeq, w.PendingHash)
	return hex.EncodeToString(m.Sum(nil))
}

// readWitness reads the witness beside the key; errNoWitness when absent.
func readWitness(k *AllocationKey) (*witness, error) {
	path := WitnessPath(k.Path)
	b, err := files.ReadBounded(path, maxKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoWitness
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		f[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	w := &witness{Instance: f["instance"], Hash: f["hash"], PendingHash: f["pending-hash"]}
	w.Seq, _ = strconv.Atoi(f["seq"])
	w.PendingSeq, _ = strconv.Atoi(f["pending-seq"])
	if f["rct-witness"] != "1" || !hmacHexEqual(f["mac"], w.mac(k.Seal[:])) {
		return nil, fmt.Errorf("%s: the witness file is damaged or was written without this key", path)
	}
	if w.Instance != k.Instance {
		return nil, fmt.Errorf("%s: the witness belongs to another trial (instance %s)", path, short(w.Instance))
	}
	return w, nil
}

// writeWitness replaces the witness beside the key, through a temporary
// file synced and renamed into place.
func writeWitness(k *AllocationKey, w witness) error {
	w.Instance = k.Instance
	var b bytes.Buffer
	fmt.Fprintf(&b, "# rct audit witness of trial %s: the audit chain's head as the key holder last saw it.\n", k.TrialID)
	b.WriteString("# Keep it beside the allocation key; rct updates it. Restoring an older database is found with it.\n")
	fmt.Fprintf(&b, "rct-witness: 1\ninstance: %s\nseq: %d\nhash: %s\npending-seq: %d\npending-hash: %s\nmac: %s\n",
		w.Instance, w.Seq, w.Hash, w.PendingSeq, w.PendingHash, w.mac(k.Seal[:]))
	return files.WriteAtomic(WitnessPath(k.Path), 0o600, files.Replace, func(out io.Writer) error {
		_, err := out.Write(b.Bytes())
		return err
	})
}

// check compares the chain with the witness: the chain must hold the
// witness's head (or, after an interrupted append, its pending one).
func (w *witness) check(entries []ChainEntry) error {
	hashAt := func(seq int) (string, bool) {
		if seq < 1 || seq > len(entries) || entries[seq-1].Seq != seq {
			return "", false
		}
		return entries[seq-1].Hash, true
	}
	if w.Seq > 0 {
		h, ok := hashAt(w.Seq)
		if !ok {
			return fmt.Errorf("the audit chain ends at entry %d, but the witness beside the key saw entry %d: the database was rolled back or entries were removed", len(entries), w.Seq)
		}
		if h != w.Hash {
			return fmt.Errorf("audit chain entry %d is not the one the witness beside the key saw: the database was rolled back to another history or rewritten", w.Seq)
		}
	}
	if w.PendingSeq > 0 && len(entries) >= w.PendingSeq {
		if h, _ := hashAt(w.PendingSeq); h != w.PendingHash {
			return fmt.Errorf("audit chain entry %d is not the one an append was writing when the witness was last updated: rewritten", w.PendingSeq)
		}
	}
	return nil
}
