package survey

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/lazyre"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
	"go.yaml.in/yaml/v3"
)

// FormatVersion is the version of the codebook file format this rct reads.
const FormatVersion = 1

// CaseLog is the form id of the case managers' activity log. Its rows are a
// family and a month; the other forms are the protocol's waves.
const CaseLog = "caselog"

// Codebook defines every variable the interviewers and case managers
// record: the primary format is YAML (see `rct codebook example`), in the
// spirit of XLSForm's survey and choices sheets.
type Codebook struct {
	Version   int                 `yaml:"version"`
	Codebook  Info                `yaml:"codebook"`
	Languages []string            `yaml:"languages"` // label languages; the first is the default
	Missing   []Choice            `yaml:"missing"`   // declared missing codes: always allowed, never range-checked
	Lists     map[string][]Choice `yaml:"lists"`     // choice lists of select_one and select_multiple
	Variables []*Variable         `yaml:"variables"`

	text   []byte
	byName map[string]*Variable

	missing    map[string]string // code or label (lower case) → code
	missingNum []float64         // each missing code as a number (NaN if not one)
	// missingFirst: some key of missing starts with this ASCII byte.
	missingFirst [utf8.RuneSelf]bool
}

// Info identifies a codebook version.
type Info struct {
	ID      string `yaml:"id"`
	Version string `yaml:"version"` // the authors' version label, e.g. "2016.1"
	Title   string `yaml:"title"`
}

// Text is a label in several languages: language code → text.
type Text map[string]string

// In returns the text in lang, else in the first language that has one.
func (t Text) In(lang string, order []string) string {
	if s, ok := t[lang]; ok {
		return s
	}
	for _, l := range order {
		if s, ok := t[l]; ok {
			return s
		}
	}
	return ""
}

// Choice is one answer of a list, or a declared missing code.
type Choice struct {
	Code  string `yaml:"code"`
	Label Text   `yaml:"label"`
}

// Range bounds a numeric or date answer; either end may be absent. Dates
// are written yyyy-mm-dd.
type Range struct {
	Min string `yaml:"min"`
	Max string `yaml:"max"`
}

// Variable types.
const (
	Integer        = "integer"
	Decimal        = "decimal"
	TextType       = "text"
	Date           = "date"
	SelectOne      = "select_one"
	SelectMultiple = "select_multiple"
)

// Variable is one question.
type Variable struct {
	Name string `yaml:"name"`
	// Label is the question; Hint, if any, is shown as the cell's prompt.
	Label Text `yaml:"label"`
	Hint  Text `yaml:"hint"`
	// Type is integer, decimal, text, date, "select_one LIST" or
	// "select_multiple LIST".
	Type string `yaml:"type"`
	// Soft range: a value outside is imported with a warning. Hard range:
	// a value outside is an error. Missing codes are outside both checks.
	Soft *Range `yaml:"soft"`
	Hard *Range `yaml:"hard"`
	// Required: an answer (or a missing code) must be given whenever the
	// question is relevant.
	Required bool `yaml:"required"`
	// Relevant is the skip logic: the question is asked only when it holds
	// (see Expr). An answer where it is false is imported with a warning.
	Relevant string `yaml:"relevant"`
	// Constraint must hold for an answer ("." is the answer itself); its
	// message says why not.
	Constraint        string `yaml:"constraint"`
	ConstraintMessage Text   `yaml:"constraint_message"`
	// Waves are the forms where the question is asked: wave ids of the
	// protocol, or caselog.
	Waves []string `yaml:"waves"`
	// Identifier: the answer identifies a person (a name, a phone number);
	// it is never exported to analysts.
	Identifier bool `yaml:"identifier"`
	// Unit is what a number counts or measures ("EUR per month"), for the
	// exported codebook.
	Unit string `yaml:"unit"`

	Kind string `yaml:"-"` // the type without its list
	List string `yaml:"-"` // the choice list of select types

	line                 int
	relevant, constraint Expr
	soft, hard           numRange
}

type numRange struct {
	min, max       float64
	hasMin, hasMax bool
}

