package trial

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strconv"
)

// membersDigests are, for the families in only, the SHA-256 of what makes a family who it is: its
// referral (id, date, content fingerprint, domains, consent, outcome) and
// its persons (role, pseudonym, names, birth date, postcode), in a fixed
// order with every field length-prefixed. An allocation entry records it,
// so that moving a person between randomized families, editing one, or
// swapping the referral behind two families — in effect changing people's
// arm — is found by audit verify. tick, when not nil, is told of each
// family digested.
func membersDigests(ctx context.Context, q queryer, only map[int64]bool, tick func()) (map[int64]string, error) {
	ids := make([]int64, 0, len(only))
	for id := range only {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make(map[int64]string, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		if err := digestChunk(ctx, q, chunk, out); err != nil {
			return nil, err
		}
		if tick != nil {
			for range chunk {
				tick()
			}
		}
	}
	return out, nil
}

// digestChunk adds the digests of some families (at most a few hundred:
// one query each for their referrals and their persons).
func digestChunk(ctx context.Context, q queryer, ids []int64, out map[int64]string) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	list := Placeholders(len(ids))
	hs := map[int64]hash.Hash{}
	var buf []byte
	field := func(h hash.Hash, values ...any) { // each as fmt.Sprint writes it: "len:value;"
		for _, v := range values {
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case int:
				s = strconv.Itoa(x)
			default:
				s = fmt.Sprint(v)
			}
			buf = strconv.AppendInt(buf[:0], int64(len(s)), 10)
			buf = append(buf, ':')
			buf = append(buf, s...)
			buf = append(buf, ';')
			h.Write(buf)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT f.id, r.referral_id, r.referred_on, r.content_sha256, r.weak_domains, r.domains,
		COALESCE(r.consent, -1), r.outcome FROM families f JOIN referrals r ON r.id = f.referral WHERE f.id IN (`+list+`)`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var ref, on, fp, domains, outcome string
		var weak, consent int
		if err := rows.Scan(&id, &ref, &on, &fp, &weak, &domains, &consent, &outcome); err != nil {
			rows.Close()
			return err
		}
		h := sha256.New()
		h.Write([]byte("rct family members v1\x00"))
		field(h, "referral", ref, on, fp, weak, domains, consent, outcome)
		hs[id] = h
	}
	rows.Close()
	rows, err = q.QueryContext(ctx, `SELECT family, role, COALESCE(nrn_pseudonym, ''), first_name, last_name, name_key,
		COALESCE(birth_date, ''), COALESCE(postcode, '') FROM persons WHERE family IN (`+list+`)
		ORDER BY family, role, name_key, nrn_pseudonym, birth_date, first_name, last_name, postcode`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var fam int64
		var role, pseudo, first, last, key, birth, postcode string
		if err := rows.Scan(&fam, &role, &pseudo, &first, &last, &key, &birth, &postcode); err != nil {
			return err
		}
		if h, ok := hs[fam]; ok {
			field(h, "person", role, pseudo, first, last, key, birth, postcode)
		}
	}
	for id, h := range hs {
		out[id] = hex.EncodeToString(h.Sum(nil))
	}
	return rows.Err()
}
