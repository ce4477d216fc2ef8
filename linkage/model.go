package linkage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"

	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/trial"
)

// Date is a calendar date whose parts may be unknown (0), as registers
// write "00" for an unknown day or month.
type Date struct{ Y, M, D int }

// Known reports whether every part is known.
func (d Date) Known() bool { return d.Y > 0 && d.M > 0 && d.D > 0 }

func (d Date) digits() string {
	return fmt.Sprintf("%04d%02d%02d", d.Y, d.M, d.D)
}

// Person is a person as a register or the trial knows them, with names
// normalised by ident.NormalizeName.
type Person struct {
	Last, First string
	Birth       Date
	Postcode    string
}

// Fields compared, and their levels. A level of -1 means the field is
// missing on either side: it adds nothing to the match weight.
const (
	FieldLast = iota
	FieldFirst
	FieldBirth
	FieldPostcode
	NFields
)

// Name levels: exact, Jaro-Winkler ≥ 0.94, ≥ 0.88, other.
// Birth-date levels: exact, day and month swapped, one digit off, within a
// year, other. Postcode levels: exact, other.
var (
	FieldNames = [NFields]string{"last_name", "first_name", "birth_date", "postcode"}
	Levels     = [NFields]int{4, 4, 5, 2}
)

// Pattern is the comparison of two persons: one level per field.
type Pattern [NFields]int8

// Compare returns the comparison pattern of a and b.
func Compare(a, b *Person) Pattern {
	var p Pattern
	p[FieldLast] = nameLevel(a.Last, b.Last)
	p[FieldFirst] = nameLevel(a.First, b.First)
	p[FieldBirth] = dateLevel(a.Birth, b.Birth)
	p[FieldPostcode] = -1
	if a.Postcode != "" && b.Postcode != "" {
		p[FieldPostcode] = 1
		if a.Postcode == b.Postcode {
			p[FieldPostcode] = 0
		}
	}
	return p
}

func nameLevel(a, b string) int8 {
	if a == "" || b == "" {
		return -1
	}
	if a == b {
		return 0
	}
	switch jw := JaroWinkler(a, b); {
	case jw >= 0.94:
		return 1
	case jw >= 0.88:
		return 2
	}
	return 3
}

func dateLevel(a, b Date) int8 {
	if !a.Known() || !b.Known() {
		// 00 parts are unknown: compare what is known only when the year
		// is, and then only as "within a year" or not.
		if a.Y == 0 || b.Y == 0 {
			return -1
		}
		if abs(a.Y-b.Y) <= 1 {
			return 3
		}
		return 4
	}
	switch {
	case a == b:
		return 0
	case a.Y == b.Y && a.M == b.D && a.D == b.M:
		return 1
	case oneDigitOff(a, b):
		return 2
	}
	ta := float64(a.Y)*365.25 + float64(a.M)*30.44 + float64(a.D)
	tb := float64(b.Y)*365.25 + float64(b.M)*30.44 + float64(b.D)
	if math.Abs(ta-tb) <= 366 {
		return 3
	}
	return 4
}