var (
	codeRE   = lazyre.New(`^[A-Za-z0-9_.-]{1,32}$`)
	langRE   = lazyre.New(`^[a-z]{2}$`)
	reserved = []string{"study_code", "interview_date", "interviewer", "month", "due_date", "window_opens", "window_closes"}
)

// ParseCodebook reads and checks a codebook. waves are the protocol's wave
// ids (nil: not checked). Every problem is returned at once, with its line.
func ParseCodebook(name string, text []byte, waves []string) (*Codebook, error) {
	cb := &Codebook{text: append([]byte(nil), text...)}
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, dataerr.List{dataerr.New(name, "the codebook file is empty")}
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(cb); err != nil {
		return nil, yamlErrors(name, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, yamlErrors(name, err)
	}
	lines := variableLines(&doc)
	for i, v := range cb.Variables {
		if v == nil {
			return nil, dataerr.List{{File: name, Line: lineAt(lines, i), Err: errors.New("an empty variable entry")}}
		}
		v.line = lineAt(lines, i)
	}
	if errs := cb.check(name, waves); len(errs) > 0 {
		return nil, errs
	}
	return cb, nil
}

func lineAt(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

// variableLines returns the line of each entry of the variables list.
func variableLines(doc *yaml.Node) []int {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "variables" {
			var out []int
			for _, n := range m.Content[i+1].Content {
				out = append(out, n.Line)
			}
			return out
		}
	}
	return nil
}

var yamlLine = lazyre.New(`line (\d+): (.*)`)

func yamlErrors(name string, err error) error {
	var out dataerr.List
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		if g := yamlLine().FindStringSubmatch(m); g != nil {
			n, _ := strconv.Atoi(g[1])
			out = append(out, &dataerr.Error{File: name, Line: n, Err: errors.New(g[2])})
			continue
		}
		out = append(out, dataerr.New(name, "%s", m))
	}
	return out
}

// SHA256 is the hash of the codebook file as read.
func (cb *Codebook) SHA256() string {
	s := sha256.Sum256(cb.text)
	return hex.EncodeToString(s[:])
}

// Text is the codebook file as read.
func (cb *Codebook) Text() []byte { return cb.text }

// Variable returns the variable called name, or nil.
func (cb *Codebook) Variable(name string) *Variable { return cb.byName[name] }

// Form returns the variables asked in a form, in codebook order.
func (cb *Codebook) Form(form string) []*Variable {
	var out []*Variable
	for _, v := range cb.Variables {
		if slices.Contains(v.Waves, form) {
			out = append(out, v)
		}
	}
	return out
}

// IsMissing reports whether s is a declared missing code (compared as
// numbers when both are numbers: "-99.0" is -99) or its label, and returns
// the code.
func (cb *Codebook) IsMissing(s string) (string, bool) {
	if s == "" || len(cb.Missing) == 0 {
		return "", false
	}
	// A value whose first byte is ASCII lower-cases to a first byte that
	// only that byte's case gives: unless a code or label starts with it,
	// the value is none of them (most answers, not lower-cased for
	// nothing).
	if b := s[0]; b >= utf8.RuneSelf || cb.missingFirst[unicode.ToLower(rune(b))] {
		if c, ok := cb.missing[strings.ToLower(s)]; ok {
			return c, true
		}
	}
	if c := s[0]; c == '-' || c == '+' || c >= '0' && c <= '9' || c == '.' {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			for i, v := range cb.missingNum {
				if v == f {
					return cb.Missing[i].Code, true
				}
			}
		}
	}
	return "", false
}

// indexMissing maps each missing code and label (lower case) to its code.
func (cb *Codebook) indexMissing() {
	cb.missing = map[string]string{}
	cb.missingFirst = [utf8.RuneSelf]bool{}
	cb.missingNum = make([]float64, len(cb.Missing))
	for i, m := range cb.Missing {
		cb.missing[strings.ToLower(m.Code)] = m.Code
		for _, l := range m.Label {
			if l = strings.ToLower(strings.TrimSpace(l)); l != "" {
				cb.missing[l] = m.Code
			}
		}
		f, err := strconv.ParseFloat(m.Code, 64)
		if err != nil {
			f = math.NaN()
		}
		cb.missingNum[i] = f
	}
	for k := range cb.missing {
		if k != "" && k[0] < utf8.RuneSelf {
			cb.missingFirst[k[0]] = true
		}
	}
}

