package trial

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// legacyTrial turns a fresh trial of 6 randomized families into what an
// rct before schema 6 left: no init entry (the chain relinked from the
// first allocation, MACs and head in the old format), no chain_format, no
// witness beside the key.
func legacyTrial(t *testing.T) (*testTrial, *AllocationKey) {
	t.Helper()
	tt, k := enrolledTrial(t, 6)
	if _, err := tt.randomize(t, k); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	entries, err := readChain(ctx, tt.db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	tt.exec(t, `PRAGMA foreign_keys = OFF`, `DELETE FROM trial_meta WHERE key = 'chain_format'`, `DELETE FROM chain WHERE seq = 1`)
	prev := zeroHash
	for _, e := range entries[1:] {
		var b ChainBody
		json.Unmarshal([]byte(e.Body), &b)
		b.Seq--
		body, _ := json.Marshal(b)
		h := chainHash(prev, string(body))
		if _, err := tt.db.SQL().Exec(`UPDATE chain SET seq = ?, body = ?, prev = ?, hash = ?, mac = ? WHERE seq = ?`, b.Seq, string(body), prev, h, chainMAC(k.Seal[:], h), e.Seq); err != nil {
			t.Fatal(err)
		}
		tt.exec(t, `UPDATE allocations SET chain_seq = chain_seq - 1 WHERE chain_seq = `+strconv.Itoa(e.Seq))
		prev = h
	}
	var seq int
	tt.db.SQL().QueryRow(`SELECT max(seq) FROM chain`).Scan(&seq)
	tt.exec(t, `UPDATE trial_meta SET value = '`+legacyHeadMAC(k.Seal[:], seq, prev)+`' WHERE key = 'chain_head'`)
	os.Remove(WitnessPath(k.Path))
	tt.reopen(t)
	return tt, k
}

// TestLegacyChain: a chain from before the init entry verifies with notes;
// without a witness appends are refused until the key holder writes one
// with WriteWitness, after which randomization goes on.
func TestLegacyChain(t *testing.T) {
	tt, k := legacyTrial(t)
	ctx := context.Background()
	rep, err := tt.db.VerifyChain(ctx, tt.p, nil)
	if err != nil || len(rep.Problems) > 0 || len(rep.Notes) == 0 || rep.Allocations != 6 {
		t.Fatalf("keyless: %+v %v", rep, err)
	}
	rep, _ = tt.db.VerifyChain(ctx, tt.p, k)
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "no witness file") {
		t.Fatalf("keyed without a witness: %q", rep.Problems)
	}
	if _, err := tt.db.Withdraw(ctx, tt.p, k, "K-0001", "moved", tt.actor); err == nil || !strings.Contains(err.Error(), "no witness file") {
		t.Fatalf("an append without a witness: %v", err)
	}
	if _, err := tt.db.WriteWitness(ctx, tt.p, k); err != nil {
		t.Fatal(err)
	}
	if _, err := tt.db.Withdraw(ctx, tt.p, k, "K-0001", "moved", tt.actor); err != nil {
		t.Fatal(err)
	}
	rep, _ = tt.db.VerifyChain(ctx, tt.p, k)
	if len(rep.Problems) > 0 || rep.Withdrawals != 1 {
		t.Fatalf("after the witness: %+v", rep)
	}
	// A witness is not written over a chain that does not verify.
	os.Remove(WitnessPath(k.Path))
	tt.exec(t, `UPDATE allocations SET allocated_on = '2000-01-01' WHERE slot = 2`)
	if _, err := tt.db.WriteWitness(ctx, tt.p, k); err == nil {
		t.Error("a witness was written over an edited trial")
	}
}
