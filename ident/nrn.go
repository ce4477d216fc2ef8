package ident

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind tells a national register number from a BIS number.
type Kind int

const (
	// RRN is a number of the national register (rijksregisternummer).
	RRN Kind = iota
	// BIS is a number of the Crossroads Bank's BIS register, given to people
	// not (yet) in the national register; its month is increased by 20 (sex
	// unknown at attribution) or 40 (sex known).
	BIS
)

func (k Kind) String() string {
	if k == BIS {
		return "bis"
	}
	return "rrn"
}

// Number is a validated Belgian national register or BIS number.
type Number struct {
	digits  string // exactly 11 digits
	Kind    Kind
	Century int // 1900 or 2000: the century the check digits point to
}

// Errors returned by ParseNumber; wrapped with the offending text.
var (
	ErrLength      = errors.New("a national number has 11 digits")
	ErrNotDigit    = errors.New("a national number has only digits (and optional . - / or space separators)")
	ErrCheckDigits = errors.New("check digits do not match")
	ErrEmpty       = errors.New("empty national number")
	ErrMonth       = errors.New("month is neither a month (00-12) nor a BIS month (+20, +40)")
)

// ParseNumber validates a Belgian national register (RRN) or BIS number.
//
// Separators ". - / space" are ignored ("85.07.30-033.28" = "85073003328").
// The last two digits are check digits: 97 − (first nine digits mod 97) for
// people born before 2000, and 97 − ("2" followed by the first nine digits
// mod 97) for people born in 2000 or later. Both are tried; the one that
// matches fixes the century. A month increased by 20 or 40 marks a BIS
// number. A check value of 0 is written as 97, so the computed value is never
// 00.
func ParseNumber(s string) (Number, error) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '.' || r == '-' || r == '/' || r == ' ':
		default:
			return Number{}, fmt.Errorf("%q: %w", s, ErrNotDigit)
		}
	}
	d := b.String()
	if d == "" {
		return Number{}, ErrEmpty
	}
	if len(d) != 11 {
		if len(d) == 10 {
			return Number{}, fmt.Errorf("%q has 10 digits (a leading zero lost? store the column as text): %w", s, ErrLength)
		}
		return Number{}, fmt.Errorf("%q has %d digits: %w", s, len(d), ErrLength)
	}
	nine, _ := strconv.ParseInt(d[:9], 10, 64)
	check, _ := strconv.ParseInt(d[9:], 10, 64)
	n := Number{digits: d}
	switch {
	case 97-nine%97 == check:
		n.Century = 1900
	case 97-(2_000_000_000+nine)%97 == check:
		n.Century = 2000
	default:
		return Number{}, fmt.Errorf("%q: %w", s, ErrCheckDigits)
	}
	month, _ := strconv.Atoi(d[2:4])
	if month > 12 {
		n.Kind = BIS
	}
	if m := month % 20; month > 52 || m > 12 {
		return Number{}, fmt.Errorf("%q: month %02d: %w", s, month, ErrMonth)
	}
	return n, nil
}

// String returns the 11 digits without separators.
func (n Number) String() string { return n.digits }

// Formatted returns the number as written on Belgian identity cards:
// YY.MM.DD-SSS.CC.
func (n Number) Formatted() string {
	d := n.digits
	return d[0:2] + "." + d[2:4] + "." + d[4:6] + "-" + d[6:9] + "." + d[9:11]
}

// BirthDate returns the date of birth the number encodes, and false when it
// encodes none (day or month 00, or a BIS number whose month was shifted:
// the shift is removed first).
func (n Number) BirthDate() (time.Time, bool) {
	y, _ := strconv.Atoi(n.digits[0:2])
	m, _ := strconv.Atoi(n.digits[2:4])
	d, _ := strconv.Atoi(n.digits[4:6])
	m %= 20
	if m == 0 || d == 0 {
		return time.Time{}, false
	}
	t := time.Date(n.Century+y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || int(t.Month()) != m {
		return time.Time{}, false
	}
	return t, true
}

// KeySize is the length in bytes of a pseudonymisation key.
const KeySize = 32

// Pseudonym is HMAC-SHA256(key, the 11 digits of n), hex encoded: the only
// form in which rct stores or compares national numbers. Without the key a
// pseudonym cannot be reversed by enumerating the ~36 million valid numbers
// of a century, which an unkeyed hash would allow.
func Pseudonym(key []byte, n Number) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(n.digits))
	return hex.EncodeToString(mac.Sum(nil))
}
