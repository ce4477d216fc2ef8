package linkage

import (
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rct-trials/rct/ident"
	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
)

// Event is one register event of a person.
type Event struct {
	Row      int
	Event    string // the protocol's event name (leefloon, supplementary_aid, ...)
	Start    time.Time
	End      time.Time // zero: open or one-off
	Amount   float64   // NaN when not given
	Category string
}

// RegisterPerson is a person of an extract: the rows that share a national
// number (or, without a valid one, the same name and birth date).
type RegisterPerson struct {
	Pseudonym string // HMAC of the national number; "" when none is valid
	Person           // normalised, for comparison
	FirstName string // as written, for clerical review
	LastName  string
	BirthText string
	Events    []Event
	Rows      []int
	// Truth is, in a labelled sample, the study code of the family this
	// person belongs to ("" when not a trial person).
	Truth string
}

// Extract is a register extract read and checked.
type Extract struct {
	File       string
	Register   string
	RowsRead   int
	Persons    []*RegisterPerson
	BadNumbers int // rows whose national number failed its check digits: not linked on number
	NoNumber   int // rows without a national number
	Skipped    int // register persons with a valid number not in the trial, dropped on read (ReadOptions.Keep)
	// Unmapped counts, per event code the protocol does not map, the rows
	// left out (the register's unmapped: skip).
	Unmapped map[string]int
}

// ReadOptions choose how an extract is read.
type ReadOptions struct {
	Key           []byte // the trial's pseudonymisation key
	Pseudonymised bool   // the national-number column already holds the keyed HMAC (64 hex digits)
	Sheet         string
	// Truth names the column of a labelled sample that gives each row's
	// true study code (blank: not a trial person), for evaluation.
	Truth string
	// Keep, when set, says whether a pseudonym is a trial person's: rows
	// of register persons with a valid number who are not are checked,
	// counted and dropped as they are read (data minimisation, and memory:
	// most of an extract is other people).
	Keep func(pseudonym string) bool
	// Progress, when set, is told of each row read.
	Progress progress.Func
}

// maxUnmappedCodes bounds the distinct unmapped codes counted: beyond it
// the event column is more likely wrong than the codes many.
const maxUnmappedCodes = 10000

// ReadExtract streams a register extract (CSV or XLSX) through the
// protocol's column mapping: every row is checked (event codes the
// protocol maps, dates, amounts) and grouped into persons; rows of codes the
// protocol does not map are counted per code and left out, or refused, as
// the register's unmapped setting says. National numbers
// are pseudonymised on read and never kept. Any error rejects the extract.
func ReadExtract(path string, reg trial.Register, o ReadOptions) (*Extract, error) {
	t, err := sheet.Open(path, sheet.Options{Sheet: o.Sheet})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	r := &extractReader{path: path, reg: reg, o: o, t: t, col: map[string]int{}, truth: -1,
		ex: &Extract{File: path, Register: reg.ID}, byKey: map[string]*RegisterPerson{}, skipped: map[uint64]struct{}{}}
	if err := r.columns(); err != nil {
		return nil, err
	}
	tick, done := o.Progress.Start("register extract, rows read", 0)
	defer done()
	if err := r.read(tick); err != nil {
		return nil, err
	}
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	if r.ex.RowsRead == 0 {
		return nil, dataerr.New(path, "the extract has no rows below its header")
	}
	return r.ex, nil
}

// extractReader reads an extract row by row into persons.
type extractReader struct {
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
}

// checked is a row read and checked on its own (on any core): what it
// gives, what is wrong with it, and what it adds to the counts. The rows
// are then applied in order, which keeps what depends on the rows before
// (persons, codes counted, the first errors).
type checked struct {
	row  sheet.Row
	err  *dataerr.Error // the row's error: it is left out
	code string         // an unmapped event code, to count (the row is left out)
	ev   Event
	rp   RegisterPerson // read when neither err nor unmapped
	// noNumber, badNumber: the person has no number, or one that is not
	// valid (linked on names only).
	noNumber, badNumber bool
	unmapped            bool
}

// lastNumber is a worker's last valid number, its pseudonym and birth
// date: a person's next rows need no second HMAC.
type lastNumber struct {
	number, pseudonym string
	birth             Date
}

