package linkage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/rct-trials/rct/ident"
	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
)

// LinkOptions set the thresholds of tier 1 and the import's provenance.
type LinkOptions struct {
	Upper, Lower float64 // posterior match probability: link at or above Upper, review from Lower
	SHA256       string  // of the extract file
	Actor        trial.Actor
	Seed         uint64 // u sampling
	// DryRun links and reports without writing anything; the result then
	// lists every register person's decision (for evaluation).
	DryRun bool
	// Fixed are the protocol's fixed parameters for the register, if any.
	Fixed *trial.LinkageParams
	// Progress, when set, is told of the candidate pairs compared and
	// scored.
	Progress progress.Func
}

// LinkDecision is what became of one register person (DryRun only).
type LinkDecision struct {
	Person      *RegisterPerson
	Status      string // linked, review, or "" (not linked)
	Tier        int
	StudyCode   string // the family of the trial person linked or under review
	Probability float64
}

// LinkResult counts what an import did.
type LinkResult struct {
	Register   string `json:"register"`
	File       string `json:"file"`
	Batch      int64  `json:"batch,omitempty"`
	RowsRead   int    `json:"rows_read"`
	Persons    int    `json:"register_persons"`
	Tier0      int    `json:"linked_tier0"`
	Tier1      int    `json:"linked_tier1"`
	Review     int    `json:"review"`
	Ambiguous  int    `json:"ambiguous"` // match two trial persons equally: reported, not linked
	Discarded  int    `json:"discarded"` // not trial persons: not kept
	BadNumbers int    `json:"bad_national_numbers"`
	NoNumber   int    `json:"rows_without_number"`
	Events     int    `json:"events_stored"`
	Duplicates int    `json:"duplicate_events_skipped"`
	// Unmapped counts the rows left out per event code the protocol does
	// not map (the register's unmapped: skip).
	Unmapped        map[string]int `json:"unmapped_codes,omitempty"`
	Blocking        BlockReport    `json:"blocking"`
	AlreadyImported bool           `json:"already_imported,omitempty"`
	Decisions       []LinkDecision `json:"-"`
	Fixed           []string       `json:"fixed_parameters,omitempty"` // taken from the protocol, not estimated
}

type trialPerson struct {
	id     int64
	family string // study code
	pseudo string
	Person
}

