package survey

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rct-trials/rct/internal/sheet"
)

// Severities of an import issue.
const (
	SevError   = "error"
	SevWarning = "warning"
)

// Rules an import checks; each issue names one.
const (
	RuleType         = "type"           // not a value of the variable's type
	RuleChoice       = "choice"         // a code not in the list
	RuleHardRange    = "hard_range"     // outside the hard range
	RuleSoftRange    = "soft_range"     // outside the soft range (warning)
	RuleFutureDate   = "future_date"    // a date after the day of import
	RuleRequired     = "required"       // no answer although the question is relevant
	RuleRelevance    = "relevance"      // an answer although the question is not relevant (warning)
	RuleConstraint   = "constraint"     // the variable's constraint fails
	RuleFormula      = "formula"        // a formula instead of a value
	RuleUnknownCode  = "unknown_family" // a study code the trial does not have
	RuleNotDue       = "not_due"        // the family is not (yet) due for the wave
	RuleDuplicate    = "duplicate"      // the same family twice, in one file or two
	RuleMeta         = "template"       // the template's _meta is of another wave, codebook or trial
	RuleSheet        = "sheet"          // the wave's sheet is missing
	RuleColumn       = "column"         // an unknown, missing or misplaced column
	RuleOutOfWindow  = "out_of_window"  // interviewed outside the wave's window (warning)
	RuleWithdrawn    = "withdrawn"      // the family withdrew from the trial
	RuleNotCaseload  = "not_caseload"   // caselog: the family is not in the case managers' arm
	RuleNotAssigned  = "not_assigned"   // rct serve: the family is not assigned to the interviewer
	RuleMonth        = "month"          // caselog: a month that is not valid for the family
	RuleFileRejected = "file"           // the file cannot be read
)

// problem is a check that failed on one cell.
type problem struct {
	rule, severity, msg string
}

// parseCell turns the text of a cell into the canonical text stored for v:
// integers and decimals as Go writes them, dates yyyy-mm-dd, select_one its
// code, select_multiple its codes in list order separated by spaces, text
// as given (trimmed). Declared missing codes pass for every type but date.
// today bounds dates (no future).
func (cb *Codebook) parseCell(v *Variable, s string, date1904 bool, today time.Time) (string, []problem) {
	s = sheet.Clean(s)
	if v.Kind != Date && v.Kind != TextType {
		if code, ok := cb.IsMissing(s); ok {
			return code, nil
		}
	}
	errf := func(rule, format string, args ...any) (string, []problem) {
		return "", []problem{{rule, SevError, fmt.Sprintf(format, args...)}}
	}
	switch v.Kind {
	case TextType:
		return s, nil
	case Integer, Decimal:
		f, err := sheet.ParseNumber(s)
		if err != nil {
			return errf(RuleType, "%q is not a number", s)
		}
		var out string
		if v.Kind == Integer {
			// Spreadsheet programs write 3 as 3 or 2.9999999999999996.
			r := math.Round(f)
			if math.Abs(f-r) > 1e-9 || math.Abs(r) > 1<<53 {
				if strings.Count(s, ".") == 1 && len(s)-strings.Index(s, ".") == 4 {
					return errf(RuleType, "%q is not a whole number (if it means %s, write it without the thousands separator)", s, strings.Replace(s, ".", "", 1))
				}
				return errf(RuleType, "%q is not a whole number", s)
			}
			f = r
			out = strconv.FormatInt(int64(r), 10)
		} else {
			out = strconv.FormatFloat(f, 'f', -1, 64)
		}
		return out, v.rangeProblems(f, out)
	case Date:
		t, err := sheet.ParseDate(s, date1904)
		if err != nil {
			return errf(RuleType, "%v", err)
		}
		out := sheet.FormatDate(t)
		if t.After(today) {
			return errf(RuleFutureDate, "%s is in the future", out)
		}
		return out, v.rangeProblems(float64(t.Unix()/86400), out)
	case SelectOne:
		c, ok := cb.choice(v.List, s)
		if !ok {
			return errf(RuleChoice, "%q is not a code of list %s (%s)", s, v.List, cb.codes(v.List))
		}
		return c, nil
	case SelectMultiple:
		return cb.parseMultiple(v, s)
	}
	return errf(RuleType, "unknown type %q", v.Type)
}

func (v *Variable) rangeProblems(x float64, text string) []problem {
	if v.hard.outside(x) {
		return []problem{{RuleHardRange, SevError, fmt.Sprintf("%s is outside the allowed range %s", text, v.Hard.Describe())}}
	}
	if v.soft.outside(x) {
		return []problem{{RuleSoftRange, SevWarning, fmt.Sprintf("%s is outside the expected range %s: check it", text, v.Soft.Describe())}}
	}
	return nil
}

// choice finds s among a list's codes (a number matches numerically: "1.0"
// is 1) or labels in any language (ignoring case).
func (cb *Codebook) choice(list, s string) (string, bool) {
	if s == "" {
		return "", false
	}
	cs := cb.Lists[list]
	for _, c := range cs {
		if c.Code == s {
			return c.Code, true
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		for _, c := range cs {
			if g, err := strconv.ParseFloat(c.Code, 64); err == nil && f == g {
				return c.Code, true
			}
		}
	}
	for _, c := range cs {
		if strings.EqualFold(c.Code, s) {
			return c.Code, true
		}
		for _, l := range c.Label {
			if strings.EqualFold(strings.TrimSpace(l), s) {
				return c.Code, true
			}
		}
	}
	return "", false
}

func (cb *Codebook) codes(list string) string {
	var cs []string
	for _, c := range cb.Lists[list] {
		cs = append(cs, c.Code)
	}
	return strings.Join(cs, ", ")
}

// parseMultiple reads members separated by ";" or "," (or by spaces when
// neither is used), each a code or a label.
func (cb *Codebook) parseMultiple(v *Variable, s string) (string, []problem) {
	var parts []string
	if strings.ContainsAny(s, ";,") {
		parts = strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' })
	} else if _, ok := cb.choice(v.List, s); ok {
		parts = []string{s}
	} else {
		parts = strings.Fields(s)
	}
	chosen := map[string]bool{}
	var bad []string
	for _, p := range parts {
		p = sheet.Clean(p)
		if p == "" {
			continue
		}
		if c, ok := cb.choice(v.List, p); ok {
			chosen[c] = true
		} else {
			bad = append(bad, strconv.Quote(p))
		}
	}
	if len(bad) > 0 {
		return "", []problem{{RuleChoice, SevError, fmt.Sprintf("%s not a code of list %s (%s)", strings.Join(bad, ", ")+map[bool]string{true: " is", false: " are"}[len(bad) == 1], v.List, cb.codes(v.List))}}
	}
	var out []string
	for _, c := range cb.Lists[v.List] {
		if chosen[c.Code] {
			out = append(out, c.Code)
		}
	}
	if len(out) == 0 {
		return "", []problem{{RuleChoice, SevError, fmt.Sprintf("%q names no code of list %s (%s)", s, v.List, cb.codes(v.List))}}
	}
	return strings.Join(out, " "), nil
}