// columns finds the mapped columns (and the truth column of a sample).
func (r *extractReader) columns() error {
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

func (r *extractReader) cell(row sheet.Row, f string) string {
	if i := r.col[f]; i >= 0 {
		return row.Cells[i]
	}
	return ""
}

func (r *extractReader) at(row sheet.Row, f, format string, args ...any) {
	r.errs = append(r.errs, r.t.At(row.Num, r.col[f], format, args...))
}

// check reads and checks one row on its own: its event, then (when the
// event is one to keep) its person.
func (r *extractReader) check(row sheet.Row, last *lastNumber) checked {
	c := checked{row: row}
	if c.err = r.t.Uncomputed(row); c.err != nil {
		return c
	}
	if c.event(r); c.err != nil || c.unmapped {
		return c
	}
	c.person(r, last)
	return c
}

// apply adds a checked row to the extract, in the order of the rows: its
// error, its unmapped code counted, its person grouped with the person's
// other rows (or dropped when not a trial person).
func (r *extractReader) apply(c checked) {
	switch {
	case c.err != nil:
		r.errs = append(r.errs, c.err)
		return
	case c.unmapped:
		if r.ex.Unmapped == nil {
			r.ex.Unmapped = map[string]int{}
		}
		if _, seen := r.ex.Unmapped[c.code]; !seen && len(r.ex.Unmapped) >= maxUnmappedCodes {
			r.at(c.row, "event", "more than %d distinct unmapped event codes: is the event column (%s) the right one?", maxUnmappedCodes, r.reg.Columns["event"])
			return
		}
		r.ex.Unmapped[c.code]++
		return
	}
	if c.noNumber {
		r.ex.NoNumber++
	}
	if c.badNumber {
		r.ex.BadNumbers++
	}
	rp, row := c.rp, c.row
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
	p.Events = append(p.Events, c.ev)
	p.Rows = append(p.Rows, row.Num)
	if r.truth >= 0 && p.Truth == "" {
		p.Truth = trial.NormalizeCode(row.Cells[r.truth])
	}
}

// at is a data error at the row, in the column of a register field.
func (c *checked) at(r *extractReader, f, format string, args ...any) {
	c.err = r.t.At(c.row.Num, r.col[f], format, args...)
}

// event reads and checks the row's event: its code (mapped by the
// protocol), dates and amount.
func (c *checked) event(r *extractReader) {
	row := c.row
	c.ev = Event{Row: row.Num, Amount: math.NaN(), Category: r.cell(row, "category")}
	code := r.cell(row, "event")
	name, ok := r.reg.Events[code]
	switch {
	case ok:
	case code == "":
		c.at(r, "event", "missing event code")
		return
	case r.reg.Unmapped != "refuse":
		c.unmapped, c.code = true, clip(code)
		return
	default:
		c.at(r, "event", "event code %q is not mapped in the protocol's register %s (maps: %s; unmapped: refuse)", code, r.reg.ID, strings.Join(sortedKeys(r.reg.Events), ", "))
		return
	}
	ev := &c.ev
	ev.Event = name
	var err error
	if ev.Start, err = sheet.ParseDate(r.cell(row, "start"), r.t.Date1904); err != nil {
		c.at(r, "start", "%v", err)
		return
	}
	if s := r.cell(row, "end"); s != "" {
		if ev.End, err = sheet.ParseDate(s, r.t.Date1904); err != nil {
			c.at(r, "end", "%v", err)
			return
		}
		if ev.End.Before(ev.Start) {
			c.at(r, "end", "ends (%s) before it starts (%s)", sheet.FormatDate(ev.End), sheet.FormatDate(ev.Start))
			return
		}
	}
	if s := r.cell(row, "amount"); s != "" {
		v, err := sheet.ParseNumber(s)
		if err != nil {
			c.at(r, "amount", "%v", err)
			return
		}
		ev.Amount = v
	}
}

// person reads the row's person: names, birth date, postcode, and the
// national number pseudonymised on read (or the pseudonym given).
func (c *checked) person(r *extractReader, last *lastNumber) {
	row := c.row
	rp := RegisterPerson{FirstName: clip(r.cell(row, "first_name")), LastName: clip(r.cell(row, "last_name")), BirthText: clip(r.cell(row, "birth_date"))}
	rp.Last, rp.First = ident.NormalizeName(rp.LastName), ident.NormalizeName(rp.FirstName)
	rp.Postcode = clip(strings.ReplaceAll(r.cell(row, "postcode"), " ", ""))
	if rp.BirthText != "" {
		rp.Birth = parsePartialDate(rp.BirthText, r.t.Date1904)
	}
	s := r.cell(row, "national_number")
	switch {
	case s == "":
		c.noNumber = true
	case r.o.Pseudonymised:
		b, err := hex.DecodeString(strings.ToLower(s))
		if err != nil || len(b) != 32 {
			c.at(r, "national_number", "not a pseudonym (64 hexadecimal digits of HMAC-SHA256): is the extract really pseudonymised?")
			return
		}
		rp.Pseudonym = strings.ToLower(s)
	case s == last.number:
		// The same person's next row: no second HMAC.
		rp.Pseudonym = last.pseudonym
		if rp.Birth == (Date{}) {
			rp.Birth = last.birth
		}
	default:
		n, err := ident.ParseNumber(s)
		if err != nil {
			c.badNumber = true // counted and reported; linked on names only
			break
		}
		rp.Pseudonym = ident.Pseudonym(r.o.Key, n)
		*last = lastNumber{number: s, pseudonym: rp.Pseudonym}
		if d, ok := n.BirthDate(); ok {
			last.birth = Date{d.Year(), int(d.Month()), d.Day()}
		}
		if rp.Birth == (Date{}) {
			rp.Birth = last.birth
		}
	}
	c.rp = rp
}

// maxField is the most of a name, birth date or postcode of an extract
// that rct reads, compares and (under review) keeps: no real one is
// longer, and a longer one costs comparisons and storage for nothing.
const maxField = 100

// clip cuts a field to maxField characters.
func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	r := []rune(s)
	if len(r) <= maxField {
		return s
	}
	return string(r[:maxField])
}

