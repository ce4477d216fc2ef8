package reports

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rct-trials/rct/plan"
)

// exportFixture is a small data set with what makes scripts go wrong:
// a name longer than Stata's 32 characters and two that collide when cut,
// labels with quotes and a dollar, a date, text and numeric codes, and
// declared missing codes in two columns.
func exportFixture() *plan.DataSet {
	long := "caselog_contacts_accompanied_total_sum"
	t := &plan.DataSet{
		Columns: []plan.Column{
			{Name: "study_code", Label: "Study code", Type: "text", Storage: "text"},
			{Name: "group", Label: "Group code (blinded)", Type: "text", Storage: "text"},
			{Name: "randomized_on", Label: "Randomization date", Type: "date", Storage: "date"},
			{Name: "arrears_m6", Label: `Payment "arrears"`, Type: "select_one", Storage: "number", MissingCodes: true,
				Values: []plan.ValueLabel{{Code: "1", Label: "Yes"}, {Code: "0", Label: "No"}}},
			{Name: "income_total_m6", Label: "Income $ per month", Type: "integer", Storage: "number", Unit: "EUR per month", MissingCodes: true},
			{Name: "housing_tenure_m6", Label: "Housing", Type: "select_one", Storage: "text",
				Values: []plan.ValueLabel{{Code: "social_rent", Label: "Social rent"}, {Code: "private_rent", Label: "Private rent"}}},
			{Name: long, Label: "Contacts", Type: "decimal", Storage: "number"},
			{Name: long + "x", Label: "Contacts again", Type: "decimal", Storage: "number"},
		},
		Rows: [][]string{
			{"K-0001", "A", "2017-03-01", "1", "", "social_rent", "3", "4"},
			{"K-0002", "B", "2017-03-02", "", "1250", "private_rent", "", "1.5"},
		},
		MissingCodes: []plan.ValueLabel{{Code: "-99", Label: "Refused"}, {Code: "-98", Label: `Don't "know"`}},
		Missing:      []plan.MissingCell{{Row: 1, Column: 3, Code: "-98"}, {Row: 0, Column: 4, Code: "-99"}},
	}
	return t
}

// stataCheck is a small checker of the do-file's syntax: every line is a
// comment or one of the commands the export writes, with its arguments in
// the right shape; strings are closed; every variable used exists (was
// renamed from a column or generated) and is a valid Stata name of at most
// 32 characters; every value label used is defined first.
func stataCheck(do string, columns int) error {
	name := `[A-Za-z_][A-Za-z0-9_]{0,31}`
	str := "(\"([^\"$`]|\\\\[$`])*\"|`\"([^$`]|\\\\[$`])*\"')"
	labelPair := `(-?[0-9]+|\.[a-z])\s+` + str
	rules := map[string]*regexp.Regexp{
		"version":  regexp.MustCompile(`^version 1[4-9]$`),
		"import":   regexp.MustCompile(`^import delimited using ` + str + `, varnames\(nonames\) rowrange\(2\) delimiters\(","\) bindquote\(strict\) encoding\("utf-8"\)( stringcols\([0-9 ]+\))?( numericcols\([0-9 ]+\))? clear$`),
		"rename":   regexp.MustCompile(`^rename (` + name + `) (` + name + `)$`),
		"generate": regexp.MustCompile(`^generate double (` + name + `) = date\((` + name + `), "YMD"\)$`),
		"format":   regexp.MustCompile(`^format (` + name + `) %td$`),
		"order":    regexp.MustCompile(`^order (` + name + `), after\((` + name + `)\)$`),
		"drop":     regexp.MustCompile(`^drop (` + name + `)$`),
		"labelvar": regexp.MustCompile(`^label variable (` + name + `) ` + str + `$`),
		"labeldef": regexp.MustCompile(`^label define (` + name + `)( ` + labelPair + `)+$`),
		"labelval": regexp.MustCompile(`^label values (` + name + `) (` + name + `)$`),
		"replace":  regexp.MustCompile(`^replace (` + name + `) = \.[a-z] if (` + name + `) == ` + str + `$`),
		"compress": regexp.MustCompile(`^compress$`),
	}
	vars, labels := map[string]bool{}, map[string]bool{}
	imported := false
	for i, line := range strings.Split(strings.TrimRight(do, "\n"), "\n") {
		at := fmt.Sprintf("line %d %q", i+1, line)
		if strings.HasPrefix(line, "*") {
			continue
		}
		matched := ""
		var m []string
		for k, re := range rules {
			if m = re.FindStringSubmatch(line); m != nil {
				matched = k
				break
			}
		}
		use := func(v string) error {
			if !vars[v] {
				return fmt.Errorf("%s: variable %s does not exist", at, v)
			}
			return nil
		}
		var err error
		switch matched {
		case "":
			return fmt.Errorf("%s: not a command the export writes", at)
		case "import":
			imported = true
			for j := 1; j <= columns; j++ {
				vars["v"+strconv.Itoa(j)] = true
			}
		case "rename":
			if err = use(m[1]); err == nil {
				if vars[m[2]] {
					return fmt.Errorf("%s: %s exists already", at, m[2])
				}
				delete(vars, m[1])
				vars[m[2]] = true
			}
		case "generate":
			err = use(m[2])
			vars[m[1]] = true
		case "format", "labelvar":
			err = use(m[1])
		case "order":
			if err = use(m[1]); err == nil {
				err = use(m[2])
			}
		case "drop":
			err = use(m[1])
			delete(vars, m[1])
		case "labeldef":
			labels[m[1]] = true
		case "labelval":
			if err = use(m[1]); err == nil && !labels[m[2]] {
				err = fmt.Errorf("%s: value label %s is not defined", at, m[2])
			}
		case "replace":
			if err = use(m[1]); err == nil {
				err = use(m[2])
			}
		}
		if err != nil {
			return err
		}
		if matched != "version" && !strings.HasPrefix(line, "*") && matched != "import" && !imported {
			return fmt.Errorf("%s: before the import", at)
		}
	}
	if !imported {
		return fmt.Errorf("no import")
	}
	return nil
}

