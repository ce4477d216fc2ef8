package ident

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// NormalizeName folds a person's name for comparison: Unicode NFD with the
// combining marks removed ("Hélène" → "helene"), lower case, and every
// character that is not a letter or digit dropped, so that spacing and
// hyphens of particles do not matter ("Van den Broucke" = "Vandenbroucke",
// "Jean-Marie" = "Jean Marie").
func NormalizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}
