package trial

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/randomize"
)

// enrolled returns a trial with the families of goodCSV plus n more enrolled.
func enrolledTrial(t *testing.T, n int) (*testTrial, *AllocationKey) {
	t.Helper()
	tt := newTestTrial(t)
	var b strings.Builder
	b.WriteString(csvHeader)
	house := []string{"single_parent", "two_parents"}
	lang := []string{"dutch", "other"}
	for i := 0; i < n; i++ {
		b.WriteString(strings.Join([]string{"F" + strconv.Itoa(i), "2017-03-01", "mother", "", "Ann" + strconv.Itoa(i), "Maes", "", "8500", "yes", "1", "1", "1", "0", "0", "0", house[i%2], lang[(i/2)%2]}, ",") + "\n")
	}
	if _, err := tt.enroll(t, writeCSV(t, tt.dir, "many.csv", b.String())); err != nil {
		t.Fatal(err)
	}
	k, err := tt.db.VerifyAllocationKey(context.Background(), filepath.Join(tt.dir, "trial.key"))
	if err != nil {
		t.Fatal(err)
	}
	return tt, k
}

func (tt *testTrial) randomize(t *testing.T, k *AllocationKey, families ...string) ([]AllocationResult, error) {
	t.Helper()
	return tt.db.Randomize(context.Background(), tt.p, RandomizeInput{Families: families, Pending: len(families) == 0, Key: k, Actor: tt.actor})
}