func (cb *Codebook) check(name string, waves []string) dataerr.List {
	var errs dataerr.List
	at := func(line int, format string, args ...any) {
		errs = append(errs, &dataerr.Error{File: name, Line: line, Err: fmt.Errorf(format, args...)})
	}
	if cb.Version != FormatVersion {
		at(1, "version: %d is not a codebook format this rct reads (%d)", cb.Version, FormatVersion)
	}
	if cb.Codebook.ID == "" || cb.Codebook.Version == "" {
		at(1, "codebook: id and version are required (the version is written into every template)")
	}
	if len(cb.Languages) == 0 {
		at(1, "languages: give at least one label language, e.g. [nl, en]")
	}
	for _, l := range cb.Languages {
		if !langRE().MatchString(l) {
			at(1, "languages: %q is not a two-letter language code", l)
		}
	}
	label := func(line int, what string, t Text) {
		for _, l := range cb.Languages {
			if strings.TrimSpace(t[l]) == "" {
				at(line, "%s: no label in %q", what, l)
			}
		}
		for l := range t {
			if !slices.Contains(cb.Languages, l) {
				at(line, "%s: label in %q, which is not in languages", what, l)
			}
		}
	}
	cb.indexMissing()
	for _, m := range cb.Missing {
		if _, err := strconv.ParseFloat(m.Code, 64); err != nil {
			at(1, "missing: code %q is not a number (missing codes are numbers such as -99)", m.Code)
		}
		label(1, "missing code "+m.Code, m.Label)
	}
	for id, l := range cb.Lists {
		if !trial.ValidID(id) {
			at(1, "lists: %q is not a valid list name (lower case, digits, _)", id)
		}
		if len(l) == 0 {
			at(1, "lists: %s has no choices", id)
		}
		seen := map[string]bool{}
		for _, c := range l {
			if !codeRE().MatchString(c.Code) {
				at(1, "lists: %s: code %q is not valid (letters, digits, _ . -; at most 32)", id, c.Code)
			}
			if seen[c.Code] {
				at(1, "lists: %s: code %q appears twice", id, c.Code)
			}
			if _, ok := cb.IsMissing(c.Code); ok {
				at(1, "lists: %s: code %q is also a missing code", id, c.Code)
			}
			seen[c.Code] = true
			label(1, "lists: "+id+": choice "+c.Code, c.Label)
		}
	}
	cb.byName = map[string]*Variable{}
	for _, v := range cb.Variables {
		switch {
		case !trial.ValidID(v.Name):
			at(v.line, "variable %q: a name is a lower-case letter, then up to 31 lower-case letters, digits or _", v.Name)
		case slices.Contains(reserved, v.Name):
			at(v.line, "variable %q: the name is reserved for a column rct writes itself", v.Name)
		case cb.byName[v.Name] != nil:
			at(v.line, "variable %q is defined twice (also line %d)", v.Name, cb.byName[v.Name].line)
		}
		cb.byName[v.Name] = v
		label(v.line, "variable "+v.Name, v.Label)
		f := strings.Fields(v.Type)
		if len(f) > 0 {
			v.Kind = f[0]
		}
		switch {
		case len(f) == 1 && slices.Contains([]string{Integer, Decimal, TextType, Date}, v.Kind):
		case len(f) == 2 && (v.Kind == SelectOne || v.Kind == SelectMultiple):
			v.List = f[1]
			if cb.Lists[v.List] == nil {
				at(v.line, "variable %s: list %q is not defined under lists", v.Name, v.List)
			}
		default:
			at(v.line, "variable %s: type %q is not integer, decimal, text, date, select_one LIST or select_multiple LIST", v.Name, v.Type)
		}
		var err error
		if v.hard, err = v.parseRange(v.Hard); err != nil {
			at(v.line, "variable %s: hard range: %v", v.Name, err)
		}
		if v.soft, err = v.parseRange(v.Soft); err != nil {
			at(v.line, "variable %s: soft range: %v", v.Name, err)
		}
		if len(v.Waves) == 0 {
			at(v.line, "variable %s: waves: say in which waves (or caselog) it is asked", v.Name)
		}
		for _, w := range v.Waves {
			if w != CaseLog && waves != nil && !slices.Contains(waves, w) {
				at(v.line, "variable %s: wave %q is not a wave of the protocol (%s) nor caselog", v.Name, w, strings.Join(waves, ", "))
			}
		}
		if v.Constraint != "" && len(v.ConstraintMessage) == 0 {
			at(v.line, "variable %s: a constraint needs a constraint_message for the interviewer", v.Name)
		}
	}
	// Expressions last: they refer to other variables.
	for _, v := range cb.Variables {
		var err error
		if v.Relevant != "" {
			if v.relevant, err = ParseExpr(v.Relevant, false); err != nil {
				at(v.line, "variable %s: relevant: %v", v.Name, err)
			} else {
				cb.checkRefs(v, "relevant", v.relevant, at)
			}
		}
		if v.Constraint != "" {
			if v.constraint, err = ParseExpr(v.Constraint, true); err != nil {
				at(v.line, "variable %s: constraint: %v", v.Name, err)
			} else {
				cb.checkRefs(v, "constraint", v.constraint, at)
			}
		}
	}
	return errs
}

