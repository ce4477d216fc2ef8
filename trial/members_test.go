package trial

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// TestMembersDigestFormat: a family's members digest is the SHA-256 of
// its referral's and its persons' fields, each written "len:value;" as
// fmt prints it. Every allocation in every trial records it, so these are
// the bytes for good: computed here from the rows with fmt, they must be
// what membersDigests gives.
func TestMembersDigestFormat(t *testing.T) {
	tt, k := enrolledTrial(t, 5)
	ctx := context.Background()
	if _, err := tt.randomize(t, k); err != nil {
		t.Fatal(err)
	}
	only := map[int64]bool{}
	want := map[int64]string{}
	rows, err := tt.db.sql.Query(`SELECT f.id, r.referral_id, r.referred_on, r.content_sha256, r.weak_domains, r.domains, COALESCE(r.consent, -1), r.outcome
		FROM families f JOIN referrals r ON r.id = f.referral`)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		id  int64
		sum string
	}
	var fams []rec
	for rows.Next() {
		var id int64
		var ref, on, fp, domains, outcome string
		var weak, consent int
		if err := rows.Scan(&id, &ref, &on, &fp, &weak, &domains, &consent, &outcome); err != nil {
			t.Fatal(err)
		}
		s := "rct family members v1\x00"
		for _, v := range []any{"referral", ref, on, fp, weak, domains, consent, outcome} {
			x := fmt.Sprint(v)
			s += fmt.Sprintf("%d:%s;", len(x), x)
		}
		fams = append(fams, rec{id, s})
		only[id] = true
	}
	rows.Close()
	for _, f := range fams {
		rows, err := tt.db.sql.Query(`SELECT role, COALESCE(nrn_pseudonym, ''), first_name, last_name, name_key, COALESCE(birth_date, ''), COALESCE(postcode, '')
			FROM persons WHERE family = ? ORDER BY role, name_key, nrn_pseudonym, birth_date, first_name, last_name, postcode`, f.id)
		if err != nil {
			t.Fatal(err)
		}
		s := f.sum
		for rows.Next() {
			var role, pseudo, first, last, key, birth, postcode string
			if err := rows.Scan(&role, &pseudo, &first, &last, &key, &birth, &postcode); err != nil {
				t.Fatal(err)
			}
			for _, v := range []any{"person", role, pseudo, first, last, key, birth, postcode} {
				x := fmt.Sprint(v)
				s += fmt.Sprintf("%d:%s;", len(x), x)
			}
		}
		rows.Close()
		d := sha256.Sum256([]byte(s))
		want[f.id] = hex.EncodeToString(d[:])
	}
	got, err := membersDigests(ctx, tt.db.sql, only, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) != 5 {
		t.Fatalf("%d digests, want %d", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Fatalf("family %d: digest %s, the format gives %s", id, got[id], w)
		}
	}
}
