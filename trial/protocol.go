package trial

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/lazyre"
	"go.yaml.in/yaml/v3"
)

// FormatVersion is the version of the protocol file format this rct reads.
const FormatVersion = 1

// MaxProtocolFile is the largest protocol (or codebook, or simulation)
// file rct reads: real ones are a few kilobytes.
const MaxProtocolFile = 16 << 20

// Protocol is a trial's protocol file: what is randomized, how, who is
// eligible, when families are surveyed, which registers are linked and
// which outcomes are analysed. It is stored in the trial database with its
// SHA-256; changes are numbered amendments.
type Protocol struct {
	Version       int           `yaml:"version"`
	Trial         Info          `yaml:"trial"`
	Arms          []Arm         `yaml:"arms"`
	Randomization Randomization `yaml:"randomization"`
	Eligibility   Eligibility   `yaml:"eligibility"`
	Waves         []Wave        `yaml:"waves"`
	Registers     []Register    `yaml:"registers"`
	Outcomes      []Outcome     `yaml:"outcomes"`
	Analysis      Analysis      `yaml:"analysis"`

	text  []byte
	lines map[string]int
}

// Info identifies the trial.
type Info struct {
	ID         string `yaml:"id"`          // short id, e.g. MISSION
	Title      string `yaml:"title"`       // full title
	Registry   string `yaml:"registry"`    // trial registration, e.g. ISRCTN or ClinicalTrials.gov id
	CodePrefix string `yaml:"code_prefix"` // study codes are PREFIX-0001, ...
}

// Arm is one arm of the trial.
type Arm struct {
	ID    string `yaml:"id"`
	Label string `yaml:"label"`
}

// Randomization methods.
const (
	MethodSimple           = "simple"            // independent draws with the ratio's probabilities
	MethodComplete         = "complete"          // fixed arm sizes for a planned sample size
	MethodBlocks           = "blocks"            // permuted blocks of sizes drawn from block_sizes
	MethodStratifiedBlocks = "stratified_blocks" // one permuted-block sequence per stratum
	MethodMinimization     = "minimization"      // Pocock-Simon over the strata variables as factors
	MethodBigStick         = "big_stick"         // simple draws unless imbalance reaches max_imbalance
)

var methods = []string{MethodSimple, MethodComplete, MethodBlocks, MethodStratifiedBlocks, MethodMinimization, MethodBigStick}

// Randomization says how families are allocated.
type Randomization struct {
	Method     string     `yaml:"method"`
	Ratio      string     `yaml:"ratio"`       // "1:1", "2:1": one integer per arm, in the order of arms
	BlockSizes []int      `yaml:"block_sizes"` // blocks, stratified_blocks: each a multiple of the ratio's sum
	SampleSize int        `yaml:"sample_size"` // complete: the planned number of families
	Strata     []Variable `yaml:"strata"`      // stratification variables (minimization: its factors)
	// Minimization: probability of giving the arm that minimises imbalance,
	// and the imbalance measure (range or variance).
	P         float64 `yaml:"p"`
	Imbalance string  `yaml:"imbalance"`
	// big_stick: the largest tolerated difference in arm counts.
	MaxImbalance int `yaml:"max_imbalance"`
	// Randomize a family only once its baseline survey (the first wave) is in.
	AfterBaseline bool `yaml:"after_baseline"`
}

// Variable is a stratification variable: a column of the referral file
// with a closed list of values.
type Variable struct {
	ID     string   `yaml:"id"`
	Label  string   `yaml:"label"`
	Values []string `yaml:"values"`
	Weight float64  `yaml:"weight"` // minimization weight; 0 means 1
}

// Eligibility is the inclusion rule: weak on at least MinWeak of Domains
// (the kansarmoede-index of Kind en Gezin) and, when required, consent.
type Eligibility struct {
	Index           string   `yaml:"index"`
	Domains         []string `yaml:"domains"`
	MinWeak         int      `yaml:"min_weak"`
	ConsentRequired bool     `yaml:"consent_required"`
}

