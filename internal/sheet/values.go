package sheet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/lazyre"
)

// Date formats accepted in text cells. Day comes before month, as written
// in Belgium; a year always has four digits.
var dateForms = []struct {
	re     func() *regexp.Regexp
	layout string
}{
	{lazyre.New(`^\d{4}-\d{1,2}-\d{1,2}$`), "2006-1-2"},
	{lazyre.New(`^\d{4}-\d{1,2}-\d{1,2}[T ]00:00(:00)?$`), ""}, // midnight timestamps from other tools
	{lazyre.New(`^\d{1,2}/\d{1,2}/\d{4}$`), "2/1/2006"},
	{lazyre.New(`^\d{1,2}-\d{1,2}-\d{4}$`), "2-1-2006"},
	{lazyre.New(`^\d{1,2}\.\d{1,2}\.\d{4}$`), "2.1.2006"},
}

var serialForm = lazyre.New(`^\d{1,6}(\.0+)?$`)

// ErrDateFormat is returned for text that is not a date in an accepted form.
var ErrDateFormat = errors.New("not a date: write dates as dd/mm/yyyy or yyyy-mm-dd")

// ParseDate reads a calendar date from a cell: an Excel serial number (as a
// date cell gives, counted from 1899-12-30, or 1904-01-01 when date1904),
// or text as yyyy-mm-dd, dd/mm/yyyy, dd-mm-yyyy or dd.mm.yyyy. Dates that do
// not exist (31/02/2020) are refused, not rolled over. The result is
// midnight UTC of that date.
func ParseDate(s string, date1904 bool) (time.Time, error) {
	s = Clean(s)
	if t, ok := commonDate(s); ok {
		return t, nil
	}
	return parseDate(s, date1904)
}

// commonDate reads the two forms registers and workbooks write most,
// dd/mm/yyyy and yyyy-mm-dd, without a regular expression (a register
// extract has millions of dates). It takes only a date that exists; all
// else goes to parseDate, which gives the same result or the error.
func commonDate(s string) (time.Time, bool) {
	var y, m, d int
	switch {
	case len(s) >= 8 && len(s) <= 10 && s[len(s)-5] == '/':
		// d/m/yyyy to dd/mm/yyyy
		day, rest, ok := digits(s, 1, 2, '/')
		if !ok {
			return time.Time{}, false
		}
		month, rest, ok := digits(rest, 1, 2, '/')
		if !ok || len(rest) != 4 {
			return time.Time{}, false
		}
		year, _, ok := digits(rest, 4, 4, 0)
		if !ok {
			return time.Time{}, false
		}
		y, m, d = year, month, day
	case len(s) >= 8 && len(s) <= 10 && s[4] == '-':
		year, rest, ok := digits(s, 4, 4, '-')
		if !ok {
			return time.Time{}, false
		}
		month, rest, ok := digits(rest, 1, 2, '-')
		if !ok {
			return time.Time{}, false
		}
		day, rest, ok := digits(rest, 1, 2, 0)
		if !ok || rest != "" {
			return time.Time{}, false
		}
		y, m, d = year, month, day
	default:
		return time.Time{}, false
	}
	if y < 1 || m < 1 || m > 12 || d < 1 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 31/02 rolls over: not a day
		return time.Time{}, false
	}
	return t, true
}

// digits reads least to most ASCII digits from the start of s, then the byte
// end (none when end is 0), and returns their value and what follows.
func digits(s string, least, most int, end byte) (int, string, bool) {
	n, v := 0, 0
	for n < len(s) && n < most && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	if n < least {
		return 0, s, false
	}
	if end == 0 {
		return v, s[n:], true
	}
	if n >= len(s) || s[n] != end {
		return 0, s, false
	}
	return v, s[n+1:], true
}

// parseDate is ParseDate through the accepted forms' expressions.
func parseDate(s string, date1904 bool) (time.Time, error) {
	if serialForm().MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		n := int(math.Floor(f))
		if n < 1 || n > 2958465 { // 9999-12-31
			return time.Time{}, fmt.Errorf("%q: %w", s, ErrDateFormat)
		}
		base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
		if date1904 {
			base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
		} else if n < 61 {
			// Excel counts a 29 February 1900 that never was; serials
			// before it are one day later than the plain count.
			base = base.AddDate(0, 0, 1)
			if n == 60 {
				return time.Time{}, fmt.Errorf("%q is Excel's 29/02/1900, a day that does not exist", s)
			}
		}
		return base.AddDate(0, 0, n), nil
	}
	for _, f := range dateForms {
		if !f.re().MatchString(s) {
			continue
		}
		text, layout := s, f.layout
		if layout == "" {
			text, layout = s[:strings.IndexAny(s, "T ")], "2006-1-2"
		}
		t, err := time.Parse(layout, text)
		if err != nil {
			return time.Time{}, fmt.Errorf("impossible date %q (no such day)", s)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: %w", s, ErrDateFormat)
}

// FormatDate writes a date as yyyy-mm-dd, the form stored in the database.
func FormatDate(t time.Time) string { return t.Format("2006-01-02") }

// ParseBool reads yes/no answers as spreadsheet users write them:
// 1/0, yes/no, y/n, ja/nee, j/n, true/false, waar/onwaar (any case).
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(Clean(s)) {
	case "1", "yes", "y", "ja", "j", "true", "waar", "1.0":
		return true, nil
	case "0", "no", "n", "nee", "false", "onwaar", "0.0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a yes/no value (use 1 or 0, yes or no, ja or nee)", s)
}

// ParseNumber reads a number as spreadsheet users write it in a text cell:
// 1234.56, 1234,56 (decimal comma), 1.234,56 (Belgian thousands), with an
// optional € sign and spaces between thousands.
func ParseNumber(s string) (float64, error) {
	if plainNumber(s) {
		if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(v, 0) {
			return v, nil
		}
	}
	t := strings.TrimSpace(strings.TrimPrefix(Clean(s), "€"))
	t = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "").Replace(t)
	if strings.Contains(t, ",") {
		t = strings.ReplaceAll(t, ".", "")
		t = strings.ReplaceAll(t, ",", ".")
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || strings.ContainsAny(t, "xXpP_") {
		return 0, fmt.Errorf("%q is not a number", Clean(s))
	}
	return v, nil
}

// Defuse makes text safe to write into a CSV file that a spreadsheet
// program will open: text starting with =, +, -, @, a tab or a carriage
// return would be read as a formula, so it gets a leading apostrophe
// (OWASP's advice against CSV injection). A plain number (-99, +3.5) is
// left as it is: it is no formula.
func Defuse(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if plainNumber(s) {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
	}
	return "'" + s
}

// plainNumber reports whether s is digits with at most a sign, a point and
// an exponent: the form numeric cells take, read without rewriting.
func plainNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

// FileSHA256 is the SHA-256 of a file the user brought, in hex: import
// batches record it, and re-imports are recognised by it.
func FileSHA256(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", dataerr.File(path, err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", dataerr.New(path, "%v", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
