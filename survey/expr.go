package survey

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Expr is a relevance or constraint expression, in the spirit of XLSForm:
//
//	expr    = and { "or" and }
//	and     = not { "and" not }
//	not     = "not" not | cmp
//	cmp     = operand [ ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") operand ]
//	operand = NUMBER | 'text' | "text" | "." | NAME | "${" NAME "}"
//	        | "selected(" NAME "," CODE ")" | "(" expr ")"
//
// NAME is another variable of the same form; "." is the answer itself (in
// constraints only). Values compare as numbers when both sides are numbers,
// else as text (dates are yyyy-mm-dd, so they compare in order). A
// comparison with an unanswered or missing-coded variable is false;
// `not` of it is therefore true.
type Expr interface {
	eval(env Env) bool
	// Refs returns the variables the expression reads (not ".").
	Refs() []string
}

// Env gives the value of a variable in canonical text; ok false when it is
// unanswered or a missing code.
type Env func(name string) (string, bool)

type orExpr struct{ a, b Expr }
type andExpr struct{ a, b Expr }
type notExpr struct{ a Expr }
type cmpExpr struct {
	op   string
	l, r operand
}
type selectedExpr struct {
	name, code string
}

type operand struct {
	ref     string // variable name; "." for self
	literal string
	isRef   bool
}

func (e orExpr) eval(env Env) bool  { return e.a.eval(env) || e.b.eval(env) }
func (e andExpr) eval(env Env) bool { return e.a.eval(env) && e.b.eval(env) }
func (e notExpr) eval(env Env) bool { return !e.a.eval(env) }
func (e selectedExpr) eval(env Env) bool {
	v, ok := env(e.name)
	return ok && slices.Contains(strings.Fields(v), e.code)
}
func (e cmpExpr) eval(env Env) bool {
	l, ok1 := e.l.value(env)
	r, ok2 := e.r.value(env)
	if !ok1 || !ok2 {
		return false
	}
	c := 0
	a, e1 := strconv.ParseFloat(l, 64)
	b, e2 := strconv.ParseFloat(r, 64)
	switch {
	case e1 == nil && e2 == nil:
		if a < b {
			c = -1
		} else if a > b {
			c = 1
		}
	default:
		c = strings.Compare(l, r)
	}
	switch e.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func (o operand) value(env Env) (string, bool) {
	if o.isRef {
		return env(o.ref)
	}
	return o.literal, true
}

func (e orExpr) Refs() []string       { return merge(e.a.Refs(), e.b.Refs()) }
func (e andExpr) Refs() []string      { return merge(e.a.Refs(), e.b.Refs()) }
func (e notExpr) Refs() []string      { return e.a.Refs() }
func (e selectedExpr) Refs() []string { return []string{e.name} }
func (e cmpExpr) Refs() []string {
	var out []string
	for _, o := range []operand{e.l, e.r} {
		if o.isRef && o.ref != "." {
			out = append(out, o.ref)
		}
	}
	return out
}

func merge(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

// Eval evaluates e with env.
func Eval(e Expr, env Env) bool { return e.eval(env) }

// ParseExpr parses an expression; self allows "." (constraints).
func ParseExpr(s string, self bool) (Expr, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, self: self}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.i].text)
	}
	return e, nil
}

type tok struct {
	kind byte // n number, s string, i identifier, o operator, p punctuation
	text string
}