func TestRandomizeAndReDerive(t *testing.T) {
	tt, k := enrolledTrial(t, 40)
	first, err := tt.randomize(t, k, "K-0003", "K-0001")
	if err != nil {
		t.Fatal(err)
	}
	if first[0].StudyCode != "K-0003" || first[0].Slot != 1 || first[1].Slot != 2 {
		t.Errorf("order: %+v", first)
	}
	rest, err := tt.randomize(t, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 38 || rest[0].StudyCode != "K-0002" || rest[0].Slot != 3 {
		t.Fatalf("pending: %d, first %+v", len(rest), rest[0])
	}
	// Re-derive by hand from the seed: the allocations table is the
	// sequence the algorithm gives for the recorded order.
	groups, _ := tt.db.Groups(context.Background())
	seq, err := randomize.New(tt.p.Design(groups), k.Seed)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(first, rest...) {
		prof, _ := tt.p.profile(r.Stratum)
		a, _ := seq.Next(prof)
		if groups[a.Group].Code != r.Group {
			t.Fatalf("slot %d: stored %s, re-derived %s", r.Slot, r.Group, groups[a.Group].Code)
		}
	}
	rep, err := tt.db.VerifyChain(context.Background(), tt.p, k)
	if err != nil || len(rep.Problems) > 0 || rep.Allocations != 40 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	s, _ := tt.db.Status(context.Background())
	if s.Randomized != 40 {
		t.Errorf("status randomized %d", s.Randomized)
	}
}

func TestRandomizeRefusals(t *testing.T) {
	tt, k := enrolledTrial(t, 4)
	if _, err := tt.randomize(t, k, "K-0001"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		families []string
		want     string
	}{
		{[]string{"K-0001"}, "already randomized (slot 1)"},
		{[]string{"K-0099"}, "no enrolled family has this study code"},
		{[]string{"K-0002", "K-0002"}, "named twice"},
	} {
		_, err := tt.randomize(t, k, c.families...)
		if err == nil || !dataerr.Is(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.families, err, c.want)
		}
	}
	// Nothing was written by the refusals.
	if n := tt.count(t, "allocations"); n != 1 {
		t.Errorf("%d allocations", n)
	}
	// A key file from another trial, and a damaged one.
	other := newTestTrial(t)
	if _, err := tt.db.VerifyAllocationKey(context.Background(), filepath.Join(other.dir, "trial.key")); !errors.Is(err, ErrKeyRefused) {
		t.Errorf("foreign key: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(tt.dir, "trial.key"))
	bad := filepath.Join(tt.dir, "bad.key")
	os.WriteFile(bad, bytes.Replace(b, []byte("seal: "), []byte("seal: 00"), 1), 0o600)
	if _, err := tt.db.VerifyAllocationKey(context.Background(), bad); !errors.Is(err, ErrKeyRefused) {
		t.Errorf("damaged key: %v", err)
	}
	if _, err := tt.db.VerifyAllocationKey(context.Background(), filepath.Join(tt.dir, "trial.pseudo.key")); !errors.Is(err, ErrKeyRefused) {
		t.Errorf("pseudonymisation key used as allocation key: %v", err)
	}
}

func TestAfterBaseline(t *testing.T) {
	tt, k := enrolledTrial(t, 3)
	tt.p.Randomization.AfterBaseline = true
	res, err := tt.randomize(t, k)
	if err != nil || len(res) != 0 {
		t.Errorf("pending before baseline: %v %v", res, err)
	}
	if _, err := tt.randomize(t, k, "K-0001"); err == nil || !strings.Contains(err.Error(), "baseline survey (m0) is not in yet") {
		t.Errorf("err = %v", err)
	}
}

// TestTamperingDetected edits the database as an outside SQLite tool
// would; audit verify (and any further randomization) notices.
func TestTamperingDetected(t *testing.T) {
	cases := []struct {
		name      string
		sql       string
		keyedOnly bool // found only with the key
		want      string
	}{
		{"edit an allocation", `UPDATE allocations SET group_code = CASE group_code WHEN 'A' THEN 'B' ELSE 'A' END WHERE slot = 3`, false, "the allocations table was edited"},
		{"edit a chain body", `UPDATE chain SET body = replace(body, '"group":"A"', '"group":"B"') WHERE seq = (SELECT min(seq) FROM chain WHERE body LIKE '%"group":"A"%')`, false, "does not match its hash"},
		{"delete an entry", `DELETE FROM allocations WHERE chain_seq = 5; DELETE FROM chain WHERE seq = 5`, false, "expected entry 5 here"},
		{"reorder entries", `PRAGMA foreign_keys = OFF; UPDATE chain SET seq = -1 WHERE seq = 4; UPDATE chain SET seq = 4 WHERE seq = 6; UPDATE chain SET seq = 6 WHERE seq = -1; PRAGMA foreign_keys = ON`, false, "does not link"},
		{"insert an entry", `INSERT INTO chain (seq, kind, body, prev, hash, mac) SELECT 9999, 'unblind_trial', '{}', hash, 'x', 'x' FROM chain WHERE seq = (SELECT max(seq) FROM chain)`, false, "expected entry"},
		{"drop the last entry", `DELETE FROM allocations WHERE chain_seq = (SELECT max(seq) FROM chain); DELETE FROM chain WHERE seq = (SELECT max(seq) FROM chain)`, true, "entries were removed"},
		{"change strata after randomization", `UPDATE family_strata SET value = CASE value WHEN 'dutch' THEN 'other' ELSE 'dutch' END WHERE family = 2 AND variable = 'language'`, false, "its strata are now"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tt, k := enrolledTrial(t, 12)
			if _, err := tt.randomize(t, k); err != nil {
				t.Fatal(err)
			}
			if _, err := tt.db.SQL().Exec(c.sql); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			rep, err := tt.db.VerifyChain(ctx, tt.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !c.keyedOnly && (len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0], c.want)) {
				t.Errorf("without the key: %q, want %q", rep.Problems, c.want)
			}
			rep, err = tt.db.VerifyChain(ctx, tt.p, k)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range rep.Problems {
				found = found || strings.Contains(p, c.want)
			}
			if !found {
				t.Errorf("with the key: %q, want %q", rep.Problems, c.want)
			}
			// Randomizing on top of a broken chain is refused.
			if _, err := tt.enroll(t, writeCSV(t, tt.dir, "one.csv", csvHeader+"Z1,2017-03-01,mother,,Zoe,Maes,,8500,yes,1,1,1,0,0,0,two_parents,dutch\n")); err != nil {
				t.Fatal(err)
			}
			if _, err := tt.randomize(t, k); err == nil || !strings.Contains(err.Error(), "does not verify") {
				t.Errorf("randomize on a tampered chain: %v", err)
			}
		})
	}
}

// TestForgedChainNeedsTheKey: someone without the key rewrites an
// allocation and recomputes every hash after it. The keyless check passes;
// the MACs and the re-derivation from the seed do not.
func TestForgedChainNeedsTheKey(t *testing.T) {
	tt, k := enrolledTrial(t, 10)
	if _, err := tt.randomize(t, k); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	entries, _ := readChain(ctx, tt.db.SQL())
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
		if _, err := tt.db.SQL().Exec(`UPDATE chain SET body = ?, prev = ?, hash = ? WHERE seq = ?`, body, prev, h, e.Seq); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
	tt.db.SQL().Exec(`UPDATE allocations SET group_code = CASE group_code WHEN 'A' THEN 'B' ELSE 'A' END WHERE chain_seq = 4`)
	rep, _ := tt.db.VerifyChain(ctx, tt.p, nil)
	if len(rep.Problems) != 0 {
		t.Errorf("a consistent forgery fails the keyless check: %v", rep.Problems)
	}
	rep, _ = tt.db.VerifyChain(ctx, tt.p, k)
	if len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0], "MAC does not verify") {
		t.Errorf("with the key: %v", rep.Problems)
	}
}