// TestStataScript: the do-file passes the syntax checker, names every
// column validly (the long names cut and kept apart), labels the codes and
// the declared missing codes, and sets each missing cell back to its
// extended missing value; a broken do-file is caught by the checker.
func TestStataScript(t *testing.T) {
	ds := exportFixture()
	do := string(StataScript(ds, "data.csv"))
	if err := stataCheck(do, len(ds.Columns)); err != nil {
		t.Fatalf("%v\n%s", err, do)
	}
	names := StataNames(ds)
	if names[6] == names[7] || len(names[6]) > 32 || len(names[7]) > 32 {
		t.Errorf("long names %q", names[6:])
	}
	for _, want := range []string{
		`label define rct_values1 1 "Yes" 0 "No" .a "Refused" .b ` + "`\"Don't \"know\"\"'",
		"label values arrears_m6 rct_values1",
		`replace arrears_m6 = .b if study_code == "K-0002"`,
		`replace income_total_m6 = .a if study_code == "K-0001"`,
		`label variable income_total_m6 "Income \$ per month (EUR per month)"`,
		"format rct_date %td",
	} {
		if !strings.Contains(do, want) {
			t.Errorf("the do-file lacks %q\n%s", want, do)
		}
	}
	if strings.Contains(do, "label values housing_tenure_m6") {
		t.Error("a text select_one got numeric value labels")
	}
	for _, broken := range []string{
		strings.Replace(do, "label define rct_values1", "label define other", 1),
		strings.Replace(do, "rename v4 arrears_m6", "rename v4 arrears m6", 1),
		strings.Replace(do, `"K-0002"`, `"K-0002`, 1),
		do + "summarize income\n",
		strings.Replace(do, `\$`, `$`, 1), // a macro would expand
	} {
		if stataCheck(broken, len(ds.Columns)) == nil {
			t.Errorf("the checker passed a broken do-file")
		}
	}
}

// TestRScript: data.R reads every column with its class, converts dates,
// makes a labelled factor for coded variables and escapes labels.
func TestRScript(t *testing.T) {
	r := string(RScript(exportFixture(), "data.csv"))
	for _, want := range []string{
		`if (!exists("rct_csv")) rct_csv <- "data.csv"`,
		`"income_total_m6" = "numeric"`,
		`"housing_tenure_m6" = "character"`,
		`d[["randomized_on"]] <- as.Date(d[["randomized_on"]], format = "%Y-%m-%d")`,
		`d[["arrears_m6.factor"]] <- factor(d[["arrears_m6"]], levels = c(1, 0), labels = c("Yes", "No"))`,
		`d[["housing_tenure_m6.factor"]] <- factor(d[["housing_tenure_m6"]], levels = c("social_rent", "private_rent"), labels = c("Social rent", "Private rent"))`,
		`attr(d[["arrears_m6"]], "label") <- "Payment \"arrears\""`,
	} {
		if !strings.Contains(r, want) {
			t.Errorf("data.R lacks %s\n%s", want, r)
		}
	}
}
