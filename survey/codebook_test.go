package survey

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/sheet"
)

var exampleWaves = []string{"m0", "m6", "m12"}

func exampleCB(t testing.TB) *Codebook {
	t.Helper()
	cb, err := ParseCodebook("codebook.yaml", ExampleCodebook(), exampleWaves)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

func TestExampleCodebook(t *testing.T) {
	cb := exampleCB(t)
	if n := len(cb.Form("m6")); n < 30 {
		t.Errorf("m6 has %d variables, want a full questionnaire", n)
	}
	if n := len(cb.Form(CaseLog)); n != 9 {
		t.Errorf("caselog has %d variables, want 9", n)
	}
	if v := cb.Variable("phone"); v == nil || !v.Identifier {
		t.Error("phone should be an identifier")
	}
}

func TestCodebookErrors(t *testing.T) {
	head := "version: 1\ncodebook: {id: X, version: '1'}\nlanguages: [nl, en]\nmissing: [{code: -99, label: {nl: w, en: r}}]\nlists:\n  yn: [{code: 1, label: {nl: ja, en: yes}}, {code: 0, label: {nl: nee, en: no}}]\nvariables:\n"
	ok := "  - {name: a, type: integer, waves: [m0], label: {nl: a, en: a}}\n"
	cases := []struct{ name, vars, want string }{
		{"bad name", "  - {name: A1, type: integer, waves: [m0], label: {nl: a, en: a}}\n", `line 8: variable "A1": a name is`},
		{"name too long", "  - {name: a_name_of_thirty_three_characters, type: integer, waves: [m0], label: {nl: a, en: a}}\n", `line 8: variable "a_name_of_thirty_three_characters": a name is`},
		{"reserved", "  - {name: study_code, type: text, waves: [m0], label: {nl: a, en: a}}\n", "reserved"},
		{"twice", ok + ok, `line 9: variable "a" is defined twice (also line 8)`},
		{"unknown type", "  - {name: b, type: number, waves: [m0], label: {nl: a, en: a}}\n", `type "number" is not`},
		{"unknown list", "  - {name: b, type: select_one colours, waves: [m0], label: {nl: a, en: a}}\n", `list "colours" is not defined`},
		{"no label", "  - {name: b, type: text, waves: [m0], label: {nl: a}}\n", `no label in "en"`},
		{"unknown wave", "  - {name: b, type: text, waves: [m9], label: {nl: a, en: a}}\n", `wave "m9" is not a wave of the protocol`},
		{"range on text", "  - {name: b, type: text, hard: {min: 1}, waves: [m0], label: {nl: a, en: a}}\n", "only integer, decimal and date"},
		{"min above max", "  - {name: b, type: integer, hard: {min: 5, max: 1}, waves: [m0], label: {nl: a, en: a}}\n", "min 5 is above max 1"},
		{"bad relevance", ok + "  - {name: b, type: text, relevant: 'a = = 1', waves: [m0], label: {nl: a, en: a}}\n", "relevant: unexpected"},
		{"unknown ref", "  - {name: b, type: text, relevant: 'zz = 1', waves: [m0], label: {nl: a, en: a}}\n", `refers to "zz"`},
		{"ref other wave", "  - {name: a, type: integer, waves: [m6], label: {nl: a, en: a}}\n  - {name: b, type: text, relevant: 'a = 1', waves: [m0], label: {nl: a, en: a}}\n", "not asked in m0"},
		{"constraint no message", ok + "  - {name: b, type: integer, constraint: '. < a', waves: [m0], label: {nl: a, en: a}}\n", "constraint_message"},
		{"dot in relevance", "  - {name: b, type: integer, relevant: '. < 1', waves: [m0], label: {nl: a, en: a}}\n", "only for constraints"},
		{"unknown key", "  - {name: b, type: integer, waves: [m0], label: {nl: a, en: a}, colour: red}\n", "line 8: field colour not found"},
		{"no waves", "  - {name: b, type: integer, label: {nl: a, en: a}}\n", "say in which waves"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCodebook("cb.yaml", []byte(head+c.vars), exampleWaves)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	if _, err := ParseCodebook("cb.yaml", nil, nil); err == nil {
		t.Error("an empty codebook passed")
	}
}

func TestExpr(t *testing.T) {
	vals := map[string]string{"a": "3", "b": "employed", "s": "ocmw vdab", "m": "-99", "d": "2017-03-01"}
	env := func(n string) (string, bool) {
		v, ok := vals[n]
		return v, ok && v != "-99"
	}
	cases := []struct {
		e    string
		want bool
	}{
		{"a = 3", true}, {"a == 3.0", true}, {"a > 2 and a < 4", true}, {"a >= 4 or b = 'employed'", true},
		{"not (a = 3)", false}, {"${a} != 3", false}, {"a <> 2", true}, {"selected(s, 'vdab')", true},
		{"selected(s, 'caw')", false}, {"not selected(s, 'none')", true}, {"m = -99", false}, {"m != 1", false},
		{"not m = 1", true}, {"zz = 1", false}, {"d < '2017-04-01'", true}, {"a = 10", false}, {"a < 10", true},
		{"b = 'employed' and (a = 1 or a = 3)", true}, {"A = 3 AND b = \"employed\"", false},
	}
	for _, c := range cases {
		e, err := ParseExpr(c.e, false)
		if err != nil {
			t.Errorf("%s: %v", c.e, err)
			continue
		}
		if got := Eval(e, env); got != c.want {
			t.Errorf("%s = %v, want %v", c.e, got, c.want)
		}
	}
	for _, bad := range []string{"", "a", "a =", "(a = 1", "a = 1 b", "a ! 1", "'x", "selected(a)", "and = 1", "a = 1 #"} {
		if _, err := ParseExpr(bad, false); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseCell(t *testing.T) {
	cb := exampleCB(t)
	today := time.Date(2017, 6, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		v, in, want, rule string
	}{
		{"hh_size", "4", "4", ""},
		{"hh_size", " 4.0 ", "4", ""},
		{"hh_size", "2.9999999999999996", "3", ""},
		{"hh_size", "4,5", "", RuleType},
		{"hh_size", "vier", "", RuleType},
		{"hh_size", "-99", "-99", ""},
		{"hh_size", "-99.0", "-99", ""},
		{"hh_size", "25", "", RuleHardRange},
		{"hh_size", "12", "12", RuleSoftRange},
		{"income_total", "1.234,00", "1234", ""},
		{"arrears_amount", "1234,56", "1234.56", ""},
		{"rent_amount", "€ 650", "650", ""},
		{"child_birth_date", "15/03/2017", "2017-03-15", ""},
		{"child_birth_date", "42809", "2017-03-15", ""},
		{"child_birth_date", "31/02/2017", "", RuleType},
		{"child_birth_date", "15/07/2017", "", RuleFutureDate},
		{"child_birth_date", "01/01/2014", "", RuleHardRange},
		{"child_birth_date", "-99", "", RuleType},
		{"single_parent", "1", "1", ""},
		{"single_parent", "Ja", "1", ""},
		{"single_parent", "no", "0", ""},
		{"single_parent", "1.0", "1", ""},
		{"single_parent", "2", "", RuleChoice},
		{"single_parent", "-98", "-98", ""},
		{"work_status", "Employed", "employed", ""},
		{"services_used", "ocmw vdab", "ocmw vdab", ""},
		{"services_used", "VDAB; OCMW", "ocmw vdab", ""},
		{"services_used", "Kind en Gezin, CAW", "caw kind_en_gezin", ""},
		{"services_used", "ocmw bank", "", RuleChoice},
		{"services_used", " ; ", "", RuleChoice},
		{"phone", "+32 470 12 34 56", "+32 470 12 34 56", ""},
		{"respondent_name", "=HYPERLINK(\"x\")", "=HYPERLINK(\"x\")", ""},
	}
	for _, c := range cases {
		v := cb.Variable(c.v)
		got, probs := cb.parseCell(v, c.in, false, today)
		rule := ""
		if len(probs) > 0 {
			rule = probs[0].rule
		}
		if rule != c.rule || (c.rule == "" || c.rule == RuleSoftRange) && got != c.want {
			t.Errorf("%s %q = %q %v, want %q %s", c.v, c.in, got, probs, c.want, c.rule)
		}
	}
}

func FuzzParseCodebook(f *testing.F) {
	f.Add(ExampleCodebook())
	f.Add([]byte("version: 1\nvariables: [{name: a, relevant: 'b = 1 and not (c < 2)'}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cb, err := ParseCodebook("f.yaml", b, exampleWaves)
		if err == nil && cb.SHA256() == "" {
			t.Fatal("no hash")
		}
	})
}

func FuzzParseCell(f *testing.F) {
	cb := exampleCB(f)
	today := time.Date(2017, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"4", "1.234,56", "15/03/2017", "ocmw; vdab", "-99", "ja", "42809", "1e308", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range cb.Variables {
			got, probs := cb.parseCell(v, s, false, today)
			errs := 0
			for _, p := range probs {
				if p.severity == SevError {
					errs++
				}
			}
			if errs == 0 && got == "" && sheet.Clean(s) != "" && v.Kind != TextType {
				t.Fatalf("%s %q: accepted as blank", v.Name, s)
			}
			if errs == 0 {
				// Canonical text reads back as itself.
				again, p2 := cb.parseCell(v, got, false, today)
				if again != got || len(p2) != len(probs) {
					t.Fatalf("%s %q → %q → %q", v.Name, s, got, again)
				}
			}
		}
	})
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"a = 1", "not (a > 2 or b = 'x') and selected(c, 'y')", "${a} <> -1.5", ". <= a"} {
		f.Add(s)
	}
	env := func(n string) (string, bool) { return "1", n != "zz" }
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s, true)
		if err != nil {
			return
		}
		Eval(e, env)
		e.Refs()
	})
}

