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
	"github.com/rct-trials/rct/internal/progress"
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
	// Progress, when set, is told of each referral checked and stored.
	Progress progress.Func
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
	prep := prepare(p, in.Referrals, in.Key.Key[:])
	errRollback := fmt.Errorf("dry run")
	err := db.Write(ctx, func(tx *sql.Tx) error {
		e := &enrolment{ctx: ctx, tx: tx, p: p, in: in, res: res}
		if err := e.load(); err != nil {
			return err
		}
		var problems dataerr.List
		tick, done := in.Progress.Start("enrolment, referrals checked", len(in.Referrals))
		defer done()
		for ri, r := range in.Referrals {
			tick()
			if err := e.referral(r, prep[ri]); err != nil {
				de, ok := err.(*dataerr.Error)
				if !ok {
					return err
				}
				problems = append(problems, de)
			}
		}
		if len(problems) > 0 {
			return problems
		}
		if err := e.finish(); err != nil {
			return err
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

// enrolment is one Enroll transaction: what the database knows, the next
// row ids, and the bulk inserts of each table.
type enrolment struct {
	ctx    context.Context
	tx     *sql.Tx
	p      *Protocol
	in     EnrollInput
	res    *EnrollResult
	known  map[string][2]string // referral id → fingerprint, file
	number map[string]famRef    // national-number pseudonym → family
	name   map[string]famRef    // name key|birth date → family
	// families counts the enrolled families (the next study code);
	// refID, famID and perID are the last row ids given.
	families            int
	refID, famID, perID int64
	batch               int64
	insRef, insFam      *Bulk
	insStr, insPer      *Bulk
	today               string
}

// load reads the referrals and persons already stored, and prepares the
// inserts: rows get their ids here, so that every table can be written in
// bulk; foreign keys are checked at commit.
func (e *enrolment) load() error {
	ctx, tx := e.ctx, e.tx
	e.known, e.number, e.name = map[string][2]string{}, map[string]famRef{}, map[string]famRef{}
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
		e.known[id] = [2]string{fp, f}
	}
	rows.Close()
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
			e.number[num.String] = f
		}
		if bd.Valid {
			e.name[nk+"|"+bd.String] = f
		}
	}
	rows.Close()
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM families`).Scan(&e.families); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return err
	}
	for _, q := range []struct {
		table string
		id    *int64
	}{{"referrals", &e.refID}, {"families", &e.famID}, {"persons", &e.perID}} {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+q.table).Scan(q.id); err != nil {
			return err
		}
	}
	e.insRef = NewBulk(ctx, tx, `INSERT INTO referrals (id, referral_id, referred_on, batch, source_row, content_sha256, weak_domains, domains, consent, outcome, duplicate_of)`, 11)
	e.insFam = NewBulk(ctx, tx, `INSERT INTO families (id, study_code, referral, enrolled_on)`, 4)
	e.insStr = NewBulk(ctx, tx, `INSERT INTO family_strata (family, variable, value)`, 3)
	e.insPer = NewBulk(ctx, tx, `INSERT INTO persons (id, family, role, nrn_pseudonym, first_name, last_name, name_key, birth_date, postcode)`, 9)
	e.today = sheet.FormatDate(e.in.Actor.Today())
	return nil
}

// referral decides and stores one referral; a *dataerr.Error is a problem
// with the file, any other error a failure.
func (e *enrolment) referral(r *Referral, prep prepared) error {
	rr := ReferralResult{ReferralID: r.ID, Row: r.Row}
	if k, ok := e.known[r.ID]; ok {
		if k[0] != prep.fingerprint {
			return &dataerr.Error{File: e.in.File, Row: r.Row, Column: "referral_id",
				Err: fmt.Errorf("referral %s was imported before (from %s) with other content; a stored referral is never changed", r.ID, k[1])}
		}
		rr.Outcome = Unchanged
		e.res.Unchanged++
		e.res.Results = append(e.res.Results, rr)
		return nil
	}
	e.known[r.ID] = [2]string{prep.fingerprint, e.in.File}
	if e.batch == 0 {
		if err := e.newBatch(); err != nil {
			return err
		}
	}
	dupOf := e.decide(r, prep, &rr)
	var consent any
	if r.Consent != nil {
		consent = boolInt(*r.Consent)
	}
	e.refID++
	if err := e.insRef.Add(e.refID, r.ID, sheet.FormatDate(r.Date), e.batch, r.Row, prep.fingerprint, r.WeakCount(), r.domainsJSON(e.p), consent, rr.Outcome, dupOf); err != nil {
		return err
	}
	if rr.Outcome == Enrolled {
		if err := e.family(r, prep, &rr); err != nil {
			return err
		}
	}
	e.res.Results = append(e.res.Results, rr)
	return nil
}

// decide sets the referral's outcome (duplicate, not eligible, declined or
// enrolled) with its reason, and returns the family it duplicates (nil if none).
func (e *enrolment) decide(r *Referral, prep prepared, rr *ReferralResult) any {
	p := e.p
	var dup *famRef
	for i, q := range r.Persons {
		if q.Number != nil {
			if f, ok := e.number[prep.pseudonyms[i]]; ok && dup == nil {
				dup, rr.Reason = &f, fmt.Sprintf("%s (row %d) has the national number of a person in %s", q.Role, q.Row, f.code)
			}
		}
		if !q.BirthDate.IsZero() && dup == nil {
			if f, ok := e.name[prep.nameKeys[i]+"|"+sheet.FormatDate(q.BirthDate)]; ok {
				dup, rr.Reason = &f, fmt.Sprintf("%s (row %d) has the name and birth date of a person in %s", q.Role, q.Row, f.code)
			}
		}
	}
	switch {
	case dup != nil:
		rr.Outcome, rr.DuplicateOf = Duplicate, dup.code
		e.res.Duplicates++
		return dup.id
	case r.WeakCount() < p.Eligibility.MinWeak:
		rr.Outcome = NotEligible
		rr.Reason = fmt.Sprintf("weak on %d of %d domains; at least %d required", r.WeakCount(), len(p.Eligibility.Domains), p.Eligibility.MinWeak)
		e.res.NotEligible++
	case p.Eligibility.ConsentRequired && (r.Consent == nil || !*r.Consent):
		rr.Outcome, rr.Reason = Declined, "no consent"
		e.res.Declined++
	default:
		rr.Outcome = Enrolled
		e.res.Enrolled++
	}
	return nil
}

// family stores an enrolled referral's family: its study code, strata and
// persons (who then count for later duplicates in the same file).
func (e *enrolment) family(r *Referral, prep prepared, rr *ReferralResult) error {
	e.families++
	rr.StudyCode = StudyCode(e.p.Trial.CodePrefix, e.families)
	e.famID++
	if err := e.insFam.Add(e.famID, rr.StudyCode, e.refID, e.today); err != nil {
		return err
	}
	f := famRef{e.famID, rr.StudyCode}
	for _, v := range e.p.Randomization.Strata {
		if err := e.insStr.Add(e.famID, v.ID, r.Strata[v.ID]); err != nil {
			return err
		}
	}
	for i, q := range r.Persons {
		var num, bd any
		if prep.pseudonyms[i] != "" {
			num = prep.pseudonyms[i]
			e.number[prep.pseudonyms[i]] = f
		}
		if !q.BirthDate.IsZero() {
			bd = sheet.FormatDate(q.BirthDate)
			e.name[prep.nameKeys[i]+"|"+sheet.FormatDate(q.BirthDate)] = f
		}
		e.perID++
		if err := e.insPer.Add(e.perID, e.famID, q.Role, num, q.FirstName, q.LastName, prep.nameKeys[i], bd, nullIfEmpty(q.Postcode)); err != nil {
			return err
		}
	}
	return nil
}

func (e *enrolment) newBatch() error {
	r, err := e.tx.ExecContext(e.ctx, `INSERT INTO import_batches (kind, file_name, file_sha256, rows_read, imported_by, imported_at) VALUES ('referrals', ?, ?, ?, ?, ?)`,
		e.in.File, e.in.SHA256, e.in.RowsRead, e.in.Actor.Name, e.in.Actor.Stamp())
	if err != nil {
		return err
	}
	e.batch, err = r.LastInsertId()
	return err
}

// finish writes the inserts and logs the import.
func (e *enrolment) finish() error {
	for _, b := range []*Bulk{e.insRef, e.insFam, e.insStr, e.insPer} {
		if err := b.Flush(); err != nil {
			return err
		}
	}
	res := e.res
	res.Batch = e.batch
	if e.batch == 0 {
		return nil
	}
	return logEvent(e.ctx, e.tx, e.in.Actor, "enroll", nil, map[string]any{
		"file": e.in.File, "sha256": e.in.SHA256, "batch": e.batch, "referrals": res.Referrals,
		"enrolled": res.Enrolled, "not_eligible": res.NotEligible, "declined": res.Declined,
		"duplicates": res.Duplicates, "unchanged": res.Unchanged})
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
