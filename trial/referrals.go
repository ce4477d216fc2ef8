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
func ReadReferrals(path string, p *Protocol, today time.Time, opt sheet.Options) ([]*Referral, int, error) {
	if opt.Prefer == "" {
		opt.Prefer = "referrals"
	}
	t, err := sheet.Open(path, opt)
	if err != nil {
		return nil, 0, err
	}
	defer t.Close()

	var errs dataerr.List
	add := func(e *dataerr.Error) bool {
		errs = append(errs, e)
		return len(errs) < MaxProblems
	}
	// Columns: the fixed ones, the domains, the strata.
	want := append([]string(nil), referralColumns...)
	want = append(want, p.Eligibility.Domains...)
	for _, v := range p.Randomization.Strata {
		want = append(want, v.ID)
	}
	col := map[string]int{}
	for _, name := range want {
		col[name] = t.Col(name)
		optional := slices.Contains(optionalColumns, name) || (name == "consent" && !p.Eligibility.ConsentRequired)
		if col[name] < 0 && !optional {
			what := "column"
			if slices.Contains(p.Eligibility.Domains, name) {
				what = "domain column"
			} else if _, ok := p.Stratum(name); ok {
				what = "stratification column"
			}
			add(&dataerr.Error{File: path, Sheet: t.Sheet, Row: t.HeaderRow, Err: fmt.Errorf("missing required %s %q", what, name)})
		}
	}
	for i, h := range t.Header {
		if !slices.Contains(want, h) {
			add(t.At(t.HeaderRow, i, "unknown column %q (expected: %s)", h, strings.Join(want, ", ")))
		}
	}
	if len(errs) > 0 {
		return nil, 0, errs
	}

	byID := map[string]*Referral{}
	var order []*Referral
	first := map[string]map[string]string{} // referral id → column → normalised value given on an earlier row
	firstRow := map[string]map[string]int{}
	rowsRead := 0
	for len(errs) < MaxProblems {
		row, err := t.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			add(asDataErr(err, path))
			break
		}
		rowsRead++
		cell := func(name string) string {
			if i := col[name]; i >= 0 {
				return row.Cells[i]
			}
			return ""
		}
		at := func(name, format string, args ...any) { add(t.At(row.Num, col[name], format, args...)) }

		id := cell("referral_id")
		if id == "" {
			at("referral_id", "missing referral id")
			continue
		}
		ref, seen := byID[id]
		if !seen {
			ref = &Referral{ID: id, Row: row.Num, Weak: map[string]bool{}, Strata: map[string]string{}}
			byID[id] = ref
			order = append(order, ref)
			first[id] = map[string]string{}
			firstRow[id] = map[string]int{}
		}
		// Referral-level values: required on the first row, consistent after.
		level := func(name string, parse func(string) (string, error)) {
			v := cell(name)
			if v == "" {
				if !seen && col[name] >= 0 && (name != "consent" || p.Eligibility.ConsentRequired) {
					at(name, "missing %s (required on the first row of referral %s)", name, id)
				}
				return
			}
			norm, err := parse(v)
			if err != nil {
				at(name, "%v", err)
				return
			}
			if prev, ok := first[id][name]; ok {
				if prev != norm {
					at(name, "referral %s: %s %q differs from %q on row %d", id, name, v, prev, firstRow[id][name])
				}
				return
			}
			first[id][name] = norm
			firstRow[id][name] = row.Num
		}
		level("referral_date", func(s string) (string, error) {
			d, err := sheet.ParseDate(s, t.Date1904)
			if err != nil {
				return "", err
			}
			if d.After(today) {
				return "", fmt.Errorf("referral date %s is in the future", sheet.FormatDate(d))
			}
			if d.Year() < 1990 {
				return "", fmt.Errorf("referral date %s is implausibly early", sheet.FormatDate(d))
			}
			return sheet.FormatDate(d), nil
		})
		if col["consent"] >= 0 {
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

		// The person on this row.
		per := Person{Row: row.Num, FirstName: cell("first_name"), LastName: cell("last_name"), Postcode: cell("postcode")}
		role := cell("role")
		if r, ok := roleWords[strings.ToLower(role)]; ok {
			per.Role = r
		} else if role == "" {
			at("role", "missing role (mother, partner or child)")
		} else {
			at("role", "role %q is not mother, partner or child", role)
		}
		if per.FirstName == "" {
			at("first_name", "missing first name")
		}
		if per.LastName == "" {
			at("last_name", "missing last name")
		}
		if len(per.Postcode) > 10 {
			at("postcode", "postcode %q is longer than 10 characters", per.Postcode)
		}
		if s := cell("birth_date"); s != "" {
			d, err := sheet.ParseDate(s, t.Date1904)
			switch {
			case err != nil:
				at("birth_date", "%v", err)
			case d.After(today):
				at("birth_date", "birth date %s is in the future", sheet.FormatDate(d))
			case d.Year() < 1900:
				at("birth_date", "birth date %s is before 1900", sheet.FormatDate(d))
			default:
				per.BirthDate = d
			}
		}
		if s := cell("national_number"); s != "" {
			n, err := ident.ParseNumber(s)
			if err != nil {
				at("national_number", "national number: %v", err)
			} else {
				per.Number = &n
				if bd, ok := n.BirthDate(); ok && n.Kind == ident.RRN && !per.BirthDate.IsZero() && !bd.Equal(per.BirthDate) {
					at("national_number", "the national number encodes birth date %s but birth_date is %s", sheet.FormatDate(bd), sheet.FormatDate(per.BirthDate))
				}
			}
		}
		// Two rows for the same person in one referral.
		for _, q := range ref.Persons {
			same := per.Number != nil && q.Number != nil && *per.Number == *q.Number
			if !same && per.FirstName != "" && !per.BirthDate.IsZero() {
				same = per.NameKey() == q.NameKey() && per.BirthDate.Equal(q.BirthDate)
			}
			if same {
				add(&dataerr.Error{File: path, Sheet: t.Sheet, Row: row.Num, Err: fmt.Errorf("referral %s: this row is the same person as row %d", id, q.Row)})
			}
		}
		ref.Persons = append(ref.Persons, per)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool {
			if errs[i].Row != errs[j].Row {
				return errs[i].Row < errs[j].Row
			}
			return errs[i].Col < errs[j].Col
		})
		return nil, rowsRead, errs
	}
	if len(order) == 0 {
		return nil, 0, &dataerr.Error{File: path, Sheet: t.Sheet, Err: fmt.Errorf("no referrals below the header (row %d)", t.HeaderRow)}
	}
	for _, r := range order {
		f := first[r.ID]
		r.Date, _ = time.Parse("2006-01-02", f["referral_date"])
		if c, ok := f["consent"]; ok {
			b := c == "true"
			r.Consent = &b
		}
		for _, d := range p.Eligibility.Domains {
			r.Weak[d] = f[d] == "true"
		}
		for _, v := range p.Randomization.Strata {
			r.Strata[v.ID] = f[v.ID]
		}
	}
	return order, rowsRead, nil
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
