package linkage

// The register extract's reader as it was before its rows were checked on
// every core (session 5 of issue 18): the tests hold the new one to it.

import (
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/ident"
	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
)

// refReadExtract is ReadExtract as it was, one row after another: it streams a register extract (CSV or XLSX) through the
// protocol's column mapping: every row is checked (event codes the
// protocol maps, dates, amounts) and grouped into persons; rows of codes the
// protocol does not map are counted per code and left out, or refused, as
// the register's unmapped setting says. National numbers
// are pseudonymised on read and never kept. Any error rejects the extract.
func refReadExtract(path string, reg trial.Register, o ReadOptions) (*Extract, error) {
	t, err := sheet.Open(path, sheet.Options{Sheet: o.Sheet})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	r := &refExtractReader{path: path, reg: reg, o: o, t: t, col: map[string]int{}, truth: -1,
		ex: &Extract{File: path, Register: reg.ID}, byKey: map[string]*RegisterPerson{}, skipped: map[uint64]struct{}{}}
	if err := r.columns(); err != nil {
		return nil, err
	}
	tick, done := o.Progress.Start("register extract, rows read", 0)
	defer done()
	for len(r.errs) < 1000 {
		row, err := t.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		tick()
		r.ex.RowsRead++
		if e := t.Uncomputed(row); e != nil {
			r.errs = append(r.errs, e)
			continue
		}
		r.row(row)
	}
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	if r.ex.RowsRead == 0 {
		return nil, dataerr.New(path, "the extract has no rows below its header")
	}
	return r.ex, nil
}

// refExtractReader reads an extract row by row into persons.
type refExtractReader struct {
	path  string
	reg   trial.Register
	o     ReadOptions
	t     *sheet.Table
	col   map[string]int // register field → column (-1: not mapped)
	truth int            // the labelled sample's column of true study codes
	errs  dataerr.List
	ex    *Extract
	byKey map[string]*RegisterPerson
	// skipped are the register persons dropped on read (not trial
	// persons), by the first 64 bits of their pseudonym.
	skipped map[uint64]struct{}
	// The last valid number read, its pseudonym and birth date: a
	// person's next rows need no second HMAC.
	lastNumber, lastPseudonym string
	lastBirth                 Date
}

// columns finds the mapped columns (and the truth column of a sample).
func (r *refExtractReader) columns() error {
	t, reg := r.t, r.reg
	for _, f := range trial.RegisterFields {
		r.col[f] = -1
		if h, ok := reg.Columns[f]; ok {
			r.col[f] = t.Col(sheet.NormalizeHeader(h))
			if r.col[f] < 0 {
				r.errs = append(r.errs, &dataerr.Error{File: r.path, Sheet: t.Sheet, Row: t.HeaderRow,
					Err: fmt.Errorf("missing column %q (the protocol maps %s of register %s to it); this may be an extract of another register", h, f, reg.ID)})
			}
		}
	}
	if r.col["national_number"] < 0 && (r.col["last_name"] < 0 || r.col["birth_date"] < 0) {
		r.errs = append(r.errs, &dataerr.Error{File: r.path, Sheet: t.Sheet, Row: t.HeaderRow, Err: fmt.Errorf("an extract needs national numbers, or last names and birth dates, to link")})
	}
	if len(r.errs) > 0 {
		return r.errs
	}
	if r.o.Truth != "" {
		if r.truth = t.Col(sheet.NormalizeHeader(r.o.Truth)); r.truth < 0 {
			return &dataerr.Error{File: r.path, Sheet: t.Sheet, Row: t.HeaderRow, Err: fmt.Errorf("no column %q with the true study codes", r.o.Truth)}
		}
	}
	return nil
}

func (r *refExtractReader) cell(row sheet.Row, f string) string {
	if i := r.col[f]; i >= 0 {
		return row.Cells[i]
	}
	return ""
}

func (r *refExtractReader) at(row sheet.Row, f, format string, args ...any) {
	r.errs = append(r.errs, r.t.At(row.Num, r.col[f], format, args...))
}

// row reads one row: its event and its person, grouped with the person's
// other rows (or dropped when not a trial person).
func (r *refExtractReader) row(row sheet.Row) {
	ev, ok := r.event(row)
	if !ok {
		return
	}
	rp, ok := r.person(row)
	if !ok {
		return
	}
	if rp.Pseudonym != "" && r.o.Keep != nil && !r.o.Keep(rp.Pseudonym) {
		id, _ := strconv.ParseUint(rp.Pseudonym[:16], 16, 64)
		if _, seen := r.skipped[id]; !seen {
			r.skipped[id] = struct{}{}
			r.ex.Skipped++
		}
		return
	}
	key := rp.Pseudonym
	if key == "" {
		key = "id:" + rp.Last + "|" + rp.First + "|" + rp.Birth.digits()
	}
	p, ok := r.byKey[key]
	if !ok {
		p = &rp
		r.byKey[key] = p
		r.ex.Persons = append(r.ex.Persons, p)
	}
	p.Events = append(p.Events, ev)
	p.Rows = append(p.Rows, row.Num)
	if r.truth >= 0 && p.Truth == "" {
		p.Truth = trial.NormalizeCode(row.Cells[r.truth])
	}
}

