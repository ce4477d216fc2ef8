package trial

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rct-trials/rct/ident"
	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/internal/sheet"
)

// The fixed columns of a referral file, one row per person. Referral-level
// columns (referral_date, consent, the domain flags and the stratification
// variables) are given on the first row of a referral; on its other rows
// they are blank or repeat the same value.
var referralColumns = []string{"referral_id", "referral_date", "role", "national_number", "first_name", "last_name", "birth_date", "postcode", "consent"}

var optionalColumns = []string{"national_number", "birth_date", "postcode"}

// Roles of household members, with the words accepted for them.
var roleWords = map[string]string{
	"mother": "mother", "moeder": "mother", "mère": "mother", "mere": "mother",
	"partner": "partner", "father": "partner", "vader": "partner", "père": "partner", "pere": "partner",
	"child": "child", "kind": "child", "baby": "child", "enfant": "child",
}

// Referral is one family referred by Kind en Gezin, as read from a file.
type Referral struct {
	ID      string
	Date    time.Time
	Consent *bool // nil when the protocol does not ask for consent and the file gives none
	Weak    map[string]bool
	Strata  map[string]string
	Persons []Person
	Row     int // first row of the referral
}

// WeakCount is the number of domains on which the family is weak.
func (r *Referral) WeakCount() int {
	n := 0
	for _, w := range r.Weak {
		if w {
			n++
		}
	}
	return n
}

// Person is a household member of a referral.
type Person struct {
	Role      string // mother, partner or child
	Number    *ident.Number
	FirstName string
	LastName  string
	BirthDate time.Time // zero when unknown
	Postcode  string
	Row       int
}

// NameKey is the person's normalised last and first name.
func (p *Person) NameKey() string {
	return ident.NormalizeName(p.LastName) + "|" + ident.NormalizeName(p.FirstName)
}

// MaxProblems is how many problems a read collects before it stops.
const MaxProblems = 1000

// ReadReferrals reads and checks a referral file (XLSX or CSV) against the
// protocol. today is the current calendar date: referral and birth dates
// after it are errors. Every problem is returned at once, up to MaxProblems;
// when there is any, no referral is returned.
func ReadReferrals(path string, p *Protocol, today time.Time, opt sheet.Options, progress progress.Func) ([]*Referral, int, error) {
	if opt.Prefer == "" {
		opt.Prefer = "referrals"
	}
	t, err := sheet.Open(path, opt)
	if err != nil {
		return nil, 0, err
	}
	defer t.Close()
	r := &referralReader{path: path, p: p, today: today, t: t, col: map[string]int{}, byID: map[string]*Referral{},
		first: map[string]map[string]string{}, firstRow: map[string]map[string]int{}}
	if r.header(); len(r.errs) > 0 {
		return nil, 0, r.errs
	}
	tick, done := progress.Start("referral list, rows read", 0)
	r.readRows(tick)
	done()
	if len(r.errs) > 0 {
		sort.SliceStable(r.errs, func(i, j int) bool {
			if r.errs[i].Row != r.errs[j].Row {
				return r.errs[i].Row < r.errs[j].Row
			}
			return r.errs[i].Col < r.errs[j].Col
		})
		return nil, r.rows, r.errs
	}
	if len(r.order) == 0 {
		return nil, 0, &dataerr.Error{File: path, Sheet: t.Sheet, Err: fmt.Errorf("no referrals below the header (row %d)", t.HeaderRow)}
	}
	r.finish()
	return r.order, r.rows, nil
}

// referralReader reads a referral file row by row, collecting problems.
type referralReader struct {
	path  string
	p     *Protocol
	today time.Time
	t     *sheet.Table
	col   map[string]int // column → index in the file (-1: absent)
	errs  dataerr.List
	byID  map[string]*Referral
	order []*Referral
	// first holds, per referral id, the referral-level values (normalised)
	// given on an earlier row, and firstRow the row that gave each.
	first    map[string]map[string]string
	firstRow map[string]map[string]int
	rows     int
}

// add records a problem; false once there are MaxProblems.
func (r *referralReader) add(e *dataerr.Error) bool {
	r.errs = append(r.errs, e)
	return len(r.errs) < MaxProblems
}

// ReferralColumns are the columns of a referral file for the protocol: the
// fixed ones, the eligibility domains, the stratification variables.
func (p *Protocol) ReferralColumns() []string {
	want := append([]string(nil), referralColumns...)
	want = append(want, p.Eligibility.Domains...)
	for _, v := range p.Randomization.Strata {
		want = append(want, v.ID)
	}
	return want
}

// referralOptional says whether a referral column may be absent.
func (p *Protocol) referralOptional(name string) bool {
	return slices.Contains(optionalColumns, name) || (name == "consent" && !p.Eligibility.ConsentRequired)
}