// Wave is a survey wave: due Offset after the randomization date, and
// accepted from Window.Before before to Window.After after that date.
type Wave struct {
	ID     string     `yaml:"id"`
	Label  string     `yaml:"label"`
	Offset Span       `yaml:"offset"`
	Window WaveWindow `yaml:"window"`
}

// WaveWindow is the tolerance around a wave's due date.
type WaveWindow struct {
	Before Span `yaml:"before"`
	After  Span `yaml:"after"`
}

// Register is an administrative register whose extracts are linked:
// Columns maps rct's field names to the extract's column headers, Events
// maps the extract's event codes to rct event names.
type Register struct {
	ID      string            `yaml:"id"`
	Label   string            `yaml:"label"`
	Columns map[string]string `yaml:"columns"`
	Events  map[string]string `yaml:"events"`
	// Spells are the events that last from their start to their end date
	// (a benefit, a status), running on while no end is given; other
	// events are one-off (a payment on a day).
	Spells []string `yaml:"spells"`
	// Unmapped says what an extract's event codes that Events does not
	// map do: "skip" (the default: counted per code and left out; real
	// extracts carry many codes a trial does not need) or "refuse" (the
	// whole extract is rejected, naming each row).
	Unmapped string `yaml:"unmapped"`
	// Linkage, when given, fixes Fellegi-Sunter parameters instead of
	// estimating them from the extract (m by EM, u from random pairs).
	Linkage *LinkageParams `yaml:"linkage"`
}

// LinkageParams fix the Fellegi-Sunter parameters of a register, per
// compared field: M (the level probabilities among true matches) and U
// (among non-matches), levels in the order of LinkageLevels; Lambda, the
// share of matches among the blocked pairs. Fields left out are estimated.
type LinkageParams struct {
	Lambda float64              `yaml:"lambda"`
	M      map[string][]float64 `yaml:"m"`
	U      map[string][]float64 `yaml:"u"`
}

// LinkageLevels are the comparison levels of each field linked on:
// names exact / Jaro-Winkler ≥ 0.94 / ≥ 0.88 / other; birth date exact /
// day and month swapped / one digit off / within a year / other; postcode
// same / different.
var LinkageLevels = map[string]int{"last_name": 4, "first_name": 4, "birth_date": 5, "postcode": 2}

// RegisterFields are the fields a register's columns map may name;
// event and start are required.
var RegisterFields = []string{"national_number", "first_name", "last_name", "birth_date", "postcode", "event", "start", "end", "amount", "category"}

// Outcome is an analysed outcome.
type Outcome struct {
	ID       string    `yaml:"id"`
	Label    string    `yaml:"label"`
	Type     string    `yaml:"type"`   // binary, continuous or count
	Family   string    `yaml:"family"` // primary, secondary or exploratory: the multiple-testing family
	Source   Source    `yaml:"source"`
	Baseline *Baseline `yaml:"baseline"` // the baseline covariate, if any
}

// Source is where an outcome comes from: a survey variable at some waves,
// or register events aggregated in a window after randomization.
type Source struct {
	Survey    string   `yaml:"survey"`
	Waves     []string `yaml:"waves"`
	Register  string   `yaml:"register"`
	Events    []string `yaml:"events"`
	Window    *Window  `yaml:"window"`
	Aggregate string   `yaml:"aggregate"` // any, count, sum (of amounts), days (covered)
}

// Window is the interval (From, To] relative to the randomization date.
type Window struct {
	From Span `yaml:"from"`
	To   Span `yaml:"to"`
}

// Baseline is the baseline measure of an outcome: the same survey variable
// at Wave, or the same register events in Window (e.g. from: -12m, to: 0d).
type Baseline struct {
	Wave   string  `yaml:"wave"`
	Window *Window `yaml:"window"`
}