// oneDigitOff reports whether the dates' digits (YYYYMMDD) are one edit
// apart. Both are known dates. When every part fits its width, both
// strings have 8 digits, and one edit between strings of the same length
// is one changed digit: the digits are compared in place, without making
// the strings (this runs for every candidate pair).
func oneDigitOff(a, b Date) bool {
	if a.Y > 9999 || b.Y > 9999 || a.M > 99 || b.M > 99 || a.D > 99 || b.D > 99 {
		return Levenshtein(a.digits(), b.digits()) == 1
	}
	off := 0
	for _, x := range [...][2]int{{a.Y, b.Y}, {a.M, b.M}, {a.D, b.D}} {
		for x[0] != x[1] {
			if x[0]%10 != x[1]%10 {
				off++
			}
			x[0], x[1] = x[0]/10, x[1]/10
		}
	}
	return off == 1
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Model holds the Fellegi-Sunter probabilities: M[f][l] = P(level l | match),
// U[f][l] = P(level l | non-match), and Lambda, the share of matches among
// the compared pairs.
type Model struct {
	M, U   [NFields][]float64
	Lambda float64
	// TF, when set, gives the share of persons with each last name: an
	// exact agreement on a common name (Peeters, Mohamed) weighs less than
	// on a rare one.
	TF map[string]float64
}

// Weight is the match weight Σ log2(m/u) over the fields present, with the
// exact last-name agreement's u replaced by the name's frequency when TF
// is set.
func (m *Model) Weight(p Pattern, lastName string) float64 {
	w := 0.0
	for f := 0; f < NFields; f++ {
		l := p[f]
		if l < 0 {
			continue
		}
		u := m.U[f][l]
		if f == FieldLast && l == 0 && m.TF != nil {
			if tf, ok := m.TF[lastName]; ok && tf > 0 {
				u = tf
			}
		}
		w += math.Log2(m.M[f][l] / u)
	}
	return w
}

// Probability turns a match weight into the posterior probability of a
// match: λ2^w / (λ2^w + 1 − λ).
func (m *Model) Probability(w float64) float64 {
	a := m.Lambda * math.Exp2(w)
	return a / (a + 1 - m.Lambda)
}

// floor keeps probabilities away from 0 so that weights stay finite.
const floor = 1e-6

func normalise(x []float64) {
	s := 0.0
	for i := range x {
		x[i] = math.Max(x[i], floor)
		s += x[i]
	}
	for i := range x {
		x[i] /= s
	}
}

// EstimateU estimates the u probabilities from random pairs of a register
// person and a trial person, almost all of them non-matches.
func EstimateU(reg, trial []Person, samples int, src *rand.Rand) [NFields][]float64 {
	var u [NFields][]float64
	for f := 0; f < NFields; f++ {
		u[f] = make([]float64, Levels[f])
	}
	for s := 0; s < samples; s++ {
		p := Compare(&reg[src.IntN(len(reg))], &trial[src.IntN(len(trial))])
		for f := 0; f < NFields; f++ {
			if p[f] >= 0 {
				u[f][p[f]]++
			}
		}
	}
	for f := 0; f < NFields; f++ {
		normalise(u[f])
	}
	return u
}

// EM estimates m and λ from the patterns of the candidate pairs by the
// expectation-maximisation algorithm of the two-class mixture with
// conditionally independent fields, u held fixed (from random pairs).
// Patterns are counted first, so the cost does not grow with the pairs.
func EM(patterns []Pattern, u [NFields][]float64, iterations int) Model {
	count := map[Pattern]float64{}
	for _, p := range patterns {
		count[p]++
	}
	return emCounts(count, float64(len(patterns)), u, iterations)
}

// emCounts is EM on patterns counted: count[p] pairs have pattern p, total
// in all.
func emCounts(count map[Pattern]float64, total float64, u [NFields][]float64, iterations int) Model {
	m := Model{U: u, Lambda: 0.1}
	for f := 0; f < NFields; f++ {
		m.M[f] = make([]float64, Levels[f])
		// Start from: matches agree.
		for l := range m.M[f] {
			m.M[f][l] = 0.05 / float64(Levels[f]-1)
		}
		m.M[f][0] = 0.95
	}
	keys := make([]Pattern, 0, len(count))
	for p := range count {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool { return patternLess(keys[i], keys[j]) })
	for it := 0; it < iterations; it++ {
		var mNew [NFields][]float64
		for f := 0; f < NFields; f++ {
			mNew[f] = make([]float64, Levels[f])
		}
		sumG := 0.0
		for _, p := range keys {
			c := count[p]
			pm, pu := m.Lambda, 1-m.Lambda
			for f := 0; f < NFields; f++ {
				if p[f] >= 0 {
					pm *= m.M[f][p[f]]
					pu *= m.U[f][p[f]]
				}
			}
			g := pm / (pm + pu)
			sumG += c * g
			for f := 0; f < NFields; f++ {
				if p[f] >= 0 {
					mNew[f][p[f]] += c * g
				}
			}
		}
		m.Lambda = math.Min(math.Max(sumG/total, floor), 1-floor)
		for f := 0; f < NFields; f++ {
			normalise(mNew[f])
			m.M[f] = mNew[f]
		}
	}
	return m
}

func patternLess(a, b Pattern) bool {
	for f := 0; f < NFields; f++ {
		if a[f] != b[f] {
			return a[f] < b[f]
		}
	}
	return false
}

// Estimate fits the model as Splink does: u from random pairs, m by EM on
// each blocking rule's pairs with the rule's own fields left out (so that
// agreement forced by the block is not taken for evidence of a match), the
// m of a field averaged over the rules that leave it free; λ is the
// largest expected share of matches any rule finds, over all candidate
// pairs.
func Estimate(reg, trial []Person, rules []Rule, uSamples, iterations int, src *rand.Rand, prog progress.Func) (Model, *Pairs, BlockReport) {
	u := EstimateU(reg, trial, uSamples, src)
	pairs, rep := Candidates(reg, trial, rules, prog)
	m := Model{U: u}
	var sum [NFields][]float64
	var nrules [NFields]int
	for f := 0; f < NFields; f++ {
		sum[f] = make([]float64, Levels[f])
	}
	matches := 0.0
	for r, rule := range rules {
		if pairs.ruleN[r] == 0 {
			continue
		}
		fit := emCounts(pairs.ruleCount[r], float64(pairs.ruleN[r]), u, iterations)
		matches = math.Max(matches, fit.Lambda*float64(pairs.ruleN[r]))
		for f := 0; f < NFields; f++ {
			if slices.Contains(rule.Uses, f) {
				continue
			}
			for l := range sum[f] {
				sum[f][l] += fit.M[f][l]
			}
			nrules[f]++
		}
	}
	for f := 0; f < NFields; f++ {
		m.M[f] = make([]float64, Levels[f])
		if nrules[f] == 0 {
			// No rule leaves the field free: assume matches agree.
			m.M[f][0] = 0.95
			for l := 1; l < Levels[f]; l++ {
				m.M[f][l] = 0.05 / float64(Levels[f]-1)
			}
			continue
		}
		for l := range m.M[f] {
			m.M[f][l] = sum[f][l] / float64(nrules[f])
		}
		normalise(m.M[f])
	}
	m.Lambda = floor
	if pairs.n > 0 {
		m.Lambda = math.Min(math.Max(matches/float64(pairs.n), floor), 1-floor)
	}
	return m, pairs, rep
}

// Rule is a blocking rule: only pairs with the same non-empty key are
// compared. Uses lists the fields the key is made of: within the rule's
// block they agree more than at random, so the rule's pairs do not
// estimate those fields' m probabilities.
type Rule struct {
	Name string
	Key  func(*Person) string
	Uses []int
}

// DefaultRules block on birth year with the first two letters of the last
// name, and on the first three letters of last and first name (which
// survives a wrong birth date).
var DefaultRules = []Rule{
	{"birth year + last name[:2]", func(p *Person) string {
		if p.Birth.Y == 0 || len(p.Last) < 2 {
			return ""
		}
		return strconv.Itoa(p.Birth.Y) + "|" + prefix(p.Last, 2)
	}, []int{FieldBirth, FieldLast}},
	{"last name[:3] + first name[:3]", func(p *Person) string {
		if p.Last == "" || p.First == "" {
			return ""
		}
		return prefix(p.Last, 3) + "|" + prefix(p.First, 3)
	}, []int{FieldLast, FieldFirst}},
	{"birth date + postcode", func(p *Person) string {
		if !p.Birth.Known() || p.Postcode == "" {
			return ""
		}
		return p.Birth.digits() + "|" + p.Postcode
	}, []int{FieldBirth, FieldPostcode}},
}

func prefix(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

// BlockReport counts the pairs each rule makes and names the largest
// blocks, so that a rule that compares too much is seen.
type BlockReport struct {
	Rules   []RuleCount `json:"rules"`
	Pairs   int         `json:"pairs"` // distinct pairs over all rules
	Largest []Block     `json:"largest_blocks"`
}

// RuleCount is one rule's pair count.
type RuleCount struct {
	Rule  string `json:"rule"`
	Pairs int    `json:"pairs"`
}

// Block is one block's key and size.
type Block struct {
	Rule  string `json:"rule"`
	Key   string `json:"key"`
	Pairs int    `json:"pairs"`
}

// Decision is the outcome for one register person.
type Decision struct {
	Register    int     // index of the register person
	Trial       int     // index of the trial person, -1 when none
	Weight      float64 // match weight of the best pair
	Probability float64
	Class       string // link, review, none, ambiguous
}

// Classes of decisions.
const (
	ClassLink      = "link"
	ClassReview    = "review"
	ClassNone      = "none"
	ClassAmbiguous = "ambiguous" // two trial persons are as likely: reported, not linked
)

// Assign scores the candidate pairs and links one to one: pairs in order
// of weight, each register and each trial person used once. A register
// person whose two best candidates are both above the lower threshold and
// within one bit of each other is ambiguous. Probabilities at or above
// upper link, between lower and upper go to clerical review.
func Assign(pairs *Pairs, m *Model, upper, lower float64) []Decision {
	sc := pairs.score(m, lower)
	out := make([]Decision, len(pairs.reg))
	for i := range out {
		out[i] = Decision{Register: i, Trial: -1, Class: ClassNone, Weight: sc.bestW[i], Probability: sc.bestP[i]}
	}
	usedR, usedT := make([]bool, len(pairs.reg)), make([]bool, len(pairs.trial))
	sc.inOrder(func(s scoredPair) {
		if usedR[s.i] || usedT[s.j] || s.p < lower {
			return
		}
		usedR[s.i] = true
		i, j := int(s.i), int(s.j)
		if sc.ambiguous[i] {
			out[i] = Decision{Register: i, Trial: j, Weight: s.w, Probability: s.p, Class: ClassAmbiguous}
			return
		}
		usedT[j] = true
		class := ClassReview
		if s.p >= upper {
			class = ClassLink
		}
		out[i] = Decision{Register: i, Trial: j, Weight: s.w, Probability: s.p, Class: class}
	})
	return out
}

// Evaluation compares decisions with a labelled sample.
type Evaluation struct {
	TruePositives  int     `json:"true_positives"`
	FalsePositives int     `json:"false_positives"`
	FalseNegatives int     `json:"false_negatives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
}

// Evaluate scores the links (class link) against truth: register index →
// trial index of the true match (absent when the register person is not in
// the trial).
func Evaluate(decisions []Decision, truth map[int]int) Evaluation {
	var e Evaluation
	for _, d := range decisions {
		t, in := truth[d.Register]
		switch {
		case d.Class == ClassLink && in && t == d.Trial:
			e.TruePositives++
		case d.Class == ClassLink:
			e.FalsePositives++
			if in {
				e.FalseNegatives++
			}
		case in:
			e.FalseNegatives++
		}
	}
	e.score()
	return e
}

// score fills precision, recall and F1 from the counts.
func (e *Evaluation) score() {
	if e.TruePositives+e.FalsePositives > 0 {
		e.Precision = float64(e.TruePositives) / float64(e.TruePositives+e.FalsePositives)
	}
	if e.TruePositives+e.FalseNegatives > 0 {
		e.Recall = float64(e.TruePositives) / float64(e.TruePositives+e.FalseNegatives)
	}
	if e.Precision+e.Recall > 0 {
		e.F1 = 2 * e.Precision * e.Recall / (e.Precision + e.Recall)
	}
}

// EvaluateLinks scores a dry-run linkage of a labelled sample: a link is
// right when the trial person linked belongs to the family the label
// names. Links under review count as not linked (and are counted apart).
func EvaluateLinks(decisions []LinkDecision) (e Evaluation, review int) {
	for _, d := range decisions {
		truth := d.Person.Truth
		switch {
		case d.Status == "linked" && truth != "" && d.StudyCode == truth:
			e.TruePositives++
		case d.Status == "linked":
			e.FalsePositives++
			if truth != "" {
				e.FalseNegatives++
			}
		default:
			if d.Status == "review" {
				review++
			}
			if truth != "" {
				e.FalseNegatives++
			}
		}
	}
	e.score()
	return e, review
}

// Fix replaces estimated parameters by the protocol's fixed ones (nil: none)
// and returns which were fixed ("m.last_name", "u.postcode", "lambda").
func (m *Model) Fix(p *trial.LinkageParams) []string {
	if p == nil {
		return nil
	}
	var fixed []string
	for f, name := range FieldNames {
		if v, ok := p.M[name]; ok && len(v) == Levels[f] {
			m.M[f] = append([]float64(nil), v...)
			fixed = append(fixed, "m."+name)
		}
		if v, ok := p.U[name]; ok && len(v) == Levels[f] {
			m.U[f] = append([]float64(nil), v...)
			fixed = append(fixed, "u."+name)
		}
	}
	if p.Lambda > 0 {
		m.Lambda = p.Lambda
		fixed = append(fixed, "lambda")
	}
	return fixed
}