// TestArmsSealed: the database file does not tell which group is which
// arm, and the mapping is drawn afresh for each trial.
func TestArmsSealed(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 24 && len(seen) < 2; i++ {
		tt, k := enrolledTrial(t, 2)
		if _, err := tt.randomize(t, k); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		arms, err := unseal(ctx, tt.db.SQL(), k)
		if err != nil {
			t.Fatal(err)
		}
		seen[arms["A"]] = true
		var sealed string
		tt.db.SQL().QueryRow(`SELECT value FROM trial_meta WHERE key = 'sealed_arms'`).Scan(&sealed)
		tt.db.Close()
		raw, _ := os.ReadFile(filepath.Join(tt.dir, "trial.db"))
		for _, leak := range []string{`"A":"`, `"B":"`, `"arms":{`} {
			if bytes.Contains(raw, []byte(leak)) {
				t.Fatalf("the database file holds the mapping in clear (%s)", leak)
			}
		}
		if sealed == "" {
			t.Fatal("no sealed mapping")
		}
	}
	if !seen["intervention"] || !seen["control"] {
		t.Errorf("group A was always %v: the mapping is not drawn at random", seen)
	}
}

func TestUnblindWithdrawExport(t *testing.T) {
	tt, k := enrolledTrial(t, 6)
	ctx := context.Background()
	if _, err := tt.randomize(t, k); err != nil {
		t.Fatal(err)
	}
	u, err := tt.db.Unblind(ctx, tt.p, k, "K-0002", "hospital admission", tt.actor)
	if err != nil || (u.Arm != "intervention" && u.Arm != "control") {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := tt.db.Withdraw(ctx, tt.p, k, "K-0003", "moved abroad", tt.actor); err != nil {
		t.Fatal(err)
	}
	if _, err := tt.db.Withdraw(ctx, tt.p, k, "K-0099", "x", tt.actor); err == nil {
		t.Error("withdrew an unknown family")
	}
	s, _ := tt.db.Status(ctx)
	if s.Unblinded != 1 || s.Withdrawn != 1 || s.TrialUnblinded {
		t.Errorf("status %+v", s)
	}
	if err := tt.db.Reveal(ctx, tt.p, k, tt.actor); !errors.Is(err, ErrKeyRefused) {
		t.Errorf("reveal before unblinding: %v", err)
	}
	blind, err := tt.db.AllocationList(ctx, tt.p, nil, "", tt.actor)
	if err != nil || len(blind) != 6 || blind[0].Arm != "" || !blind[2].Withdrawn {
		t.Errorf("keyless list %+v %v", blind, err)
	}
	fams, err := tt.db.Randomized(ctx, tt.p)
	if err != nil || len(fams) != 6 {
		t.Fatalf("randomized: %d %v", len(fams), err)
	}
	for _, f := range fams {
		if f.Withdrawn != (f.StudyCode == "K-0003") {
			t.Errorf("%s withdrawn: %v", f.StudyCode, f.Withdrawn)
		}
	}
	list, _ := tt.db.AllocationList(ctx, tt.p, k, "", tt.actor)
	if list[0].Arm == "" {
		t.Error("keyed list has no arms")
	}
	if _, err := tt.db.Unblind(ctx, tt.p, k, "", "end of trial", tt.actor); err != nil {
		t.Fatal(err)
	}
	if err := tt.db.Reveal(ctx, tt.p, k, tt.actor); err != nil {
		t.Fatal(err)
	}
	rep, _ := tt.db.VerifyChain(ctx, tt.p, k)
	if len(rep.Problems) > 0 || rep.Unblindings != 2 || rep.Withdrawals != 1 {
		t.Errorf("%+v", rep)
	}
	var kinds string
	tt.db.SQL().QueryRow(`SELECT group_concat(kind, ',') FROM (SELECT kind FROM chain WHERE kind != 'allocate' ORDER BY seq)`).Scan(&kinds)
	if kinds != "init,unblind_family,withdraw,export,unblind_trial,reveal" {
		t.Errorf("chain kinds %s", kinds)
	}
}

func TestRandomizeMissingStratum(t *testing.T) {
	tt, k := enrolledTrial(t, 3)
	if _, err := tt.db.SQL().Exec(`DELETE FROM family_strata WHERE family = 2 AND variable = 'language'`); err != nil {
		t.Fatal(err)
	}
	_, err := tt.randomize(t, k)
	if err == nil || !dataerr.Is(err) || !strings.Contains(err.Error(), "family K-0002: cannot be randomized: no value for stratification variable language") {
		t.Fatalf("err = %v", err)
	}
	if n := tt.count(t, "allocations"); n != 0 {
		t.Errorf("%d allocations written", n)
	}
}

// TestWithdrawWithoutKey: a withdrawal needs no key and is recorded once;
// it verifies with and without the key (with a note that it awaits a keyed
// entry), and once a keyed command follows, deleting it is found.
func TestWithdrawWithoutKey(t *testing.T) {
	tt, k := enrolledTrial(t, 6)
	ctx := context.Background()
	if _, err := tt.randomize(t, k); err != nil {
		t.Fatal(err)
	}
	w, err := tt.db.Withdraw(ctx, tt.p, nil, "K-0002", "moved", tt.actor)
	if err != nil || w.Already || w.Keyed {
		t.Fatalf("%+v %v", w, err)
	}
	again, err := tt.db.Withdraw(ctx, tt.p, nil, "K-0002", "moved again", tt.actor)
	if err != nil || !again.Already || again.Seq != w.Seq {
		t.Fatalf("a second withdrawal: %+v %v", again, err)
	}
	if again, err := tt.db.Withdraw(ctx, tt.p, k, "K-0002", "with the key", tt.actor); err != nil || !again.Already {
		t.Fatalf("a keyed second withdrawal: %+v %v", again, err)
	}
	for _, key := range []*AllocationKey{nil, k} {
		rep, err := tt.db.VerifyChain(ctx, tt.p, key)
		if err != nil || len(rep.Problems) > 0 || rep.Withdrawals != 1 {
			t.Fatalf("verify (key %v): %+v %v", key != nil, rep, err)
		}
		if key != nil && !contains(rep.Notes, "recorded without the key") {
			t.Errorf("no note of the keyless entry: %q", rep.Notes)
		}
	}
	s, _ := tt.db.Status(ctx)
	if s.Withdrawn != 1 {
		t.Errorf("status counts %d withdrawals", s.Withdrawn)
	}
	// A keyed entry covers it: deleting it is then found.
	if _, err := tt.db.Arms(ctx, tt.p, k, "analysis", tt.actor, nil); err != nil {
		t.Fatal(err)
	}
	tt.exec(t, `PRAGMA foreign_keys = OFF`, `DELETE FROM chain WHERE kind = 'withdraw'`)
	tt.reopen(t)
	if rep, _ := tt.db.VerifyChain(ctx, tt.p, nil); len(rep.Problems) == 0 {
		t.Error("a covered withdrawal deleted unnoticed")
	}
	// Keyless entries of other kinds are refused.
	err = tt.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := appendChain(ctx, tx, nil, nil, ChainBody{Kind: KindUnblindTrial})
		return err
	})
	if err == nil {
		t.Error("an unblinding was appended without the key")
	}
}

