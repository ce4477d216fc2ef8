package linkage

import (
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rct-trials/rct/ident"
	"github.com/rct-trials/rct/internal/dataerr"
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
}

// ReadExtract streams a register extract (CSV or XLSX) through the
// protocol's column mapping: every row is checked (event codes the
// protocol maps, dates, amounts) and grouped into persons. National numbers
// are pseudonymised on read and never kept. Any error rejects the extract.
func ReadExtract(path string, reg trial.Register, o ReadOptions) (*Extract, error) {
	t, err := sheet.Open(path, sheet.Options{Sheet: o.Sheet})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	col := map[string]int{}
	var errs dataerr.List
	for _, f := range trial.RegisterFields {
		col[f] = -1
		if h, ok := reg.Columns[f]; ok {
			col[f] = t.Col(sheet.NormalizeHeader(h))
			if col[f] < 0 {
				errs = append(errs, &dataerr.Error{File: path, Sheet: t.Sheet, Row: t.HeaderRow,
					Err: fmt.Errorf("missing column %q (the protocol maps %s of register %s to it); this may be an extract of another register", h, f, reg.ID)})
			}
		}
	}
	if col["national_number"] < 0 && (col["last_name"] < 0 || col["birth_date"] < 0) {
		errs = append(errs, &dataerr.Error{File: path, Sheet: t.Sheet, Row: t.HeaderRow, Err: fmt.Errorf("an extract needs national numbers, or last names and birth dates, to link")})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	truth := -1
	if o.Truth != "" {
		if truth = t.Col(sheet.NormalizeHeader(o.Truth)); truth < 0 {
			return nil, &dataerr.Error{File: path, Sheet: t.Sheet, Row: t.HeaderRow, Err: fmt.Errorf("no column %q with the true study codes", o.Truth)}
		}
	}
	ex := &Extract{File: path, Register: reg.ID}
	byKey := map[string]*RegisterPerson{}
	skipped := map[uint64]struct{}{}
	var lastNumber, lastPseudonym string // the last valid number read, and its pseudonym
	var lastNumberBirth Date
	for len(errs) < 1000 {
		row, err := t.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		ex.RowsRead++
		cell := func(f string) string {
			if i := col[f]; i >= 0 {
				return row.Cells[i]
			}
			return ""
		}
		at := func(f, format string, args ...any) {
			errs = append(errs, t.At(row.Num, col[f], format, args...))
		}
		ev := Event{Row: row.Num, Amount: math.NaN(), Category: cell("category")}
		code := cell("event")
		name, ok := reg.Events[code]
		if !ok {
			if code == "" {
				at("event", "missing event code")
			} else {
				at("event", "event code %q is not mapped in the protocol's register %s (maps: %s)", code, reg.ID, strings.Join(sortedKeys(reg.Events), ", "))
			}
			continue
		}
		ev.Event = name
		if ev.Start, err = sheet.ParseDate(cell("start"), t.Date1904); err != nil {
			at("start", "%v", err)
			continue
		}
		if s := cell("end"); s != "" {
			if ev.End, err = sheet.ParseDate(s, t.Date1904); err != nil {
				at("end", "%v", err)
				continue
			}
			if ev.End.Before(ev.Start) {
				at("end", "ends (%s) before it starts (%s)", sheet.FormatDate(ev.End), sheet.FormatDate(ev.Start))
				continue
			}
		}
		if s := cell("amount"); s != "" {
			v, err := sheet.ParseNumber(s)
			if err != nil {
				at("amount", "%v", err)
				continue
			}
			ev.Amount = v
		}
		rp := RegisterPerson{FirstName: cell("first_name"), LastName: cell("last_name"), BirthText: cell("birth_date")}
		rp.Last, rp.First = ident.NormalizeName(rp.LastName), ident.NormalizeName(rp.FirstName)
		rp.Postcode = strings.ReplaceAll(cell("postcode"), " ", "")
		if rp.BirthText != "" {
			rp.Birth = parsePartialDate(rp.BirthText, t.Date1904)
		}
		if s := cell("national_number"); s == "" {
			ex.NoNumber++
		} else if o.Pseudonymised {
			b, err := hex.DecodeString(strings.ToLower(s))
			if err != nil || len(b) != 32 {
				at("national_number", "not a pseudonym (64 hexadecimal digits of HMAC-SHA256): is the extract really pseudonymised?")
				continue
			}
			rp.Pseudonym = strings.ToLower(s)
		} else if s == lastNumber {
			// The same person's next row: no second HMAC.
			rp.Pseudonym = lastPseudonym
			if rp.Birth == (Date{}) {
				rp.Birth = lastNumberBirth
			}
		} else if n, err := ident.ParseNumber(s); err == nil {
			rp.Pseudonym = ident.Pseudonym(o.Key, n)
			lastNumber, lastPseudonym, lastNumberBirth = s, rp.Pseudonym, Date{}
			if d, ok := n.BirthDate(); ok {
				lastNumberBirth = Date{d.Year(), int(d.Month()), d.Day()}
			}
			if rp.Birth == (Date{}) {
				rp.Birth = lastNumberBirth
			}
		} else {
			ex.BadNumbers++ // counted and reported; linked on names only
		}
		if rp.Pseudonym != "" && o.Keep != nil && !o.Keep(rp.Pseudonym) {
			id, _ := strconv.ParseUint(rp.Pseudonym[:16], 16, 64)
			if _, seen := skipped[id]; !seen {
				skipped[id] = struct{}{}
				ex.Skipped++
			}
			continue
		}
		key := rp.Pseudonym
		if key == "" {
			key = "id:" + rp.Last + "|" + rp.First + "|" + rp.Birth.digits()
		}
		p, ok := byKey[key]
		if !ok {
			p = &rp
			byKey[key] = p
			ex.Persons = append(ex.Persons, p)
		}
		p.Events = append(p.Events, ev)
		p.Rows = append(p.Rows, row.Num)
		if truth >= 0 && p.Truth == "" {
			p.Truth = strings.ToUpper(sheet.Clean(row.Cells[truth]))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if ex.RowsRead == 0 {
		return nil, dataerr.New(path, "the extract has no rows below its header")
	}
	return ex, nil
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
