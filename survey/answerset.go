package survey

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// An answer set is what one import batch stored of one response: a row of
// survey_answer_sets, its answers a JSON array of [variable, version,
// value] sorted by variable, value null where --overwrite-blanks blanked
// it. The schema's view survey_values unpacks it with SQLite's json_each;
// the import and the hot readers use the two functions here.

// appendAnswerSet appends the JSON array of answers (in the order given)
// to dst.
func appendAnswerSet(dst []byte, answers []packedAnswer) []byte {
	dst = append(dst, '[')
	for i, a := range answers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		dst = appendJSONString(dst, a.variable)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(a.version), 10)
		dst = append(dst, ',')
		if a.blanked {
			dst = append(dst, "null"...)
		} else {
			dst = appendJSONString(dst, a.value)
		}
		dst = append(dst, ']')
	}
	return append(dst, ']')
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, every other byte as it is.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	plain := 0 // the bytes that need no escape: appended at once
	for plain < len(s) && !needsEscape[s[plain]] {
		plain++
	}
	dst = append(dst, s[:plain]...)
	for i := plain; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

const hexDigit = "0123456789abcdef"

// needsEscape marks the bytes appendJSONString escapes.
var needsEscape = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

var errAnswerSet = errors.New("not an answer set")

// decodeAnswerSet appends the answers of a set, of the response's period,
// to out. It reads any JSON text of that shape (the one SQLite's json
// functions write too: whitespace and every escape); the strings of
// answers without escapes share s's bytes.
func decodeAnswerSet(out []packedAnswer, s, period string) ([]packedAnswer, error) {
	d := jsonReader{s: s}
	if !d.byte('[') {
		return out, errAnswerSet
	}
	if d.byte(']') {
		return out, d.end()
	}
	for {
		a := packedAnswer{period: period}
		if !d.byte('[') {
			return out, errAnswerSet
		}
		var ok bool
		if a.variable, ok = d.str(); !ok || !d.byte(',') {
			return out, errAnswerSet
		}
		if a.version, ok = d.int(); !ok || !d.byte(',') {
			return out, errAnswerSet
		}
		if d.literal("null") {
			a.blanked = true
		} else if a.value, ok = d.str(); !ok {
			return out, errAnswerSet
		}
		if !d.byte(']') {
			return out, errAnswerSet
		}
		out = append(out, a)
		if d.byte(']') {
			return out, d.end()
		}
		if !d.byte(',') {
			return out, errAnswerSet
		}
	}
}

// jsonReader reads the tokens of an answer set.
type jsonReader struct {
	s string
	i int
}

func (d *jsonReader) space() {
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\t' || d.s[d.i] == '\n' || d.s[d.i] == '\r') {
		d.i++
	}
}

// byte reads c (after any whitespace) if it comes next.
func (d *jsonReader) byte(c byte) bool {
	d.space()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *jsonReader) literal(word string) bool {
	d.space()
	if strings.HasPrefix(d.s[d.i:], word) {
		d.i += len(word)
		return true
	}
	return false
}

func (d *jsonReader) end() error {
	d.space()
	if d.i != len(d.s) {
		return errAnswerSet
	}
	return nil
}

// int reads a version: digits, no sign, fraction or exponent.
func (d *jsonReader) int() (int, bool) {
	d.space()
	j := d.i
	for j < len(d.s) && d.s[j] >= '0' && d.s[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(d.s[d.i:j])
	if err != nil {
		return 0, false
	}
	d.i = j
	return n, true
}

// str reads a JSON string.
func (d *jsonReader) str() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.i
	for j := start; j < len(d.s); j++ {
		switch c := d.s[j]; {
		case c == '"':
			d.i = j + 1
			return d.s[start:j], true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// escaped reads the rest of a string that holds an escape.
func (d *jsonReader) escaped(start int) (string, bool) {
	var b []byte
	for j := start; j < len(d.s); {
		c := d.s[j]
		switch {
		case c == '"':
			d.i = j + 1
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			j++
			continue
		}
		if j+1 >= len(d.s) {
			return "", false
		}
		switch e := d.s[j+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(d.s, j+2)
			if !ok {
				return "", false
			}
			j += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(d.s, j+2); ok && strings.HasPrefix(d.s[j:], `\u`) {
					if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
						b = utf8.AppendRune(b, p)
						j += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			return "", false
		}
		j += 2
	}
	return "", false
}

// hex4 reads the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i:i+4], 16, 16)
	return rune(n), err == nil
}

// findAnswers returns the answers to variable in a set's text (one, or
// none), as decodeAnswerSet would find them, without reading the rest:
// the interview date of every response (a report's follow-up date, every
// wave's schedule) is one answer out of forty. In the JSON rct and SQLite
// write, `["name",` starts the element and nothing else, since a quote
// inside a string is escaped; a set written otherwise (whitespace, the
// name escaped, the variable twice) is decoded whole.
func findAnswers(raw []byte, variable string) ([]packedAnswer, error) {
	name := appendJSONString(nil, variable) // as written, quoted
	head := append(append([]byte{'['}, name...), ',')
	i := bytes.Index(raw, head)
	switch {
	case len(raw) == 0 || raw[0] != '[':
		return decodeAnswerSet(nil, string(raw), "") // not a set: the error
	case len(name) != len(variable)+2: // a name with escapes: writers differ
		return findDecoded(raw, variable)
	case i < 0 && !bytes.Contains(raw, name[1:len(name)-1]) && !bytes.Contains(raw, []byte(`\u`)):
		return nil, nil // (only a \u escape could spell the name otherwise)
	case i <= 0 || (i > 1 && raw[i-1] != ',') || bytes.Contains(raw[i+len(head):], head):
		return findDecoded(raw, variable)
	}
	end := elementEnd(raw[i:])
	if end < 0 {
		return findDecoded(raw, variable)
	}
	set, err := decodeAnswerSet(nil, "["+string(raw[i:i+end])+"]", "")
	if err != nil || len(set) != 1 {
		return findDecoded(raw, variable)
	}
	return set, nil
}

// findDecoded is findAnswers by decoding the whole set.
func findDecoded(raw []byte, variable string) ([]packedAnswer, error) {
	set, err := decodeAnswerSet(nil, string(raw), "")
	out := set[:0]
	for _, a := range set {
		if a.variable == variable {
			out = append(out, a)
		}
	}
	return out, err
}

// elementEnd is the length of the JSON array that b starts with (strings
// minded), or -1.
func elementEnd(b []byte) int {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[':
			depth++
		case c == ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}