// Analysis is the pre-specified analysis: its settings, the baseline
// variables of the balance table and, for the complier effect and the
// dose-response, the variables of the case managers' activity log. Settings
// left out take the defaults package plan resolves (one place for all).
type Analysis struct {
	SEType          string  `yaml:"se_type"`          // classical, HC0-HC3, CR0, CR2, stata (default HC2)
	RIDraws         *int    `yaml:"ri_draws"`         // randomization-inference draws (default 10,000; 0: none)
	Alpha           float64 `yaml:"alpha"`            // significance level (default 0.05)
	MultipleTesting string  `yaml:"multiple_testing"` // none, bonferroni, holm, hochberg, BH, BY, westfall_young, romano_wolf
	// Seed of every random step of the analysis: the randomization-
	// inference draws and the bootstrap (default 1).
	Seed *uint64 `yaml:"seed"`
	// Bootstrap is the number of resamples for the standard errors of the
	// Lee bounds, which the Imbens-Manski interval needs (default 500; 0:
	// no interval).
	Bootstrap *int `yaml:"bootstrap"`
	// Balance lists the baseline variables of the balance table and its
	// joint test (default: every eligibility domain, the number of weak
	// domains and every stratification variable).
	Balance *BalanceVariables `yaml:"balance"`
	// Compliance names the activity-log variables of the complier effect
	// and the dose-response (absent: neither is estimated).
	Compliance *Compliance `yaml:"compliance"`
	// Reference is the arm every other arm is compared with (default: the
	// last arm, the control).
	Reference string `yaml:"reference"`
	// Contrasts are "reference" (each arm minus the reference arm, the
	// default) or "pairs" (every pair of arms).
	Contrasts string `yaml:"contrasts"`
	// StrataAdjustment is how the adjusted model takes the strata:
	// "main_effects" (a dummy for every level but the first of each
	// stratification variable, the default) or "cells" (a dummy for every
	// stratum cell but the first: the randomization blocks, estimatr's
	// fixed_effects = ~ block).
	StrataAdjustment string `yaml:"strata_adjustment"`
	// MultipleTestingContrasts is "pooled" (each outcome family's p-values
	// are adjusted over its outcomes and every contrast together, the
	// default) or "separate" (over the outcomes within each contrast).
	MultipleTestingContrasts string `yaml:"multiple_testing_contrasts"`
}

// ReferenceArm returns the arm of the analysis' reference: the protocol's
// analysis.reference, or the last arm.
func (p *Protocol) ReferenceArm() Arm {
	if a, ok := p.Arm(p.Analysis.Reference); ok {
		return a
	}
	return p.Arms[len(p.Arms)-1]
}

// BalanceVariables are the baseline variables compared between the groups:
// weak on each of Domains (0/1), the number of weak domains, the levels of
// each of Strata, and Survey variables of the first (baseline) wave.
type BalanceVariables struct {
	Domains     []string `yaml:"domains"`
	WeakDomains bool     `yaml:"weak_domains"`
	Strata      []string `yaml:"strata"`
	Survey      []string `yaml:"survey"`
}

// Compliance names the case managers' activity-log variables (codebook
// form caselog): Received is 1 in a month when the family accepted the
// intervention (a family received it when it is 1 in any month); Dose
// variables are summed over the months (contacts).
type Compliance struct {
	Received string   `yaml:"received"`
	Dose     []string `yaml:"dose"`
}

// ValidID reports whether s is an id as a protocol and a codebook spell
// them (arms, waves, outcomes, variables, choice lists): a lower-case
// letter, then up to 31 lower-case letters, digits or _.
func ValidID(s string) bool { return idRE().MatchString(s) }

var (
	idRE       = lazyre.New(`^[a-z][a-z0-9_]{0,31}$`)
	trialIDRE  = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	prefixRE   = lazyre.New(`^[A-Z]{1,4}$`)
	outcomeTyp = []string{"binary", "continuous", "count"}
	families   = []string{"primary", "secondary", "exploratory"}
	aggregates = []string{"any", "count", "sum", "days"}
	seTypes    = []string{"classical", "HC0", "HC1", "HC2", "HC3", "CR0", "CR2", "stata"}
	mtMethods  = []string{"none", "bonferroni", "holm", "hochberg", "BH", "BY", "westfall_young", "romano_wolf"}
)