// Link links an extract to the trial's persons and stores, in one
// transaction, the links (tier 0 on pseudonyms; tier 1 by Fellegi-Sunter
// for persons without a valid number) and their events. Register persons
// that do not link are not kept.
func Link(ctx context.Context, db *trial.DB, ex *Extract, o LinkOptions) (*LinkResult, error) {
	if o.Upper == 0 {
		o.Upper = 0.99
	}
	if o.Lower == 0 {
		o.Lower = 0.5
	}
	if o.Lower > o.Upper || o.Upper > 1 || o.Lower < 0 {
		return nil, fmt.Errorf("linkage: thresholds lower %v, upper %v", o.Lower, o.Upper)
	}
	res := &LinkResult{Register: ex.Register, File: ex.File, RowsRead: ex.RowsRead, Persons: len(ex.Persons) + ex.Skipped, BadNumbers: ex.BadNumbers, NoNumber: ex.NoNumber, Discarded: ex.Skipped, Unmapped: ex.Unmapped}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM import_batches WHERE kind = ? AND file_sha256 = ?`, "register:"+ex.Register, o.SHA256).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !o.DryRun {
			res.AlreadyImported = true
			return nil
		}
		people, err := loadTrialPersons(ctx, tx)
		if err != nil {
			return err
		}
		if len(people) == 0 {
			return dataerr.New(ex.File, "no enrolled persons to link to: enrol families first")
		}
		links := match(people, ex, o, res)
		if o.DryRun {
			res.Decisions = decisions(people, ex, links)
			return errDryRun
		}
		return store(ctx, tx, people, ex, o, res, links)
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// link is a register person linked (or sent to review) to a trial person.
type link struct {
	rp     *RegisterPerson
	person int // index among the trial persons
	tier   int
	w, p   float64 // match weight (NaN on tier 0) and posterior probability
	status string  // linked or review
}

// match links the extract's persons: tier 0 on the pseudonym of a valid
// number; the others by Fellegi-Sunter against the trial persons not yet
// linked. It counts every decision in res.
func match(people []trialPerson, ex *Extract, o LinkOptions, res *LinkResult) []link {
	byPseudo := map[string]int{}
	for i, p := range people {
		if p.pseudo != "" {
			byPseudo[p.pseudo] = i
		}
	}
	var links []link
	used := map[int]bool{}
	var rest []*RegisterPerson
	for _, rp := range ex.Persons {
		if rp.Pseudonym == "" {
			rest = append(rest, rp)
			continue
		}
		if i, ok := byPseudo[rp.Pseudonym]; ok {
			links = append(links, link{rp, i, 0, math.NaN(), 1, "linked"})
			used[i] = true
			res.Tier0++
		} else {
			res.Discarded++ // a valid number not in the trial: not a trial person
		}
	}
	if len(rest) == 0 {
		return links
	}
	var regP, trP []Person
	var trIdx []int
	for _, rp := range rest {
		regP = append(regP, rp.Person)
	}
	for i, p := range people {
		if !used[i] {
			trP = append(trP, p.Person)
			trIdx = append(trIdx, i)
		}
	}
	if len(trP) == 0 {
		res.Discarded += len(rest)
		return links
	}
	m, pairs, rep := Estimate(regP, trP, DefaultRules, 100_000, 500, rand.New(rand.NewPCG(o.Seed, 1)), o.Progress)
	res.Fixed = m.Fix(o.Fixed)
	m.TF = surnameFrequencies(trP)
	res.Blocking = rep
	for _, d := range Assign(pairs, &m, o.Upper, o.Lower) {
		switch d.Class {
		case ClassLink:
			links = append(links, link{rest[d.Register], trIdx[d.Trial], 1, d.Weight, d.Probability, "linked"})
			res.Tier1++
		case ClassReview:
			links = append(links, link{rest[d.Register], trIdx[d.Trial], 1, d.Weight, d.Probability, "review"})
			res.Review++
		case ClassAmbiguous:
			res.Ambiguous++
		default:
			res.Discarded++
		}
	}
	return links
}

// decisions lists what a dry run decided for every register person.
func decisions(people []trialPerson, ex *Extract, links []link) []LinkDecision {
	got := map[*RegisterPerson]LinkDecision{}
	for _, l := range links {
		got[l.rp] = LinkDecision{Person: l.rp, Status: l.status, Tier: l.tier, StudyCode: people[l.person].family, Probability: l.p}
	}
	var out []LinkDecision
	for _, rp := range ex.Persons {
		d, ok := got[rp]
		if !ok {
			d = LinkDecision{Person: rp}
		}
		out = append(out, d)
	}
	return out
}

// store writes the import: its batch and blocking report, each link, and
// the link's events not stored before (an extract that overlaps an
// earlier one stores them once).
func store(ctx context.Context, tx *sql.Tx, people []trialPerson, ex *Extract, o LinkOptions, res *LinkResult, links []link) error {
	r, err := tx.ExecContext(ctx, `INSERT INTO import_batches (kind, file_name, file_sha256, rows_read, imported_by, imported_at) VALUES (?, ?, ?, ?, ?, ?)`,
		"register:"+ex.Register, ex.File, o.SHA256, ex.RowsRead, o.Actor.Name, o.Actor.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return err
	}
	batch, _ := r.LastInsertId()
	res.Batch = batch
	// The blocking report (pairs per rule, largest blocks) is kept with
	// the import, for rct link report.
	detail, err := json.Marshal(struct {
		Register string      `json:"register"`
		Batch    int64       `json:"batch"`
		Blocking BlockReport `json:"blocking"`
	}{ex.Register, batch, res.Blocking})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (at, actor, kind, detail) VALUES (?, ?, 'link_import', ?)`, o.Actor.Stamp(), o.Actor.Name, string(detail)); err != nil {
		return err
	}
	known, err := storedEvents(ctx, tx, ex.Register)
	if err != nil {
		return err
	}
	insL, err := tx.PrepareContext(ctx, `INSERT INTO register_links (batch, register, person, tier, weight, probability, status, first_name, last_name, birth_date, postcode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insL.Close()
	insE, err := tx.PrepareContext(ctx, `INSERT INTO register_events (link, register, event, start_date, end_date, amount, category, source_row) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insE.Close()
	for _, l := range links {
		var w any
		if !math.IsNaN(l.w) {
			w = l.w
		}
		var fn, ln, bd, pc any
		if l.status == "review" {
			fn, ln, bd, pc = l.rp.FirstName, l.rp.LastName, l.rp.BirthText, l.rp.Postcode
		}
		x, err := insL.ExecContext(ctx, batch, ex.Register, people[l.person].id, l.tier, w, l.p, l.status, fn, ln, bd, pc)
		if err != nil {
			return err
		}
		lid, _ := x.LastInsertId()
		for _, e := range l.rp.Events {
			end, amount := any(nil), any(nil)
			endS, amountS := "", ""
			if !e.End.IsZero() {
				endS = sheet.FormatDate(e.End)
				end = endS
			}
			if !math.IsNaN(e.Amount) {
				amount = e.Amount
				amountS = fmt.Sprint(e.Amount)
			}
			k := fmt.Sprint(people[l.person].id, "|", e.Event, "|", sheet.FormatDate(e.Start), "|", endS, "|", amountS, "|", e.Category)
			if known[k] {
				res.Duplicates++
				continue
			}
			known[k] = true
			if _, err := insE.ExecContext(ctx, lid, ex.Register, e.Event, sheet.FormatDate(e.Start), end, amount, nullable(e.Category), e.Row); err != nil {
				return err
			}
			res.Events++
		}
	}
	return nil
}