func lex(s string) ([]tok, error) {
	var out []tok
	r := []rune(s)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(r) && r[j] != c {
				j++
			}
			if j == len(r) {
				return nil, fmt.Errorf("a quote is not closed")
			}
			out = append(out, tok{'s', string(r[i+1 : j])})
			i = j + 1
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(r) && r[i+1] >= '0' && r[i+1] <= '9' || c == '.' && i+1 < len(r) && r[i+1] >= '0' && r[i+1] <= '9':
			j := i + 1
			for j < len(r) && (r[j] >= '0' && r[j] <= '9' || r[j] == '.') {
				j++
			}
			if _, err := strconv.ParseFloat(string(r[i:j]), 64); err != nil {
				return nil, fmt.Errorf("%q is not a number", string(r[i:j]))
			}
			out = append(out, tok{'n', string(r[i:j])})
			i = j
		case c == '$' && i+1 < len(r) && r[i+1] == '{':
			j := i + 2
			for j < len(r) && r[j] != '}' {
				j++
			}
			if j == len(r) {
				return nil, fmt.Errorf("${ is not closed")
			}
			out = append(out, tok{'i', strings.TrimSpace(string(r[i+2 : j]))})
			i = j + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			j := i + 1
			for j < len(r) && (r[j] >= 'a' && r[j] <= 'z' || r[j] >= 'A' && r[j] <= 'Z' || r[j] >= '0' && r[j] <= '9' || r[j] == '_') {
				j++
			}
			out = append(out, tok{'i', string(r[i:j])})
			i = j
		case strings.ContainsRune("<>!=", c):
			j := i + 1
			if j < len(r) && (r[j] == '=' || c == '<' && r[j] == '>') {
				j++
			}
			op := string(r[i:j])
			switch op {
			case "==":
				op = "="
			case "<>":
				op = "!="
			case "!":
				return nil, fmt.Errorf("%q: write not or !=", op)
			}
			out = append(out, tok{'o', op})
			i = j
		case strings.ContainsRune("(),.", c):
			out = append(out, tok{'p', string(c)})
			i++
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return out, nil
}

type parser struct {
	toks []tok
	i    int
	self bool
}

func (p *parser) peek() (tok, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return tok{}, false
}

func (p *parser) keyword(w string) bool {
	if t, ok := p.peek(); ok && t.kind == 'i' && strings.EqualFold(t.text, w) {
		p.i++
		return true
	}
	return false
}

func (p *parser) punct(s string) bool {
	if t, ok := p.peek(); ok && t.kind == 'p' && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *parser) or() (Expr, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		a = orExpr{a, b}
	}
	return a, nil
}

func (p *parser) and() (Expr, error) {
	a, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		b, err := p.not()
		if err != nil {
			return nil, err
		}
		a = andExpr{a, b}
	}
	return a, nil
}

func (p *parser) not() (Expr, error) {
	if p.keyword("not") {
		a, err := p.not()
		if err != nil {
			return nil, err
		}
		return notExpr{a}, nil
	}
	return p.cmp()
}

func (p *parser) cmp() (Expr, error) {
	if p.punct("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.punct(")") {
			return nil, fmt.Errorf("a parenthesis is not closed")
		}
		return e, nil
	}
	if t, ok := p.peek(); ok && t.kind == 'i' && t.text == "selected" {
		p.i++
		if !p.punct("(") {
			return nil, fmt.Errorf("selected needs (variable, 'code')")
		}
		n, ok := p.peek()
		if !ok || n.kind != 'i' {
			return nil, fmt.Errorf("selected needs a variable first")
		}
		p.i++
		if !p.punct(",") {
			return nil, fmt.Errorf("selected needs (variable, 'code')")
		}
		c, ok := p.peek()
		if !ok || c.kind != 's' && c.kind != 'n' && c.kind != 'i' {
			return nil, fmt.Errorf("selected needs a code second")
		}
		p.i++
		if !p.punct(")") {
			return nil, fmt.Errorf("selected needs (variable, 'code')")
		}
		return selectedExpr{n.text, c.text}, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	t, ok := p.peek()
	if !ok || t.kind != 'o' {
		return nil, fmt.Errorf("a comparison is expected after %s (e.g. %s = 1)", l.describe(), l.describe())
	}
	p.i++
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	return cmpExpr{t.text, l, r}, nil
}

func (o operand) describe() string {
	if o.isRef {
		return o.ref
	}
	return strconv.Quote(o.literal)
}

func (p *parser) operand() (operand, error) {
	t, ok := p.peek()
	if !ok {
		return operand{}, fmt.Errorf("the expression ends too early")
	}
	p.i++
	switch {
	case t.kind == 'n' || t.kind == 's':
		return operand{literal: t.text}, nil
	case t.kind == 'p' && t.text == ".":
		if !p.self {
			return operand{}, fmt.Errorf(`"." (the answer itself) is only for constraints`)
		}
		return operand{ref: ".", isRef: true}, nil
	case t.kind == 'i':
		switch strings.ToLower(t.text) {
		case "and", "or", "not":
			return operand{}, fmt.Errorf("%q where a value is expected", t.text)
		}
		return operand{ref: t.text, isRef: true}, nil
	}
	return operand{}, fmt.Errorf("unexpected %q", t.text)
}