// TestIsMissingFirstByte: skipping values whose first byte no code or
// label starts with changes no answer: IsMissing agrees with the plain
// look-up (lower-cased code or label, or the same number) on labels in
// any case, their first letters, numbers written otherwise, and values
// that lower-case to a label only through a non-ASCII first letter.
func TestIsMissingFirstByte(t *testing.T) {
	cb := exampleCB(t)
	cb.Missing = append(cb.Missing, Choice{Code: "-97", Label: Text{"en": "kiosk"}})
	cb.indexMissing()
	plain := func(s string) (string, bool) {
		if s == "" {
			return "", false
		}
		if c, ok := cb.missing[strings.ToLower(s)]; ok {
			return c, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			for i, v := range cb.missingNum {
				if v == f {
					return cb.Missing[i].Code, true
				}
			}
		}
		return "", false
	}
	values := []string{"", "-99", "-99.0", "+1", "-98", "1", "Refused", "REFUSED", "refused", "R", "Weet het niet", "weet HET niet",
		"Don't know", "don't know", "Refus de répondre", "REFUS DE RÉPONDRE", "Kiosk", "\u212Aiosk", "\u212A", "kiosk ", "x", "Ja", "é", "ÉTÉ", ".5"}
	for _, v := range values {
		gc, gok := cb.IsMissing(v)
		wc, wok := plain(v)
		if gc != wc || gok != wok {
			t.Errorf("IsMissing(%q) = %q, %v; the look-up gives %q, %v", v, gc, gok, wc, wok)
		}
	}
	if c, ok := cb.IsMissing("\u212Aiosk"); !ok || c != "-97" {
		t.Errorf("a value lower-cased to a label through its first letter (KELVIN SIGN): %q %v", c, ok)
	}
}