// checkRefs checks that an expression names variables asked in every form
// where v is asked, and select_multiple ones only through selected().
func (cb *Codebook) checkRefs(v *Variable, what string, e Expr, at func(int, string, ...any)) {
	for _, r := range e.Refs() {
		o := cb.byName[r]
		if o == nil {
			at(v.line, "variable %s: %s refers to %q, which is not a variable", v.Name, what, r)
			continue
		}
		if o == v && what == "relevant" {
			at(v.line, "variable %s: relevant refers to the variable itself", v.Name)
		}
		for _, w := range v.Waves {
			if !slices.Contains(o.Waves, w) {
				at(v.line, "variable %s: %s refers to %s, which is not asked in %s", v.Name, what, r, w)
			}
		}
	}
}

func (v *Variable) parseRange(r *Range) (numRange, error) {
	var out numRange
	if r == nil {
		return out, nil
	}
	if v.Kind != Integer && v.Kind != Decimal && v.Kind != Date {
		return out, fmt.Errorf("only integer, decimal and date variables have ranges")
	}
	parse := func(s string) (float64, error) {
		if v.Kind == Date {
			t, err := sheet.ParseDate(s, false)
			if err != nil {
				return 0, err
			}
			return float64(t.Unix() / 86400), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	}
	var err error
	if r.Min != "" {
		if out.min, err = parse(r.Min); err != nil {
			return out, err
		}
		out.hasMin = true
	}
	if r.Max != "" {
		if out.max, err = parse(r.Max); err != nil {
			return out, err
		}
		out.hasMax = true
	}
	if out.hasMin && out.hasMax && out.min > out.max {
		return out, fmt.Errorf("min %s is above max %s", r.Min, r.Max)
	}
	return out, nil
}

// outside reports whether x lies outside the range.
func (r numRange) outside(x float64) bool {
	return r.hasMin && x < r.min || r.hasMax && x > r.max
}

// Describe writes the range for people: "0 to 20", "at least 0".
func (r *Range) Describe() string {
	switch {
	case r == nil || r.Min == "" && r.Max == "":
		return ""
	case r.Max == "":
		return "≥ " + r.Min
	case r.Min == "":
		return "≤ " + r.Max
	}
	return r.Min + " to " + r.Max
}

// Asked says whether the question is asked given the answers so far (stored
// codes by variable name): it has no relevance condition, or it holds.
func (v *Variable) Asked(env Env) bool { return v.relevant == nil || v.relevant.eval(env) }

// ChoiceLabel is the label of a list's choice in lang (the drop-down shows
// it; the import maps it back to the code), or the code when the list has
// no such choice.
func (cb *Codebook) ChoiceLabel(list, code, lang string) string {
	for _, c := range cb.Lists[list] {
		if c.Code == code {
			return c.Label.In(lang, cb.Languages)
		}
	}
	return code
}