// TestRandomizedSpan: the first and last randomization dates are the least
// and greatest of the members' own, the withdrawn included; "" before any.
func TestRandomizedSpan(t *testing.T) {
	ctx := context.Background()
	tt, k := enrolledTrial(t, 6)
	if first, last, err := tt.db.RandomizedSpan(ctx); err != nil || first != "" || last != "" {
		t.Fatalf("before any randomization: %q %q %v", first, last, err)
	}
	for i, day := range []string{"2017-03-09", "2017-03-02", "2017-04-20"} {
		now, _ := time.Parse(time.RFC3339, day+"T12:00:00Z")
		tt.actor.Now = func() time.Time { return now }
		if _, err := tt.randomize(t, k, "K-000"+strconv.Itoa(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tt.db.Withdraw(ctx, tt.p, k, "K-0003", "moved", tt.actor); err != nil {
		t.Fatal(err)
	}
	members, err := tt.db.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want [2]string
	for _, m := range members {
		if d := m.RandomizedOn; d != "" {
			if want[0] == "" || d < want[0] {
				want[0] = d
			}
			want[1] = max(want[1], d)
		}
	}
	first, last, err := tt.db.RandomizedSpan(ctx)
	if err != nil || [2]string{first, last} != want || want != [2]string{"2017-03-02", "2017-04-20"} {
		t.Errorf("span %q–%q (%v), members give %q", first, last, err, want)
	}
}