// storedEvents are the register's events already stored, by trial person,
// as keys person|event|start|end|amount|category.
func storedEvents(ctx context.Context, tx *sql.Tx, register string) (map[string]bool, error) {
	known := map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT l.person, e.event, e.start_date, COALESCE(e.end_date, ''), COALESCE(e.amount, ''), COALESCE(e.category, '')
		FROM register_events e JOIN register_links l ON l.id = e.link WHERE e.register = ?`, register)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		var a, b, c, d, e string
		if err := rows.Scan(&pid, &a, &b, &c, &d, &e); err != nil {
			return nil, err
		}
		known[fmt.Sprint(pid, "|", a, "|", b, "|", c, "|", d, "|", e)] = true
	}
	return known, rows.Err()
}

var errDryRun = errors.New("dry run")

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TrialPseudonyms returns the pseudonyms of the trial's persons, for
// ReadOptions.Keep.
func TrialPseudonyms(ctx context.Context, db *trial.DB) (map[string]bool, error) {
	return trial.ColumnSet[string](ctx, db.SQL(), `SELECT nrn_pseudonym FROM persons WHERE nrn_pseudonym IS NOT NULL`)
}

func loadTrialPersons(ctx context.Context, tx *sql.Tx) ([]trialPerson, error) {
	rows, err := tx.QueryContext(ctx, `SELECT p.id, f.study_code, COALESCE(p.nrn_pseudonym, ''), p.first_name, p.last_name, COALESCE(p.birth_date, ''), COALESCE(p.postcode, '')
		FROM persons p JOIN families f ON f.id = p.family ORDER BY p.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []trialPerson
	for rows.Next() {
		var p trialPerson
		var first, last, birth string
		if err := rows.Scan(&p.id, &p.family, &p.pseudo, &first, &last, &birth, &p.Postcode); err != nil {
			return nil, err
		}
		p.First, p.Last = ident.NormalizeName(first), ident.NormalizeName(last)
		if birth != "" {
			p.Birth = parsePartialDate(birth, false)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// surnameFrequencies is each last name's share among the trial persons.
func surnameFrequencies(people []Person) map[string]float64 {
	n := map[string]float64{}
	for _, p := range people {
		n[p.Last]++
	}
	for k := range n {
		n[k] /= float64(len(people))
	}
	return n
}
