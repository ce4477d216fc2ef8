package trial

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The adversary of these tests is a team member with the database file,
// sqlite3 and a text editor, but not the allocation key. Each attack edits
// the database as such a person would; the key holder's VerifyChain must
// find it, and say where. What the keyless check finds (accidental damage,
// careless edits) is asserted too: without a secret, a careful forger can
// always rewrite a consistent chain, which only the key's MACs and the
// witness beside the key reveal.

// attackTrial is a trial of 12 randomized families with an emergency
// unblinding, a withdrawal and a keyed export in its chain, and its key.
func attackTrial(t *testing.T) (*testTrial, *AllocationKey) {
	t.Helper()
	tt, k := enrolledTrial(t, 12)
	ctx := context.Background()
	if _, err := tt.randomize(t, k); err != nil {
		t.Fatal(err)
	}
	tt.old = tt.snapshot(t) // a backup of the day: randomized, nothing else yet
	if _, err := tt.db.Unblind(ctx, tt.p, k, "K-0004", "hospital admission", tt.actor); err != nil {
		t.Fatal(err)
	}
	if _, err := tt.db.Withdraw(ctx, tt.p, k, "K-0005", "moved abroad", tt.actor); err != nil {
		t.Fatal(err)
	}
	if _, err := tt.db.Arms(ctx, tt.p, k, "unblinded analysis", tt.actor, nil); err != nil {
		t.Fatal(err)
	}
	// Two months of a sealed activity log, as its import leaves them.
	for i, month := range []string{"2017-03", "2017-04"} {
		err := tt.db.WriteChained(ctx, tt.p, k, func(tx *sql.Tx) (*ChainBody, error) {
			blob, err := k.SealBlob("activity log "+month, []byte(`{"month":`+strconv.Itoa(i)+`}`), 4096, nil)
			if err != nil {
				return nil, err
			}
			if _, err := tx.Exec(`INSERT INTO sealed_log (period, blob) VALUES (?, ?) ON CONFLICT (period) DO UPDATE SET blob = excluded.blob`, month, blob); err != nil {
				return nil, err
			}
			if i == 0 {
				tx.Exec(`INSERT INTO trial_meta (key, value) VALUES ('attack_old_blob', hex(?))`, blob)
			}
			d, err := SealedLogDigest(ctx, tx)
			return &ChainBody{Kind: KindCaseLog, Digest: d, At: tt.actor.Stamp(), By: tt.actor.Name}, err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := tt.db.VerifyChain(ctx, tt.p, k); err != nil || len(rep.Problems) > 0 {
		t.Fatalf("the untouched trial does not verify: %v %v", err, rep)
	}
	return tt, k
}

// exec runs SQL as the adversary's sqlite3 session would.
func (tt *testTrial) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := tt.db.SQL().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// reopen closes and opens the database again (after a file was replaced).
func (tt *testTrial) reopen(t *testing.T) {
	t.Helper()
	tt.db.Close()
	db, err := Open(context.Background(), filepath.Join(tt.dir, "trial.db"))
	if err != nil {
		t.Fatal(err)
	}
	tt.db = db
	t.Cleanup(func() { db.Close() })
}

// snapshot copies the database file as it is now (checkpointed), for a
// rollback later.
func (tt *testTrial) snapshot(t *testing.T) string {
	t.Helper()
	tt.exec(t, `PRAGMA wal_checkpoint(TRUNCATE)`)
	dst := filepath.Join(t.TempDir(), "old.db")
	copyFile(t, filepath.Join(tt.dir, "trial.db"), dst)
	return dst
}

// restore puts an old copy in place of the database, as a backup restore.
func (tt *testTrial) restore(t *testing.T, old string) {
	t.Helper()
	tt.db.Close()
	for _, ext := range []string{"-wal", "-shm"} {
		os.Remove(filepath.Join(tt.dir, "trial.db"+ext))
	}
	copyFile(t, old, filepath.Join(tt.dir, "trial.db"))
	tt.reopen(t)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

type attack struct {
	name string
	do   func(t *testing.T, tt *testTrial, k *AllocationKey)
	// keyless is what VerifyChain without the key says ("" when only the
	// key holder can tell); keyed, what it says with the key.
	keyless, keyed string
}

func sqlAttack(name string, keyless, keyed string, stmts ...string) attack {
	return attack{name: name, keyless: keyless, keyed: keyed, do: func(t *testing.T, tt *testTrial, _ *AllocationKey) { tt.exec(t, stmts...) }}
}

const membersChanged = "its persons or its referral changed after randomization"

var attacks = []attack{
	// The allocations table.
	sqlAttack("edit an allocation's group", "the allocations table was edited", "the allocations table was edited",
		`UPDATE allocations SET group_code = CASE group_code WHEN 'A' THEN 'B' ELSE 'A' END WHERE slot = 3`),
	sqlAttack("swap the families of two allocations", "the allocations table was edited", "the allocations table was edited",
		`PRAGMA foreign_keys = OFF`, `UPDATE allocations SET family = -family WHERE slot IN (2, 3)`,
		`UPDATE allocations SET family = CASE slot WHEN 2 THEN (SELECT -family FROM allocations WHERE slot = 3) ELSE (SELECT -family FROM allocations WHERE slot = 2) END WHERE slot IN (2, 3)`),
	sqlAttack("change a randomization date", "the allocations table was edited", "the allocations table was edited",
		`UPDATE allocations SET allocated_on = '2016-01-01' WHERE slot = 5`),
	sqlAttack("mark an allocation deterministic", "the allocations table was edited", "the allocations table was edited",
		`UPDATE allocations SET deterministic = 1 - deterministic WHERE slot = 6`),
	sqlAttack("delete an allocation row", "the allocations table has 11 rows but the audit chain 12 allocations", "the allocations table has 11 rows",
		`DELETE FROM allocations WHERE slot = 12`),
	// The chain itself.
	sqlAttack("edit a chain body", "does not match its hash", "does not match its hash",
		`UPDATE chain SET body = replace(body, '"group":"A"', '"group":"B"') WHERE seq = (SELECT min(seq) FROM chain WHERE body LIKE '%"group":"A"%')`),
	sqlAttack("delete an allocation entry", "expected entry 5 here", "expected entry 5 here",
		`DELETE FROM allocations WHERE chain_seq = 5`, `DELETE FROM chain WHERE seq = 5`),
	sqlAttack("delete the emergency unblinding", "expected entry", "expected entry",
		`DELETE FROM chain WHERE kind = 'unblind_family'`),
	sqlAttack("reorder two entries", "does not link", "does not link",
		`PRAGMA foreign_keys = OFF`, `UPDATE chain SET seq = -1 WHERE seq = 4`, `UPDATE chain SET seq = 4 WHERE seq = 6`, `UPDATE chain SET seq = 6 WHERE seq = -1`),
	sqlAttack("insert an entry", "expected entry", "expected entry",
		`INSERT INTO chain (seq, kind, body, prev, hash, mac) SELECT 9999, 'unblind_trial', '{}', hash, 'x', 'x' FROM chain WHERE seq = (SELECT max(seq) FROM chain)`),
	sqlAttack("point an entry at another family", "points to another family", "points to another family",
		`UPDATE chain SET family = (SELECT id FROM families WHERE study_code = 'K-0001') WHERE kind = 'withdraw'`),
	sqlAttack("relabel an entry's kind", "does not match its columns", "does not match its columns",
		`UPDATE chain SET kind = 'export' WHERE kind = 'withdraw'`),
	sqlAttack("strip the MAC of an unblinding", "", "MAC does not verify",
		`UPDATE chain SET mac = '' WHERE kind = 'unblind_family'`),
	sqlAttack("edit a MAC", "", "MAC does not verify",
		`UPDATE chain SET mac = replace(mac, substr(mac, 1, 1), CASE substr(mac, 1, 1) WHEN 'a' THEN 'b' ELSE 'a' END) WHERE seq = 7`),
	sqlAttack("drop the last entry", "", "rolled back",
		`DELETE FROM chain WHERE seq = (SELECT max(seq) FROM chain)`),
	sqlAttack("drop the withdrawal and everything after it", "", "rolled back",
		`DELETE FROM chain WHERE seq >= (SELECT seq FROM chain WHERE kind = 'withdraw')`),
	sqlAttack("delete the head", "", "no head",
		`DELETE FROM trial_meta WHERE key = 'chain_head'`),
	sqlAttack("erase the whole chain and the allocations", "the audit chain is empty", "the audit chain is empty",
		`DELETE FROM allocations`, `DELETE FROM chain`),
	sqlAttack("erase every trace of randomization", "the audit chain is empty", "the audit chain is empty",
		`DELETE FROM allocations`, `DELETE FROM chain`, `DELETE FROM groups`, `DELETE FROM trial_meta WHERE key IN ('chain_head', 'sealed_arms')`),
	sqlAttack("erase the chain but keep the allocations", "the audit chain is empty", "the audit chain is empty",
		`PRAGMA foreign_keys = OFF`, `DELETE FROM chain`),
	{name: "forge a consistent chain without the key", keyless: "", keyed: "MAC does not verify", do: forgeChain},
	{name: "roll back to an older copy of the database", keyless: "", keyed: "rolled back", do: rollBackFile},
	{name: "restore an older head with the later entries deleted", keyless: "", keyed: "rolled back", do: rollBackHead},
	{name: "replace the chain with another trial's", keyless: "belongs to another trial", keyed: "belongs to another trial", do: foreignChain},
	// Families, persons and referrals.
	sqlAttack("move a person to another family", membersChanged, membersChanged,
		`UPDATE persons SET family = (SELECT id FROM families WHERE study_code = 'K-0002') WHERE family = (SELECT id FROM families WHERE study_code = 'K-0001')`),
	sqlAttack("swap the referrals behind two families", membersChanged, membersChanged,
		`PRAGMA foreign_keys = OFF`, `UPDATE families SET referral = -referral WHERE study_code IN ('K-0001', 'K-0002')`,
		`UPDATE families SET referral = CASE study_code WHEN 'K-0001' THEN (SELECT -referral FROM families WHERE study_code = 'K-0002') ELSE (SELECT -referral FROM families WHERE study_code = 'K-0001') END WHERE study_code IN ('K-0001', 'K-0002')`),
	sqlAttack("edit a person's name", membersChanged, membersChanged,
		`UPDATE persons SET first_name = 'Eve', name_key = 'maes|eve' WHERE family = (SELECT id FROM families WHERE study_code = 'K-0003')`),
	sqlAttack("give a person another national number", membersChanged, membersChanged,
		`UPDATE persons SET nrn_pseudonym = '00000000000000000000000000000000000000000000000000000000000000aa' WHERE family = (SELECT id FROM families WHERE study_code = 'K-0003')`),
	sqlAttack("delete a randomized family's person", membersChanged, membersChanged,
		`DELETE FROM persons WHERE family = (SELECT id FROM families WHERE study_code = 'K-0006')`),
	sqlAttack("add a person to a randomized family", membersChanged, membersChanged,
		`INSERT INTO persons (family, role, first_name, last_name, name_key) SELECT id, 'partner', 'Mallory', 'Maes', 'maes|mallory' FROM families WHERE study_code = 'K-0007'`),
	sqlAttack("change a randomized family's domains", membersChanged, membersChanged,
		`UPDATE referrals SET domains = replace(domains, '"work":0', '"work":1'), weak_domains = weak_domains + 1 WHERE id = (SELECT referral FROM families WHERE study_code = 'K-0008')`),
	sqlAttack("change a randomized family's strata", "its strata are now", "its strata are now",
		`UPDATE family_strata SET value = CASE value WHEN 'dutch' THEN 'other' ELSE 'dutch' END WHERE family = 2 AND variable = 'language'`),
	sqlAttack("rename a family's study code", "points to another family", "points to another family",
		`UPDATE families SET study_code = 'K-9999' WHERE study_code = 'K-0003'`),
	sqlAttack("swap two families' study codes", "points to another family", "points to another family",
		`UPDATE families SET study_code = 'X' WHERE study_code = 'K-0001'`, `UPDATE families SET study_code = 'K-0001' WHERE study_code = 'K-0002'`, `UPDATE families SET study_code = 'K-0002' WHERE study_code = 'X'`),
	// Groups, the sealed mapping and the trial's own records.
	sqlAttack("swap the groups' indices", "", "the seed and the recorded order give",
		`UPDATE groups SET idx = -idx`, `UPDATE groups SET idx = 1 WHERE code = 'A'`, `UPDATE groups SET idx = 0 WHERE code = 'B'`),
	sqlAttack("delete the sealed arms", "", "sealed arms",
		`DELETE FROM trial_meta WHERE key = 'sealed_arms'`),
	sqlAttack("change the seed commitment", "the seed commitment", "the seed commitment",
		`UPDATE trial_meta SET value = (CASE WHEN substr(value, 1, 2) = '00' THEN 'ff' ELSE '00' END) || substr(value, 3) WHERE key = 'seed_commitment'`),
	sqlAttack("edit the protocol as recorded at init", "the protocol", "the protocol",
		`UPDATE protocol_versions SET text = replace(text, 'block_sizes: [2, 4, 6]', 'block_sizes: [2, 4]') WHERE amendment = 0`),
	sqlAttack("delete a sealed month of the activity log", "the sealed activity log is not what its last import left", "the sealed activity log is not what its last import left",
		`DELETE FROM sealed_log WHERE period = '2017-04'`),
	sqlAttack("put back an older sealed month", "the sealed activity log is not what its last import left", "the sealed activity log is not what its last import left",
		`UPDATE sealed_log SET blob = unhex((SELECT value FROM trial_meta WHERE key = 'attack_old_blob')) WHERE period = '2017-04'`),
	sqlAttack("flip a byte of a sealed month", "the sealed activity log is not what its last import left", "the sealed activity log is not what its last import left",
		`UPDATE sealed_log SET blob = zeroblob(length(blob)) WHERE period = '2017-03'`),
	sqlAttack("add a month to the sealed log", "the sealed activity log is not what its last import left", "the sealed activity log is not what its last import left",
		`INSERT INTO sealed_log (period, blob) SELECT '2017-05', blob FROM sealed_log WHERE period = '2017-03'`),
	{name: "replace the sealed arms with another trial's", keyless: "", keyed: "sealed arms", do: func(t *testing.T, tt *testTrial, k *AllocationKey) {
		other, ok := enrolledTrial(t, 2)
		if _, err := other.randomize(t, ok); err != nil {
			t.Fatal(err)
		}
		var s string
		other.db.SQL().QueryRow(`SELECT value FROM trial_meta WHERE key = 'sealed_arms'`).Scan(&s)
		tt.exec(t, `UPDATE trial_meta SET value = '`+s+`' WHERE key = 'sealed_arms'`)
	}},
}

// forgeChain rewrites an allocation and recomputes every hash after it, as
// someone who read the code but has no key would.
func forgeChain(t *testing.T, tt *testTrial, _ *AllocationKey) {
	ctx := context.Background()
	entries, err := readChain(ctx, tt.db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	prev := zeroHash
	for _, e := range entries {
		body := e.Body
		if e.Seq == 4 {
			if strings.Contains(body, `"group":"A"`) {
				body = strings.Replace(body, `"group":"A"`, `"group":"B"`, 1)
			} else {
				body = strings.Replace(body, `"group":"B"`, `"group":"A"`, 1)
			}
		}
		h := chainHash(prev, body)
		tt.exec(t, `UPDATE chain SET body = '`+strings.ReplaceAll(body, "'", "''")+`', prev = '`+prev+`', hash = '`+h+`' WHERE seq = `+strconv.Itoa(e.Seq))
		prev = h
	}
	tt.exec(t, `UPDATE allocations SET group_code = CASE group_code WHEN 'A' THEN 'B' ELSE 'A' END WHERE chain_seq = 4`)
}

// rollBackFile restores the backup taken before the unblinding and the
// withdrawal: both disappear, and the chain that is left is whole.
func rollBackFile(t *testing.T, tt *testTrial, _ *AllocationKey) { tt.restore(t, tt.old) }

// rollBackHead deletes the entries after randomization and puts back the
// head value the database held then (from the backup): a consistent,
// shorter chain with a valid head MAC.
func rollBackHead(t *testing.T, tt *testTrial, _ *AllocationKey) {
	old, err := sql.Open("sqlite", tt.old)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	var seq int
	var head string
	if err := old.QueryRow(`SELECT max(seq) FROM chain`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if err := old.QueryRow(`SELECT value FROM trial_meta WHERE key = 'chain_head'`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	tt.exec(t, `DELETE FROM chain WHERE seq > `+strconv.Itoa(seq), `UPDATE trial_meta SET value = '`+head+`' WHERE key = 'chain_head'`)
}

// foreignChain copies the chain, allocations, groups and sealed mapping
// of another trial of the same protocol and size into this database.
func foreignChain(t *testing.T, tt *testTrial, _ *AllocationKey) {
	other, ok := enrolledTrial(t, 12)
	if _, err := other.randomize(t, ok); err != nil {
		t.Fatal(err)
	}
	other.exec(t, `PRAGMA wal_checkpoint(TRUNCATE)`)
	tt.exec(t, `PRAGMA foreign_keys = OFF`, `ATTACH DATABASE '`+filepath.Join(other.dir, "trial.db")+`' AS other`,
		`DELETE FROM allocations`, `DELETE FROM chain`, `DELETE FROM groups`,
		`INSERT INTO chain SELECT * FROM other.chain`, `INSERT INTO allocations SELECT * FROM other.allocations`, `INSERT INTO groups SELECT * FROM other.groups`,
		`UPDATE trial_meta SET value = (SELECT value FROM other.trial_meta WHERE key = 'sealed_arms') WHERE key = 'sealed_arms'`,
		`UPDATE trial_meta SET value = (SELECT value FROM other.trial_meta WHERE key = 'chain_head') WHERE key = 'chain_head'`,
		`DETACH DATABASE other`)
}

// TestAttacksDetected runs every attack on a fresh trial and checks what
// audit verify says without and with the key, and that no further
// randomization happens on top of it.
func TestAttacksDetected(t *testing.T) {
	if len(attacks) < 35 {
		t.Fatalf("%d attacks: the suite should name at least 35 at this level", len(attacks))
	}
	// The randomization that must be refused verifies with a reader
	// beside its transaction when the trial is large: here, always.
	defer func(n int) { verifyBesideFrom = n }(verifyBesideFrom)
	verifyBesideFrom = 0
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			tt, k := attackTrial(t)
			a.do(t, tt, k)
			tt.reopen(t) // the adversary worked in a session of his own
			ctx := context.Background()
			problems := func(key *AllocationKey) []string {
				rep, err := tt.db.VerifyChain(ctx, tt.p, key)
				if err != nil {
					return []string{err.Error()}
				}
				return rep.Problems
			}
			if a.keyless != "" {
				if ps := problems(nil); !contains(ps, a.keyless) {
					t.Errorf("without the key: %q, want %q", ps, a.keyless)
				}
			}
			ps := problems(k)
			if !contains(ps, a.keyed) {
				t.Errorf("with the key: %q, want %q", ps, a.keyed)
			}
			// Nothing is randomized on top of a tampered trial.
			if _, err := tt.enroll(t, writeCSV(t, tt.dir, "late.csv", csvHeader+"Z1,2017-03-01,mother,,Zoe,Late,,8500,yes,1,1,1,0,0,0,two_parents,dutch\n")); err != nil {
				t.Fatal(err)
			}
			if _, err := tt.randomize(t, k); err == nil {
				t.Error("randomized on top of the attack")
			}
			// Nor is the trial unblinded for an analysis, whose check takes
			// the sealed log's digest from the reader that opens the log.
			if _, err := tt.db.Arms(ctx, tt.p, k, "analysis", tt.actor, func(r *DB) error {
				return r.SealedLog(ctx, func(string, []byte) error { return nil })
			}); err == nil {
				t.Error("unblinded on top of the attack")
			}
		})
	}
}

// TestSealedLogReadOnce: beside a keyed write, the check takes the sealed
// log's digest from the reader that reads the log (it waits for it), and
// reads the log itself when that read failed; the untouched trial
// unblinds with the log read beside.
func TestSealedLogReadOnce(t *testing.T) {
	defer func(n int) { verifyBesideFrom = n }(verifyBesideFrom)
	verifyBesideFrom = 0
	tt, k := attackTrial(t)
	ctx := context.Background()
	months := 0
	if _, err := tt.db.Arms(ctx, tt.p, k, "analysis", tt.actor, func(r *DB) error {
		return r.SealedLog(ctx, func(string, []byte) error { months++; return nil })
	}); err != nil || months != 2 {
		t.Fatalf("the untouched trial with its log read beside: %v, %d months", err, months)
	}
	want, err := SealedLogDigest(ctx, tt.db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	for _, ok := range []bool{true, false} {
		r := &DB{sql: tt.db.SQL(), logDigest: newSharedDigest()}
		if !r.logDigest.claim() {
			t.Fatal("a fresh digest was claimed")
		}
		got := make(chan string)
		go func() {
			d, err := r.sealedLogDigest(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- d
		}()
		select {
		case d := <-got:
			t.Fatalf("the check did not wait for the reader: %q", d)
		case <-time.After(50 * time.Millisecond):
		}
		r.logDigest.publish("from the reader", ok)
		d := <-got
		if ok && d != "from the reader" || !ok && d != want {
			t.Errorf("read finished %v: the check's digest %q", ok, d)
		}
	}
}

func contains(problems []string, want string) bool {
	for _, p := range problems {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}

// TestDoctoredKeyRefused: a key file whose seed was altered, with its seal
// intact, is refused before anything is allocated from the wrong sequence.
func TestDoctoredKeyRefused(t *testing.T) {
	tt, _ := enrolledTrial(t, 4)
	b, err := os.ReadFile(filepath.Join(tt.dir, "trial.key"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "seed: ") {
			c := l[6]
			if c == 'a' {
				c = 'b'
			} else {
				c = 'a'
			}
			lines[i] = "seed: " + string(c) + l[7:]
		}
	}
	bad := filepath.Join(tt.dir, "doctored.key")
	if err := os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = tt.db.VerifyAllocationKey(context.Background(), bad)
	if !errors.Is(err, ErrKeyRefused) || !strings.Contains(err.Error(), "seed commitment") {
		t.Fatalf("doctored seed: %v", err)
	}
}
