package trial

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/rct-trials/rct/ident"
	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
)

// Outcomes of a referral at enrolment, in CONSORT's terms.
const (
	Enrolled    = "enrolled"     // eligible, consented: gets a study code
	NotEligible = "not_eligible" // excluded: not meeting inclusion criteria
	Declined    = "declined"     // excluded: declined to participate
	Duplicate   = "duplicate"    // a family already enrolled, referred again
	Unchanged   = "unchanged"    // imported before with the same content
)

// ReferralResult is what enrolment did with one referral.
type ReferralResult struct {
	ReferralID  string `json:"referral_id"`
	Row         int    `json:"row"`
	Outcome     string `json:"outcome"`
	StudyCode   string `json:"study_code,omitempty"`
	DuplicateOf string `json:"duplicate_of,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// EnrollResult summarises an enrolment import.
type EnrollResult struct {
	File        string           `json:"file"`
	SHA256      string           `json:"sha256"`
	Batch       int64            `json:"batch,omitempty"` // 0 when nothing was new
	RowsRead    int              `json:"rows_read"`
	Referrals   int              `json:"referrals"`
	Enrolled    int              `json:"enrolled"`
	NotEligible int              `json:"not_eligible"`
	Declined    int              `json:"declined"`
	Duplicates  int              `json:"duplicates"`
	Unchanged   int              `json:"unchanged"`
	Results     []ReferralResult `json:"results"`
}

// EnrollInput is a checked referral file ready to store.
type EnrollInput struct {
	File      string // as the user named it
	SHA256    string // of the file's bytes
	RowsRead  int
	Referrals []*Referral
	Key       *PseudoKey
	Actor     Actor
	DryRun    bool // check against the database, write nothing
}

// Enroll stores referrals in one transaction. A referral is a duplicate
// when one of its persons is already in an enrolled family (same national
// number pseudonym, or same normalised name and birth date); otherwise it is
// enrolled when weak on at least min_weak domains and, when required,
// consenting. Ineligible referrals are kept with their reason; persons are
// stored only for enrolled families. A referral imported before with the
// same content is left alone; with other content it is an error.
func (db *DB) Enroll(ctx context.Context, p *Protocol, in EnrollInput) (*EnrollResult, error) {
	res := &EnrollResult{File: in.File, SHA256: in.SHA256, RowsRead: in.RowsRead, Referrals: len(in.Referrals), Results: []ReferralResult{}}
	key := in.Key.Key[:]
	prep := prepare(p, in.Referrals, key)
	errRollback := fmt.Errorf("dry run")
	err := db.Write(ctx, func(tx *sql.Tx) error {
		known := map[string][2]string{} // referral id → fingerprint, file
		rows, err := tx.QueryContext(ctx, `SELECT r.referral_id, r.content_sha256, b.file_name FROM referrals r JOIN import_batches b ON b.id = r.batch`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, fp, f string
			if err := rows.Scan(&id, &fp, &f); err != nil {
				rows.Close()
				return err
			}
			known[id] = [2]string{fp, f}
		}
		rows.Close()
		byNumber := map[string]famRef{}
		byName := map[string]famRef{}
		rows, err = tx.QueryContext(ctx, `SELECT p.nrn_pseudonym, p.name_key, p.birth_date, f.id, f.study_code FROM persons p JOIN families f ON f.id = p.family`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var num, bd sql.NullString
			var nk string
			var f famRef
			if err := rows.Scan(&num, &nk, &bd, &f.id, &f.code); err != nil {
				rows.Close()
				return err
			}
			if num.Valid {
				byNumber[num.String] = f
			}
			if bd.Valid {
				byName[nk+"|"+bd.String] = f
			}
		}
		rows.Close()
		var nFamilies int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM families`).Scan(&nFamilies); err != nil {
			return err
		}

		var batch int64
		newBatch := func() error {
			r, err := tx.ExecContext(ctx, `INSERT INTO import_batches (kind, file_name, file_sha256, rows_read, imported_by, imported_at) VALUES ('referrals', ?, ?, ?, ?, ?)`,
				in.File, in.SHA256, in.RowsRead, in.Actor.Name, in.Actor.Stamp())
			if err != nil {
				return err
			}
			batch, err = r.LastInsertId()
			return err
		}
		// Rows get their ids here, so that every table can be written in
		// bulk; foreign keys are checked at commit.
		if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			return err
		}
		var refID, famID, perID int64
		for _, q := range []struct {
			table string
			id    *int64
		}{{"referrals", &refID}, {"families", &famID}, {"persons", &perID}} {
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+q.table).Scan(q.id); err != nil {
				return err
			}
		}
		insRef := NewBulk(ctx, tx, `INSERT INTO referrals (id, referral_id, referred_on, batch, source_row, content_sha256, weak_domains, domains, consent, outcome, duplicate_of)`, 11)
		insFam := NewBulk(ctx, tx, `INSERT INTO families (id, study_code, referral, enrolled_on)`, 4)
		insStr := NewBulk(ctx, tx, `INSERT INTO family_strata (family, variable, value)`, 3)
		insPer := NewBulk(ctx, tx, `INSERT INTO persons (id, family, role, nrn_pseudonym, first_name, last_name, name_key, birth_date, postcode)`, 9)

		var problems dataerr.List
		today := sheet.FormatDate(in.Actor.Today())
		for ri, r := range in.Referrals {
			fp := prep[ri].fingerprint
			rr := ReferralResult{ReferralID: r.ID, Row: r.Row}
			if k, ok := known[r.ID]; ok {
				if k[0] != fp {
					problems = append(problems, &dataerr.Error{File: in.File, Row: r.Row, Column: "referral_id",
						Err: fmt.Errorf("referral %s was imported before (from %s) with other content; a stored referral is never changed", r.ID, k[1])})
					continue
				}
				rr.Outcome = Unchanged
				res.Unchanged++
				res.Results = append(res.Results, rr)
				continue
			}
			known[r.ID] = [2]string{fp, in.File}
			if batch == 0 {
				if err := newBatch(); err != nil {
					return err
				}
			}
			pseudo, nameKey := prep[ri].pseudonyms, prep[ri].nameKeys
			var dup *famRef
			for i, q := range r.Persons {
				if q.Number != nil {
					if f, ok := byNumber[pseudo[i]]; ok && dup == nil {
						dup, rr.Reason = &f, fmt.Sprintf("%s (row %d) has the national number of a person in %s", q.Role, q.Row, f.code)
					}
				}
				if !q.BirthDate.IsZero() && dup == nil {
					if f, ok := byName[nameKey[i]+"|"+sheet.FormatDate(q.BirthDate)]; ok {
						dup, rr.Reason = &f, fmt.Sprintf("%s (row %d) has the name and birth date of a person in %s", q.Role, q.Row, f.code)
					}
				}
			}
			var dupOf any
			switch {
			case dup != nil:
				rr.Outcome, rr.DuplicateOf, dupOf = Duplicate, dup.code, dup.id
				res.Duplicates++
			case r.WeakCount() < p.Eligibility.MinWeak:
				rr.Outcome = NotEligible
				rr.Reason = fmt.Sprintf("weak on %d of %d domains; at least %d required", r.WeakCount(), len(p.Eligibility.Domains), p.Eligibility.MinWeak)
				res.NotEligible++
			case p.Eligibility.ConsentRequired && (r.Consent == nil || !*r.Consent):
				rr.Outcome, rr.Reason = Declined, "no consent"
				res.Declined++
			default:
				rr.Outcome = Enrolled
				res.Enrolled++
			}
			var consent any
			if r.Consent != nil {
				consent = boolInt(*r.Consent)
			}
			refID++
			if err := insRef.Add(refID, r.ID, sheet.FormatDate(r.Date), batch, r.Row, fp, r.WeakCount(), r.domainsJSON(p), consent, rr.Outcome, dupOf); err != nil {
				return err
			}
			if rr.Outcome == Enrolled {
				nFamilies++
				rr.StudyCode = StudyCode(p.Trial.CodePrefix, nFamilies)
				famID++
				if err := insFam.Add(famID, rr.StudyCode, refID, today); err != nil {
					return err
				}
				f := famRef{famID, rr.StudyCode}
				for _, v := range p.Randomization.Strata {
					if err := insStr.Add(famID, v.ID, r.Strata[v.ID]); err != nil {
						return err
					}
				}
				for i, q := range r.Persons {
					var num, bd any
					if pseudo[i] != "" {
						num = pseudo[i]
						byNumber[pseudo[i]] = f
					}
					if !q.BirthDate.IsZero() {
						bd = sheet.FormatDate(q.BirthDate)
						byName[nameKey[i]+"|"+sheet.FormatDate(q.BirthDate)] = f
					}
					perID++
					if err := insPer.Add(perID, famID, q.Role, num, q.FirstName, q.LastName, nameKey[i], bd, nullIfEmpty(q.Postcode)); err != nil {
						return err
					}
				}
			}
			res.Results = append(res.Results, rr)
		}
		if len(problems) > 0 {
			return problems
		}
		for _, b := range []*Bulk{insRef, insFam, insStr, insPer} {
			if err := b.Flush(); err != nil {
				return err
			}
		}
		res.Batch = batch
		if batch != 0 {
			if err := logEvent(ctx, tx, in.Actor, "enroll", nil, map[string]any{
				"file": in.File, "sha256": in.SHA256, "batch": batch, "referrals": res.Referrals,
				"enrolled": res.Enrolled, "not_eligible": res.NotEligible, "declined": res.Declined,
				"duplicates": res.Duplicates, "unchanged": res.Unchanged}); err != nil {
				return err
			}
		}
		if in.DryRun {
			return errRollback
		}
		return nil
	})
	if err == errRollback {
		res.Batch = 0
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// domainsJSON is the referral's domain flags as a JSON object in protocol
// order: {"income":1,"education":0,...}.
func (r *Referral) domainsJSON(p *Protocol) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, d := range p.Eligibility.Domains {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", d, boolInt(r.Weak[d]))
	}
	b.WriteByte('}')
	return b.String()
}

// prepared holds what Enroll derives from a referral before its
// transaction: keyed fingerprint, pseudonyms and normalised names.
type prepared struct {
	fingerprint string
	pseudonyms  []string // "" where a person has no national number
	nameKeys    []string
}

// prepare derives them for all referrals, on every core.
func prepare(p *Protocol, refs []*Referral, key []byte) []prepared {
	out := make([]prepared, len(refs))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(refs); i += workers {
				r := refs[i]
				o := prepared{fingerprint: r.Fingerprint(p, key), pseudonyms: make([]string, len(r.Persons)), nameKeys: make([]string, len(r.Persons))}
				for j, q := range r.Persons {
					if q.Number != nil {
						o.pseudonyms[j] = ident.Pseudonym(key, *q.Number)
					}
					o.nameKeys[j] = q.NameKey()
				}
				out[i] = o
			}
		}(w)
	}
	wg.Wait()
	return out
}

type famRef struct {
	id   int64
	code string
}

// StudyCode formats the n-th study code: K-0042.
func StudyCode(prefix string, n int) string { return fmt.Sprintf("%s-%04d", prefix, n) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullIfEmpty(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return s
}
