package reports

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/plan"
)

// RScript is data.R: base R that reads the exported CSV (csv, the file's
// name beside the script) with the codebook's types — numbers, text, dates
// — NA where a declared missing code was answered (the cells are empty), a
// labelled factor VAR.factor beside every coded variable (as REDCap's
// export does), and each column's label in attr(, "label").
func RScript(t *plan.DataSet, csv string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# data.R: reads %s, written by rct data export, with the types of its codebook.\n", csv)
	b.WriteString("# Declared missing codes")
	for _, m := range t.MissingCodes {
		fmt.Fprintf(&b, " (%s %s)", m.Code, m.Label)
	}
	b.WriteString(" were written as empty cells: they are NA here.\n")
	b.WriteString("# Coded variables keep their codes; VAR.factor holds the labels.\n")
	fmt.Fprintf(&b, "# Run it in the directory of %s: source(\"data.R\") makes the data frame d.\n", csv)
	b.WriteString("# Base R only; set rct_csv first to read another path.\n\n")
	fmt.Fprintf(&b, "if (!exists(\"rct_csv\")) rct_csv <- %s\n", rString(csv))
	b.WriteString("d <- read.csv(rct_csv, na.strings = \"\", check.names = FALSE, encoding = \"UTF-8\",\n  colClasses = c(")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(",\n    ")
		}
		class := "character"
		if c.Storage == "number" {
			class = "numeric"
		}
		fmt.Fprintf(&b, "%s = %q", rString(c.Name), class)
	}
	b.WriteString("))\n")
	for _, c := range t.Columns {
		if c.Storage == "date" {
			fmt.Fprintf(&b, "d[[%s]] <- as.Date(d[[%s]], format = \"%%Y-%%m-%%d\")\n", rString(c.Name), rString(c.Name))
		}
	}
	for _, c := range t.Columns {
		if len(c.Values) == 0 {
			continue
		}
		var codes, labels []string
		for _, v := range c.Values {
			code := rString(v.Code)
			if c.Storage == "number" {
				code = v.Code
			}
			codes, labels = append(codes, code), append(labels, rString(v.Label))
		}
		fmt.Fprintf(&b, "d[[%s]] <- factor(d[[%s]], levels = c(%s), labels = c(%s))\n",
			rString(c.Name+".factor"), rString(c.Name), strings.Join(codes, ", "), strings.Join(labels, ", "))
	}
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "attr(d[[%s]], \"label\") <- %s\n", rString(c.Name), rString(c.Label))
	}
	return []byte(b.String())
}