// parsePartialDate reads a birth date whose day or month may be 00
// (unknown); an unreadable one is unknown altogether.
func parsePartialDate(s string, date1904 bool) Date {
	if d, err := sheet.ParseDate(s, date1904); err == nil {
		return Date{d.Year(), int(d.Month()), d.Day()}
	}
	var y, m, d int
	for _, layout := range []string{"%d-%d-%d", "%d/%d/%d", "%d.%d.%d"} {
		if n, _ := fmt.Sscanf(s, layout, &y, &m, &d); n == 3 {
			if y < 100 { // dd/mm/yyyy
				y, d = d, y
			}
			if y >= 1900 && m >= 0 && m <= 12 && d >= 0 && d <= 31 {
				return Date{y, m, d}
			}
		}
	}
	return Date{}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// extractBatch is rows read together, checked together, and applied in
// their turn.
type extractBatch struct {
	rows    []sheet.Row
	err     error // the reading's error after these rows
	checked chan []checked
}

// extractBatchRows is the rows of a batch.
const extractBatchRows = 4096

// read reads the extract's rows and applies them in order, stopping after
// 1000 errors: one goroutine reads the rows, in batches; every core
// checks batches (dates, numbers, the HMAC of a national number); the
// batches are applied here in the order they were read. Reading alone was
// a core for 19 s at the 100,000-family demo's 6.35 million rows.
func (r *extractReader) read(tick func()) error {
	stop := make(chan struct{})
	inOrder := make(chan *extractBatch, 2*runtime.GOMAXPROCS(0))
	work := make(chan *extractBatch, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		defer close(inOrder)
		defer close(work)
		for {
			b := &extractBatch{checked: make(chan []checked, 1)}
			for len(b.rows) < extractBatchRows {
				row, err := r.t.Next()
				if err != nil {
					if err != io.EOF {
						b.err = err
					}
					break
				}
				b.rows = append(b.rows, row)
			}
			end := b.err != nil || len(b.rows) < extractBatchRows
			select {
			case work <- b:
			case <-stop:
				return
			}
			select {
			case inOrder <- b:
			case <-stop:
				return
			}
			if end {
				return
			}
		}
	})
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for b := range work {
				var last lastNumber
				out := make([]checked, len(b.rows))
				for i, row := range b.rows {
					out[i] = r.check(row, &last)
				}
				b.checked <- out
			}
		})
	}
	for b := range inOrder {
		for _, c := range <-b.checked {
			if len(r.errs) >= 1000 {
				return nil
			}
			tick()
			r.ex.RowsRead++
			r.apply(c)
		}
		if b.err != nil {
			return b.err
		}
	}
	return nil
}