// ParseProtocol reads and validates a protocol file. name is used in
// messages. Every problem found is returned at once, as a dataerr.List
// with line numbers.
func ParseProtocol(name string, text []byte) (*Protocol, error) {
	p := &Protocol{text: append([]byte(nil), text...), lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, yamlErrors(name, err)
	}
	if len(doc.Content) == 0 {
		return nil, dataerr.List{dataerr.New(name, "the protocol file is empty")}
	}
	var errs dataerr.List
	walk(name, doc.Content[0], reflect.TypeOf(*p), "", p.lines, &errs)
	if err := doc.Content[0].Decode(p); err != nil {
		errs = append(errs, yamlErrors(name, err)...)
	} else {
		// Unknown keys do not stop the checks of the rest; a value of the
		// wrong type does (its zero value would give misleading problems).
		errs = append(errs, p.validate(name)...)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return p, nil
}

var yamlLineRE = lazyre.New(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlErrors turns yaml's messages ("yaml: line 3: ...") into data errors.
func yamlErrors(name string, err error) dataerr.List {
	var msgs []string
	if te, ok := err.(*yaml.TypeError); ok {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out dataerr.List
	for _, m := range msgs {
		e := &dataerr.Error{File: name}
		if g := yamlLineRE().FindStringSubmatch(m); g != nil {
			e.Line, _ = strconv.Atoi(g[1])
			m = g[2]
		}
		e.Err = fmt.Errorf("%s", strings.TrimPrefix(m, "yaml: "))
		out = append(out, e)
	}
	return out
}

// walk checks n against the shape of t: unknown keys are errors, and the
// line of every key and list item is recorded under its path
// ("arms[1].label").
func walk(name string, n *yaml.Node, t reflect.Type, path string, lines map[string]int, errs *dataerr.List) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the wrong kind
		}
		fields := map[string]reflect.Type{}
		var known []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" || !f.IsExported() {
				continue
			}
			fields[tag] = f.Type
			known = append(known, tag)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := join(path, k.Value)
			lines[sub] = k.Line
			ft, ok := fields[k.Value]
			if !ok {
				where := "at the top level"
				if path != "" {
					where = "in " + path
				}
				*errs = append(*errs, &dataerr.Error{File: name, Line: k.Line,
					Err: fmt.Errorf("unknown key %q %s (known keys: %s)", k.Value, where, strings.Join(known, ", "))})
				continue
			}
			walk(name, v, ft, sub, lines, errs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			sub := fmt.Sprintf("%s[%d]", path, i)
			lines[sub] = c.Line
			walk(name, c, t.Elem(), sub, lines, errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			sub := join(path, n.Content[i].Value)
			lines[sub] = n.Content[i].Line
			walk(name, n.Content[i+1], t.Elem(), sub, lines, errs)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// line returns the line of path, or of its nearest recorded parent.
func (p *Protocol) line(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// Text returns the protocol file as read.
func (p *Protocol) Text() []byte { return p.text }

// SHA256 returns the hex SHA-256 of the protocol file as read.
func (p *Protocol) SHA256() string {
	s := sha256.Sum256(p.text)
	return hex.EncodeToString(s[:])
}

// Warnings are what a valid protocol should still make its authors think
// twice about: an unequal ratio makes the groups' sizes, which anyone with
// the database can count by group code, tell which group is which arm.
func (p *Protocol) Warnings() []string {
	var out []string
	r := p.Ratio()
	unequal := false
	for _, x := range r[1:] {
		unequal = unequal || x != r[0]
	}
	if unequal {
		out = append(out, fmt.Sprintf("ratio %s: the groups will differ in size, and anyone who can count the allocations by group code (the database, rct status by group) can tell which group is which arm; blinded staff must not see group sizes", p.Randomization.Ratio))
	}
	if unequal && p.Randomization.Method == MethodMinimization {
		out = append(out, fmt.Sprintf("minimization with ratio %s: minimizing imbalance pulls the groups towards equal sizes, so the realised ratio drifts from %s and allocations near the target become predictable; stratified_blocks keeps the ratio exactly", p.Randomization.Ratio, p.Randomization.Ratio))
	}
	a := p.Analysis
	if len(p.Arms) == 2 && a.Contrasts == "pairs" {
		out = append(out, "analysis.contrasts: pairs: with two arms the only pair is the contrast with the reference")
	}
	if len(p.Arms) > 2 && a.Compliance != nil {
		out = append(out, fmt.Sprintf("analysis.compliance with %d arms: the complier effect and the dose-response are estimated for the contrasts with the reference arm (%s) only, where receiving the intervention means what the log says", len(p.Arms), p.ReferenceArm().ID))
	}
	if len(p.Arms) > 2 && (a.MultipleTesting == "" || a.MultipleTesting == "none") {
		out = append(out, fmt.Sprintf("%d arms and analysis.multiple_testing none: each outcome is tested in %d contrasts and nothing adjusts for it", len(p.Arms), len(p.Arms)-1))
	}
	return out
}

// Ratio returns the allocation ratio, one integer per arm.
func (p *Protocol) Ratio() []int {
	r, _ := parseRatio(p.Randomization.Ratio)
	return r
}

func parseRatio(s string) ([]int, error) {
	parts := strings.Split(s, ":")
	out := make([]int, len(parts))
	for i, x := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil || n < 1 || n > 100 {
			return nil, fmt.Errorf("ratio %q: each part is a whole number from 1 to 100, as in \"1:1\" or \"2:1\"", s)
		}
		out[i] = n
	}
	return out, nil
}

// Stratum returns the stratification variable with that id.
func (p *Protocol) Stratum(id string) (Variable, bool) {
	for _, v := range p.Randomization.Strata {
		if v.ID == id {
			return v, true
		}
	}
	return Variable{}, false
}

// Wave returns the wave with that id.
func (p *Protocol) Wave(id string) (Wave, bool) {
	for _, w := range p.Waves {
		if w.ID == id {
			return w, true
		}
	}
	return Wave{}, false
}

// Arm returns the arm with that id.
func (p *Protocol) Arm(id string) (Arm, bool) {
	for _, a := range p.Arms {
		if a.ID == id {
			return a, true
		}
	}
	return Arm{}, false
}

// ArmIDs returns the ids of the arms in the protocol's order.
func (p *Protocol) ArmIDs() []string {
	ids := make([]string, len(p.Arms))
	for i, a := range p.Arms {
		ids[i] = a.ID
	}
	return ids
}

// OutcomeWindow is a window a register outcome is derived in: the
// outcome's own, or its baseline window (ID the outcome's + "_baseline").
type OutcomeWindow struct {
	Outcome *Outcome
	ID      string
	Label   string
	Window  Window
}

// RegisterWindows lists the windows of the register outcomes in protocol
// order, each outcome's own before its baseline window: what outcomes
// derive stores and data export writes.
func (p *Protocol) RegisterWindows() []OutcomeWindow {
	var out []OutcomeWindow
	for i := range p.Outcomes {
		o := &p.Outcomes[i]
		if o.Source.Register == "" || o.Source.Window == nil {
			continue
		}
		out = append(out, OutcomeWindow{Outcome: o, ID: o.ID, Label: o.Label, Window: *o.Source.Window})
		if o.Baseline != nil && o.Baseline.Window != nil {
			out = append(out, OutcomeWindow{Outcome: o, ID: o.ID + "_baseline", Label: o.Label + " (baseline window)", Window: *o.Baseline.Window})
		}
	}
	return out
}

// Register returns the register with that id.
func (p *Protocol) Register(id string) (Register, bool) {
	for _, r := range p.Registers {
		if r.ID == id {
			return r, true
		}
	}
	return Register{}, false
}