// header checks the columns: the fixed ones, the domains, the strata.
func (r *referralReader) header() {
	p, t := r.p, r.t
	want := p.ReferralColumns()
	for _, name := range want {
		r.col[name] = t.Col(name)
		if r.col[name] < 0 && !p.referralOptional(name) {
			what := "column"
			if slices.Contains(p.Eligibility.Domains, name) {
				what = "domain column"
			} else if _, ok := p.Stratum(name); ok {
				what = "stratification column"
			}
			r.add(&dataerr.Error{File: r.path, Sheet: t.Sheet, Row: t.HeaderRow, Err: fmt.Errorf("missing required %s %q", what, name)})
		}
	}
	for i, h := range t.Header {
		if !slices.Contains(want, h) {
			r.add(t.At(t.HeaderRow, i, "unknown column %q (expected: %s)", h, strings.Join(want, ", ")))
		}
	}
}

// readRows reads every row: a person, and the values of its referral.
func (r *referralReader) readRows(tick func()) {
	for len(r.errs) < MaxProblems {
		row, err := r.t.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			r.add(asDataErr(err, r.path))
			return
		}
		tick()
		r.rows++
		if e := r.t.Uncomputed(row); e != nil {
			r.add(e)
			continue
		}
		r.readRow(row)
	}
}

// cell is the value of a column on a row ("" when the column is absent).
func (r *referralReader) cell(row sheet.Row, name string) string {
	if i := r.col[name]; i >= 0 {
		return row.Cells[i]
	}
	return ""
}

// at records a problem in a column of a row.
func (r *referralReader) at(row sheet.Row, name, format string, args ...any) {
	r.add(r.t.At(row.Num, r.col[name], format, args...))
}

func (r *referralReader) readRow(row sheet.Row) {
	id := r.cell(row, "referral_id")
	if id == "" {
		r.at(row, "referral_id", "missing referral id")
		return
	}
	ref, seen := r.byID[id]
	if !seen {
		ref = &Referral{ID: id, Row: row.Num, Weak: map[string]bool{}, Strata: map[string]string{}}
		r.byID[id] = ref
		r.order = append(r.order, ref)
		r.first[id] = map[string]string{}
		r.firstRow[id] = map[string]int{}
	}
	r.referralValues(row, id, seen)
	per := r.person(row)
	// Two rows for the same person in one referral.
	for _, q := range ref.Persons {
		same := per.Number != nil && q.Number != nil && *per.Number == *q.Number
		if !same && per.FirstName != "" && !per.BirthDate.IsZero() {
			same = per.NameKey() == q.NameKey() && per.BirthDate.Equal(q.BirthDate)
		}
		if same {
			r.add(&dataerr.Error{File: r.path, Sheet: r.t.Sheet, Row: row.Num, Err: fmt.Errorf("referral %s: this row is the same person as row %d", id, q.Row)})
		}
	}
	ref.Persons = append(ref.Persons, per)
}

// referralValues reads the referral-level values of a row: required on a
// referral's first row, the same on later rows when given.
func (r *referralReader) referralValues(row sheet.Row, id string, seen bool) {
	p := r.p
	level := func(name string, parse func(string) (string, error)) {
		v := r.cell(row, name)
		if v == "" {
			if !seen && r.col[name] >= 0 && (name != "consent" || p.Eligibility.ConsentRequired) {
				r.at(row, name, "missing %s (required on the first row of referral %s)", name, id)
			}
			return
		}
		norm, err := parse(v)
		if err != nil {
			r.at(row, name, "%v", err)
			return
		}
		if prev, ok := r.first[id][name]; ok {
			if prev != norm {
				r.at(row, name, "referral %s: %s %q differs from %q on row %d", id, name, v, prev, r.firstRow[id][name])
			}
			return
		}
		r.first[id][name] = norm
		r.firstRow[id][name] = row.Num
	}
	level("referral_date", func(s string) (string, error) {
		d, err := sheet.ParseDate(s, r.t.Date1904)
		if err != nil {
			return "", err
		}
		if d.After(r.today) {
			return "", fmt.Errorf("referral date %s is in the future", sheet.FormatDate(d))
		}
		if d.Year() < 1990 {
			return "", fmt.Errorf("referral date %s is implausibly early", sheet.FormatDate(d))
		}
		return sheet.FormatDate(d), nil
	})
	if r.col["consent"] >= 0 {
		level("consent", func(s string) (string, error) {
			b, err := sheet.ParseBool(s)
			if err != nil {
				return "", fmt.Errorf("consent: %v", err)
			}
			return fmt.Sprint(b), nil
		})
	}
	for _, d := range p.Eligibility.Domains {
		level(d, func(s string) (string, error) {
			b, err := sheet.ParseBool(s)
			if err != nil {
				return "", fmt.Errorf("domain flag %s: %q is not an allowed value (1 = weak, 0 = not weak; also yes/no, ja/nee)", d, s)
			}
			return fmt.Sprint(b), nil
		})
	}
	for _, v := range p.Randomization.Strata {
		level(v.ID, func(s string) (string, error) {
			for _, x := range v.Values {
				if strings.EqualFold(strings.TrimSpace(x), s) {
					return x, nil
				}
			}
			return "", fmt.Errorf("%s: %q is not one of %s", v.ID, s, strings.Join(v.Values, ", "))
		})
	}
}