// rString is s as an R string literal.
func rString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// StataScript is data.do: reads the exported CSV (csv) with import
// delimited, every column by position and renamed to a valid Stata name
// (at most 32 characters), text and dates as strings (dates converted to
// %td), numbers as numbers; variable labels; value labels for coded
// variables; and each declared missing code, written as an empty cell,
// set back to its extended missing value (.a for the first code, .b …) and
// labelled.
func StataScript(t *plan.DataSet, csv string) []byte {
	names := StataNames(t)
	var b strings.Builder
	fmt.Fprintf(&b, "* data.do: reads %s, written by rct data export, with the types of its codebook.\n", csv)
	fmt.Fprintf(&b, "* Run it in the directory of %s: do data.do\n", csv)
	letters := map[string]string{}
	for i, m := range t.MissingCodes {
		if i < 26 {
			letters[m.Code] = "." + string(rune('a'+i))
			fmt.Fprintf(&b, "* Declared missing code %s (%s) is %s.\n", m.Code, m.Label, letters[m.Code])
		}
	}
	b.WriteString("version 14\n")
	var text, numeric []string
	for i, c := range t.Columns {
		if c.Storage == "number" {
			numeric = append(numeric, strconv.Itoa(i+1))
		} else {
			text = append(text, strconv.Itoa(i+1))
		}
	}
	fmt.Fprintf(&b, "import delimited using %s, varnames(nonames) rowrange(2) delimiters(\",\") bindquote(strict) encoding(\"utf-8\")", stataString(csv))
	if len(text) > 0 {
		fmt.Fprintf(&b, " stringcols(%s)", strings.Join(text, " "))
	}
	if len(numeric) > 0 {
		fmt.Fprintf(&b, " numericcols(%s)", strings.Join(numeric, " "))
	}
	b.WriteString(" clear\n")
	for i := range t.Columns {
		fmt.Fprintf(&b, "rename v%d %s\n", i+1, names[i])
	}
	for i, c := range t.Columns {
		if c.Storage == "date" {
			fmt.Fprintf(&b, "generate double rct_date = date(%s, \"YMD\")\nformat rct_date %%td\norder rct_date, after(%s)\ndrop %s\nrename rct_date %s\n", names[i], names[i], names[i], names[i])
		}
	}
	for i, c := range t.Columns {
		label := c.Label
		if c.Unit != "" {
			label += " (" + c.Unit + ")"
		}
		if r := []rune(label); len(r) > 80 {
			label = string(r[:79]) + "…"
		}
		fmt.Fprintf(&b, "label variable %s %s\n", names[i], stataString(label))
	}
	missingCols := map[int]bool{}
	for _, m := range t.Missing {
		missingCols[m.Column] = true
	}
	sets := map[string]string{} // label definition → name
	for i, c := range t.Columns {
		if c.Storage != "number" || (len(c.Values) == 0 && !missingCols[i]) {
			continue
		}
		var def []string
		for _, v := range c.Values {
			def = append(def, v.Code+" "+stataString(v.Label))
		}
		if c.MissingCodes {
			for _, m := range t.MissingCodes {
				if l, ok := letters[m.Code]; ok {
					def = append(def, l+" "+stataString(m.Label))
				}
			}
		}
		if len(def) == 0 || !integerCodes(c.Values) {
			continue
		}
		key := strings.Join(def, " ")
		name, ok := sets[key]
		if !ok {
			name = fmt.Sprintf("rct_values%d", len(sets)+1)
			sets[key] = name
			fmt.Fprintf(&b, "label define %s %s\n", name, key)
		}
		fmt.Fprintf(&b, "label values %s %s\n", names[i], name)
	}
	code := 0
	for i, c := range t.Columns {
		if c.Name == "study_code" {
			code = i
		}
	}
	for _, m := range t.Missing {
		if l, ok := letters[m.Code]; ok && t.Columns[m.Column].Storage == "number" {
			fmt.Fprintf(&b, "replace %s = %s if %s == %s\n", names[m.Column], l, names[code], stataString(t.Rows[m.Row][code]))
		}
	}
	b.WriteString("compress\n")
	return []byte(b.String())
}

// integerCodes reports whether every code is an integer: Stata labels
// integers only.
func integerCodes(vals []plan.ValueLabel) bool {
	for _, v := range vals {
		if _, err := strconv.Atoi(v.Code); err != nil {
			return false
		}
	}
	return true
}

var stataInvalid = regexp.MustCompile(`[^A-Za-z0-9_]`)

// StataNames are the columns' names as Stata variable names: letters,
// digits and _, starting with a letter or _, at most 32 characters,
// distinct (a long name is cut and numbered).
func StataNames(t *plan.DataSet) []string {
	seen := map[string]bool{}
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		n := stataInvalid.ReplaceAllString(c.Name, "_")
		if n == "" || n[0] >= '0' && n[0] <= '9' {
			n = "_" + n
		}
		if len(n) > 32 || seen[n] {
			base := n[:min(len(n), 27)]
			for k := 1; ; k++ {
				n = fmt.Sprintf("%s_%d", base, k)
				if !seen[n] {
					break
				}
			}
		}
		seen[n] = true
		out[i] = n
	}
	return out
}

// stataString is s as a Stata string literal: $ and ` escaped (no macro
// expansion), compound quotes when it holds a double quote.
func stataString(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ", "$", `\$`, "`", "\\`").Replace(s)
	if strings.Contains(s, `"`) {
		return "`\"" + s + "\"'"
	}
	return `"` + s + `"`
}