// event reads and checks a row's event: its code (mapped by the
// protocol), dates and amount.
func (r *refExtractReader) event(row sheet.Row) (Event, bool) {
	ev := Event{Row: row.Num, Amount: math.NaN(), Category: r.cell(row, "category")}
	code := r.cell(row, "event")
	name, ok := r.reg.Events[code]
	switch {
	case ok:
	case code == "":
		r.at(row, "event", "missing event code")
		return ev, false
	case r.reg.Unmapped != "refuse":
		if r.ex.Unmapped == nil {
			r.ex.Unmapped = map[string]int{}
		}
		code = clip(code)
		if _, seen := r.ex.Unmapped[code]; !seen && len(r.ex.Unmapped) >= maxUnmappedCodes {
			r.at(row, "event", "more than %d distinct unmapped event codes: is the event column (%s) the right one?", maxUnmappedCodes, r.reg.Columns["event"])
			return ev, false
		}
		r.ex.Unmapped[code]++
		return ev, false
	default:
		r.at(row, "event", "event code %q is not mapped in the protocol's register %s (maps: %s; unmapped: refuse)", code, r.reg.ID, strings.Join(sortedKeys(r.reg.Events), ", "))
		return ev, false
	}
	ev.Event = name
	var err error
	if ev.Start, err = sheet.ParseDate(r.cell(row, "start"), r.t.Date1904); err != nil {
		r.at(row, "start", "%v", err)
		return ev, false
	}
	if s := r.cell(row, "end"); s != "" {
		if ev.End, err = sheet.ParseDate(s, r.t.Date1904); err != nil {
			r.at(row, "end", "%v", err)
			return ev, false
		}
		if ev.End.Before(ev.Start) {
			r.at(row, "end", "ends (%s) before it starts (%s)", sheet.FormatDate(ev.End), sheet.FormatDate(ev.Start))
			return ev, false
		}
	}
	if s := r.cell(row, "amount"); s != "" {
		v, err := sheet.ParseNumber(s)
		if err != nil {
			r.at(row, "amount", "%v", err)
			return ev, false
		}
		ev.Amount = v
	}
	return ev, true
}

// person reads a row's person: names, birth date, postcode, and the
// national number pseudonymised on read (or the pseudonym given).
func (r *refExtractReader) person(row sheet.Row) (RegisterPerson, bool) {
	rp := RegisterPerson{FirstName: clip(r.cell(row, "first_name")), LastName: clip(r.cell(row, "last_name")), BirthText: clip(r.cell(row, "birth_date"))}
	rp.Last, rp.First = ident.NormalizeName(rp.LastName), ident.NormalizeName(rp.FirstName)
	rp.Postcode = clip(strings.ReplaceAll(r.cell(row, "postcode"), " ", ""))
	if rp.BirthText != "" {
		rp.Birth = parsePartialDate(rp.BirthText, r.t.Date1904)
	}
	s := r.cell(row, "national_number")
	switch {
	case s == "":
		r.ex.NoNumber++
	case r.o.Pseudonymised:
		b, err := hex.DecodeString(strings.ToLower(s))
		if err != nil || len(b) != 32 {
			r.at(row, "national_number", "not a pseudonym (64 hexadecimal digits of HMAC-SHA256): is the extract really pseudonymised?")
			return rp, false
		}
		rp.Pseudonym = strings.ToLower(s)
	case s == r.lastNumber:
		// The same person's next row: no second HMAC.
		rp.Pseudonym = r.lastPseudonym
		if rp.Birth == (Date{}) {
			rp.Birth = r.lastBirth
		}
	default:
		n, err := ident.ParseNumber(s)
		if err != nil {
			r.ex.BadNumbers++ // counted and reported; linked on names only
			break
		}
		rp.Pseudonym = ident.Pseudonym(r.o.Key, n)
		r.lastNumber, r.lastPseudonym, r.lastBirth = s, rp.Pseudonym, Date{}
		if d, ok := n.BirthDate(); ok {
			r.lastBirth = Date{d.Year(), int(d.Month()), d.Day()}
		}
		if rp.Birth == (Date{}) {
			rp.Birth = r.lastBirth
		}
	}
	return rp, true
}