// person reads and checks the household member on a row.
func (r *referralReader) person(row sheet.Row) Person {
	per := Person{Row: row.Num, FirstName: r.cell(row, "first_name"), LastName: r.cell(row, "last_name"), Postcode: r.cell(row, "postcode")}
	role := r.cell(row, "role")
	if w, ok := roleWords[strings.ToLower(role)]; ok {
		per.Role = w
	} else if role == "" {
		r.at(row, "role", "missing role (mother, partner or child)")
	} else {
		r.at(row, "role", "role %q is not mother, partner or child", role)
	}
	if per.FirstName == "" {
		r.at(row, "first_name", "missing first name")
	}
	if per.LastName == "" {
		r.at(row, "last_name", "missing last name")
	}
	if len(per.Postcode) > 10 {
		r.at(row, "postcode", "postcode %q is longer than 10 characters", per.Postcode)
	}
	if s := r.cell(row, "birth_date"); s != "" {
		d, err := sheet.ParseDate(s, r.t.Date1904)
		switch {
		case err != nil:
			r.at(row, "birth_date", "%v", err)
		case d.After(r.today):
			r.at(row, "birth_date", "birth date %s is in the future", sheet.FormatDate(d))
		case d.Year() < 1900:
			r.at(row, "birth_date", "birth date %s is before 1900", sheet.FormatDate(d))
		default:
			per.BirthDate = d
		}
	}
	if s := r.cell(row, "national_number"); s != "" {
		n, err := ident.ParseNumber(s)
		if err != nil {
			r.at(row, "national_number", "national number: %v", err)
		} else {
			per.Number = &n
			if bd, ok := n.BirthDate(); ok && n.Kind == ident.RRN && !per.BirthDate.IsZero() && !bd.Equal(per.BirthDate) {
				r.at(row, "national_number", "the national number encodes birth date %s but birth_date is %s", sheet.FormatDate(bd), sheet.FormatDate(per.BirthDate))
			}
		}
	}
	return per
}

// finish sets each referral's values from its first rows.
func (r *referralReader) finish() {
	for _, ref := range r.order {
		f := r.first[ref.ID]
		ref.Date, _ = time.Parse("2006-01-02", f["referral_date"])
		if c, ok := f["consent"]; ok {
			b := c == "true"
			ref.Consent = &b
		}
		for _, d := range r.p.Eligibility.Domains {
			ref.Weak[d] = f[d] == "true"
		}
		for _, v := range r.p.Randomization.Strata {
			ref.Strata[v.ID] = f[v.ID]
		}
	}
}

func asDataErr(err error, path string) *dataerr.Error {
	if e, ok := err.(*dataerr.Error); ok {
		return e
	}
	return &dataerr.Error{File: path, Err: err}
}

// Fingerprint is HMAC-SHA256(key, the referral's normalised values in a
// fixed order): the same referral read again, from any file format, gives
// the same fingerprint, and without the key it reveals nothing (an unkeyed
// hash over a national number could be searched).
func (r *Referral) Fingerprint(p *Protocol, key []byte) string {
	h := hmac.New(sha256.New, key)
	w := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	w(r.ID)
	w(sheet.FormatDate(r.Date))
	if r.Consent != nil {
		w(fmt.Sprint(*r.Consent))
	} else {
		w("")
	}
	for _, d := range p.Eligibility.Domains {
		w(d + "=" + fmt.Sprint(r.Weak[d]))
	}
	for _, v := range p.Randomization.Strata {
		w(v.ID + "=" + r.Strata[v.ID])
	}
	for _, q := range r.Persons {
		num := ""
		if q.Number != nil {
			num = q.Number.String()
		}
		bd := ""
		if !q.BirthDate.IsZero() {
			bd = sheet.FormatDate(q.BirthDate)
		}
		for _, s := range []string{q.Role, num, q.FirstName, q.LastName, bd, q.Postcode} {
			w(s)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
