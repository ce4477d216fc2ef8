package trial

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
)

func TestExampleProtocolIsValid(t *testing.T) {
	p, err := ParseProtocol("example.yaml", ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	if p.Trial.ID != "MISSION" || len(p.Arms) != 2 || p.Eligibility.MinWeak != 3 || len(p.Eligibility.Domains) != 6 {
		t.Errorf("unexpected example: %+v", p.Trial)
	}
	if r := p.Ratio(); len(r) != 2 || r[0] != 1 || r[1] != 1 {
		t.Errorf("ratio %v", r)
	}
	if len(p.SHA256()) != 64 {
		t.Error("sha256")
	}
}

// edit returns the example protocol with old replaced by new (once).
func edit(t *testing.T, old, new string) []byte {
	t.Helper()
	s := string(ExampleProtocol())
	if !strings.Contains(s, old) {
		t.Fatalf("example has no %q", old)
	}
	return []byte(strings.Replace(s, old, new, 1))
}

func lineOf(t *testing.T, text []byte, needle string) int {
	t.Helper()
	i := strings.Index(string(text), needle)
	if i < 0 {
		t.Fatalf("no %q", needle)
	}
	return strings.Count(string(text[:i]), "\n") + 1
}

func TestProtocolProblemsHaveLines(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           string // in the message
		at             string // the line that must be named: where this text is
	}{
		{"unknown top-level key", "version: 1", "version: 1\ncolour: blue", `unknown key "colour"`, "colour: blue"},
		{"unknown nested key", "  code_prefix: K", "  code_prefix: K\n  sponsor: city", `unknown key "sponsor" in trial`, "sponsor: city"},
		{"unknown key in a list item", "    label: Usual services", "    label: Usual services\n    colour: red", `unknown key "colour" in arms[1]`, "colour: red"},
		{"ratio does not match arms", `ratio: "1:1"`, `ratio: "1:1:1"`, "has 3 parts but there are 2 arms", `ratio: "1:1:1"`},
		{"ratio not numbers", `ratio: "1:1"`, `ratio: "a:b"`, "each part is a whole number", `ratio: "a:b"`},
		{"block size not a multiple", "block_sizes: [2, 4, 6]", "block_sizes: [2, 3, 6]", "block size 3 is not a positive multiple", "block_sizes: [2, 3, 6]"},
		{"unknown method", "method: stratified_blocks", "method: urn", `"urn" is not one of`, "method: urn"},
		{"wrong type", "min_weak: 3", "min_weak: three", "cannot unmarshal", "min_weak: three"},
		{"min_weak too large", "min_weak: 3", "min_weak: 7", "between 1 and the number of domains", "min_weak: 7"},
		{"duplicate arm", "  - id: control", "  - id: intervention", `id "intervention" is used twice`, "  - id: intervention\n    label: Usual"},
		{"bad span", "offset: 6m", "offset: six months", "is not a span of time", "offset: six months"},
		{"unknown wave in outcome", "waves: [m6, m12]}", "waves: [m6, m18]}", `no wave "m18"`, "waves: [m6, m18]}"},
		{"unknown register event", "events: [supplementary_aid]", "events: [rent_aid]", `has no event "rent_aid"`, "events: [rent_aid]"},
		{"stratum value twice", "values: [dutch, other]", "values: [dutch, Dutch]", "listed twice", "values: [dutch, Dutch]"},
		{"bad se type", "se_type: HC2", "se_type: HC9", `"HC9" is not one of`, "se_type: HC9"},
		{"version", "version: 1", "version: 2", "format version 2", "version: 2"},
		{"duplicate key", "  title: Outreaching", "  title: x\n  title: Outreaching", "already defined", "  title: Outreaching"},
		{"fixed m of unknown field", "    spells: [leefloon, activation, budget_guidance]", "    spells: [leefloon, activation, budget_guidance]\n    linkage: {m: {shoe_size: [1]}}", `unknown field "shoe_size"`, "linkage: {m: {shoe_size"},
		{"fixed u with wrong levels", "    spells: [leefloon, activation, budget_guidance]", "    spells: [leefloon, activation, budget_guidance]\n    linkage: {u: {postcode: [0.5, 0.3, 0.2]}}", "postcode has 2 comparison levels, 3 probabilities given", "linkage: {u: {postcode"},
		{"fixed m not summing to 1", "    spells: [leefloon, activation, budget_guidance]", "    spells: [leefloon, activation, budget_guidance]\n    linkage: {m: {postcode: [0.5, 0.3]}}", "sum to 0.8, not 1", "linkage: {m: {postcode"},
		{"fixed lambda", "    spells: [leefloon, activation, budget_guidance]", "    spells: [leefloon, activation, budget_guidance]\n    linkage: {lambda: 1.5}", "is not a share of matches", "linkage: {lambda"},
		{"aggregate vs type", "aggregate: days}", "aggregate:  any}", "aggregate any gives a binary outcome", "aggregate:  any}"},
		{"unknown reference arm", "reference: control ", "reference: placebo ", `"placebo" is not an arm (arms: intervention, control)`, "reference: placebo"},
		{"unknown contrasts", "contrasts: reference ", "contrasts: all ", `"all" is not one of reference, pairs`, "contrasts: all"},
		{"unknown strata adjustment", "strata_adjustment: main_effects", "strata_adjustment: blocks", `"blocks" is not one of main_effects, cells`, "strata_adjustment: blocks"},
		{"unknown multiple-testing scope", "multiple_testing_contrasts: pooled", "multiple_testing_contrasts: joint", `"joint" is not one of pooled, separate`, "multiple_testing_contrasts: joint"},
		{"unknown unmapped rule", "    unmapped: skip ", "    unmapped: drop ", `"drop": unmapped event codes are skipped`, "unmapped: drop"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := edit(t, c.old, c.new)
			_, err := ParseProtocol("trial.yaml", text)
			if err == nil {
				t.Fatal("accepted")
			}
			if !dataerr.Is(err) {
				t.Fatalf("not a data error: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("message %q lacks %q", err, c.want)
			}
			want := lineOf(t, text, c.at)
			found := false
			for _, e := range err.(dataerr.List) {
				if strings.Contains(e.Error(), c.want) && e.Line == want {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem %q at line %d: %v", c.want, want, err)
			}
		})
	}
}

func TestProtocolReportsEveryProblem(t *testing.T) {
	text := edit(t, "version: 1", "version: 1\nfoo: 1\nbar: 2")
	_, err := ParseProtocol("trial.yaml", text)
	if l, ok := err.(dataerr.List); !ok || len(l) != 2 {
		t.Fatalf("want two problems, got %v", err)
	}
	text = []byte(strings.Replace(strings.Replace(string(ExampleProtocol()), `ratio: "1:1"`, `ratio: "1:2:3"`, 1), "min_weak: 3", "min_weak: 0", 1))
	_, err = ParseProtocol("trial.yaml", text)
	if l, ok := err.(dataerr.List); !ok || len(l) < 2 {
		t.Fatalf("want both problems, got %v", err)
	}
}

func TestProtocolEmptyAndSyntax(t *testing.T) {
	for _, s := range []string{"", "arms: [\n", "\t- x"} {
		if _, err := ParseProtocol("p.yaml", []byte(s)); err == nil || !dataerr.Is(err) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestValidID: the rule protocols and codebooks share for their ids.
func TestValidID(t *testing.T) {
	for s, want := range map[string]bool{
		"a": true, "supp_aid_6m": true, "m12": true, "a_name_of_thirty_two_characters_": true,
		"": false, "A": false, "1a": false, "_a": false, "a-b": false, "a b": false, "é": false,
		"a_name_of_thirty_three_characters": false, "a\n": false,
	} {
		if got := ValidID(s); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzParseProtocol(f *testing.F) {
	f.Add(ExampleProtocol())
	f.Add([]byte("version: 1\narms: [{id: a}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProtocol("fuzz.yaml", b)
		if err == nil && (len(p.Arms) < 2 || len(p.Ratio()) != len(p.Arms)) {
			t.Fatalf("accepted an invalid protocol")
		}
	})
}

func TestSpan(t *testing.T) {
	d := func(s string) time.Time { x, _ := time.Parse("2006-01-02", s); return x }
	for _, c := range []struct {
		span Span
		from string
		want string
	}{
		{"6m", "2017-01-31", "2017-07-31"},
		{"1m", "2017-01-31", "2017-02-28"},
		{"1m", "2016-01-31", "2016-02-29"},
		{"12m", "2016-02-29", "2017-02-28"},
		{"1y", "2016-02-29", "2017-02-28"},
		{"-12m", "2017-03-15", "2016-03-15"},
		{"14d", "2017-12-25", "2018-01-08"},
		{"2w", "2017-12-25", "2018-01-08"},
		{"0d", "2017-12-25", "2017-12-25"},
	} {
		if got := c.span.AddTo(d(c.from)).Format("2006-01-02"); got != c.want {
			t.Errorf("%s + %s = %s, want %s", c.from, c.span, got, c.want)
		}
	}
	for _, bad := range []Span{"6", "m", "6 months", "1.5m", "6M"} {
		if _, _, err := bad.Parse(); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestRegisterWindows: every register outcome of the example protocol has
// its window, followed by its baseline window when it has one, in the
// protocol's order; survey outcomes have none.
func TestRegisterWindows(t *testing.T) {
	p, err := ParseProtocol("example", ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, o := range p.Outcomes {
		if o.Source.Register == "" {
			continue
		}
		want = append(want, o.ID)
		if o.Baseline != nil && o.Baseline.Window != nil {
			want = append(want, o.ID+"_baseline")
		}
	}
	var got []string
	for _, w := range p.RegisterWindows() {
		got = append(got, w.ID)
		if base := strings.HasSuffix(w.ID, "_baseline"); base && (w.Window != *w.Outcome.Baseline.Window || w.Label != w.Outcome.Label+" (baseline window)") ||
			!base && (w.Window != *w.Outcome.Source.Window || w.Label != w.Outcome.Label) {
			t.Errorf("%s: window %+v, label %q", w.ID, w.Window, w.Label)
		}
	}
	if len(want) < 2 || !slices.Equal(got, want) {
		t.Fatalf("windows %v, want %v", got, want)
	}
}
