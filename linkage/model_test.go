package linkage

import (
	"math/rand/v2"
	"testing"

	"github.com/rct-trials/rct/ident"
)

func TestCompareLevels(t *testing.T) {
	base := Person{Last: ident.NormalizeName("Van den Broucke"), First: "helene", Birth: Date{1985, 7, 3}, Postcode: "8500"}
	cases := []struct {
		name string
		b    Person
		f    int
		want int8
	}{
		{"particle spacing", Person{Last: ident.NormalizeName("Vandenbroucke")}, FieldLast, 0},
		{"one letter", Person{Last: "vandenbrouke"}, FieldLast, 1},
		{"accent", Person{First: ident.NormalizeName("Hélène")}, FieldFirst, 0},
		{"day-month swapped", Person{Birth: Date{1985, 3, 7}}, FieldBirth, 1},
		{"one digit off", Person{Birth: Date{1985, 7, 8}}, FieldBirth, 2},
		{"within a year", Person{Birth: Date{1986, 2, 1}}, FieldBirth, 3},
		{"other date", Person{Birth: Date{1990, 1, 1}}, FieldBirth, 4},
		{"unknown day, same year", Person{Birth: Date{1985, 7, 0}}, FieldBirth, 3},
		{"unknown year", Person{Birth: Date{0, 0, 0}}, FieldBirth, -1},
		{"postcode", Person{Postcode: "8510"}, FieldPostcode, 1},
		{"no postcode", Person{}, FieldPostcode, -1},
	}
	for _, c := range cases {
		b := base
		switch c.f {
		case FieldLast:
			b.Last = c.b.Last
		case FieldFirst:
			b.First = c.b.First
		case FieldBirth:
			b.Birth = c.b.Birth
		case FieldPostcode:
			b.Postcode = c.b.Postcode
		}
		if got := Compare(&base, &b)[c.f]; got != c.want {
			t.Errorf("%s: level %d, want %d", c.name, got, c.want)
		}
	}
}

// synth makes trial persons and a register in which some of them appear
// with errors: typos, swapped day and month, unknown day, a moved family.
func synth(nTrial, nMatch, nOther int, seed uint64) (trial, reg []Person, truth map[int]int) {
	src := rand.New(rand.NewPCG(seed, 1))
	// Surnames: 20 × 15 combinations with a skewed frequency (a few are
	// common, as Peeters and Mohamed are); first names: 60.
	heads := []string{"van", "de", "ver", "mah", "pee", "jans", "cla", "des", "ben", "el", "haas", "mer", "wou", "goe", "lef", "dup", "yil", "far", "ali", "oz"}
	tails := []string{"ters", "sens", "haeghe", "med", "broucke", "amrani", "mets", "tens", "lefs", "ebvre", "mazt", "ahi", "turk", "thals", "douw"}
	var last []string
	for _, h := range heads {
		for _, t := range tails {
			last = append(last, h+t)
		}
	}
	var first []string
	for _, a := range []string{"sa", "fa", "he", "a", "la", "kha", "na", "ho", "e", "ma", "ya", "so"} {
		for _, b := range []string{"rah", "tima", "lene", "mina", "dan"} {
			first = append(first, a+b)
		}
	}
	person := func() Person {
		l := last[min(src.IntN(len(last)), src.IntN(len(last)), src.IntN(len(last)))]
		return Person{Last: l, First: first[src.IntN(len(first))],
			Birth: Date{1970 + src.IntN(40), 1 + src.IntN(12), 1 + src.IntN(28)}, Postcode: "85" + string(rune('0'+src.IntN(8))) + "0"}
	}
	for i := 0; i < nTrial; i++ {
		trial = append(trial, person())
	}
	truth = map[int]int{}
	perm := src.Perm(nTrial)
	for k := 0; k < nMatch; k++ {
		j := perm[k] // each trial person at most once: the register holds persons
		p := trial[j]
		switch src.IntN(6) {
		case 0: // typo in the last name
			r := []rune(p.Last)
			r[src.IntN(len(r))] = 'x'
			p.Last = string(r)
		case 1: // day and month swapped
			if p.Birth.D <= 12 {
				p.Birth.M, p.Birth.D = p.Birth.D, p.Birth.M
			}
		case 2: // unknown day
			p.Birth.D = 0
		case 3: // moved
			p.Postcode = "8900"
		}
		truth[len(reg)] = j
		reg = append(reg, p)
	}
	for k := 0; k < nOther; k++ {
		reg = append(reg, person())
	}
	return
}

// TestLinkageRecoversTruth: on a synthetic register with errors, EM and
// one-to-one assignment link with high precision and recall.
func TestLinkageRecoversTruth(t *testing.T) {
	trial, reg, truth := synth(2000, 1200, 15000, 1)
	m, pairs, rep := Estimate(reg, trial, DefaultRules, 200_000, 500, rand.New(rand.NewPCG(2, 2)), nil)
	if rep.Pairs == 0 || len(rep.Largest) == 0 {
		t.Fatalf("blocking: %+v", rep)
	}
	if m.M[FieldBirth][0] < 0.5 || m.M[FieldLast][0] < 0.5 || m.M[FieldFirst][0] < 0.8 {
		t.Errorf("EM: m(birth exact) = %.3f, m(last exact) = %.3f, m(first exact) = %.3f", m.M[FieldBirth][0], m.M[FieldLast][0], m.M[FieldFirst][0])
	}
	// Linking above a posterior of 0.99, review between 0.5 and 0.99.
	d := Assign(pairs, &m, 0.99, 0.5)
	e := Evaluate(d, truth)
	review := 0
	for _, x := range d {
		if x.Class == ClassReview {
			review++
		}
	}
	t.Logf("%d pairs; λ = %.4f; %d to review; %+v", pairs.Len(), m.Lambda, review, e)
	if e.Precision < 0.97 || e.Recall < 0.9 {
		t.Errorf("precision %.3f, recall %.3f", e.Precision, e.Recall)
	}
}

// TestAmbiguousNotLinked: a register person matching two trial persons
// equally well is reported, not linked to either.
func TestAmbiguousNotLinked(t *testing.T) {
	trial := []Person{
		{Last: "peeters", First: "sarah", Birth: Date{1990, 1, 1}, Postcode: "8500"},
		{Last: "peeters", First: "sarah", Birth: Date{1990, 1, 1}, Postcode: "8500"},
		{Last: "maes", First: "tom", Birth: Date{1980, 5, 5}, Postcode: "8510"},
	}
	reg := []Person{{Last: "peeters", First: "sarah", Birth: Date{1990, 1, 1}, Postcode: "8500"}, {Last: "maes", First: "tom", Birth: Date{1980, 5, 5}, Postcode: "8510"}}
	pairs, _ := Candidates(reg, trial, DefaultRules, nil)
	var m Model
	for f := 0; f < NFields; f++ {
		m.M[f] = make([]float64, Levels[f])
		m.U[f] = make([]float64, Levels[f])
		for l := range m.M[f] {
			m.M[f][l], m.U[f][l] = 0.02, 0.3
		}
		m.M[f][0], m.U[f][0] = 0.9, 0.01
	}
	m.Lambda = 0.01
	d := Assign(pairs, &m, 0.9, 0.5)
	if d[0].Class != ClassAmbiguous || d[1].Class != ClassLink || d[1].Trial != 2 {
		t.Errorf("decisions %+v", d)
	}
}

func TestTermFrequency(t *testing.T) {
	var m Model
	for f := 0; f < NFields; f++ {
		m.M[f] = []float64{0.9, 0.05, 0.03, 0.02, 0.01}[:Levels[f]]
		m.U[f] = []float64{0.01, 0.05, 0.1, 0.84, 0.1}[:Levels[f]]
	}
	m.TF = map[string]float64{"peeters": 0.05, "zwartjes": 0.0001}
	p := Pattern{0, 0, 0, 0}
	if m.Weight(p, "peeters") >= m.Weight(p, "zwartjes") {
		t.Error("agreeing on a common surname weighs as much as on a rare one")
	}
}

// TestOneDigitOff: the in-place comparison agrees with the Levenshtein
// distance of the digit strings, widths overflowed included.
func TestOneDigitOff(t *testing.T) {
	src := rand.New(rand.NewPCG(7, 7))
	part := func(n int) int {
		switch src.IntN(20) {
		case 0:
			return 1 + src.IntN(200) // wider than its digits
		case 1:
			return 10000 + src.IntN(3)
		}
		return 1 + src.IntN(n)
	}
	near := func(x int) int {
		switch src.IntN(3) {
		case 0:
			return x
		case 1:
			return x + []int{1, -1, 10, -10, 100, 1000, 9, 11}[src.IntN(8)]
		}
		return part(12)
	}
	n := 0
	for range 200_000 {
		a := Date{1990 + src.IntN(30), part(12), part(28)}
		if src.IntN(50) == 0 {
			a.Y = part(20000)
		}
		b := Date{near(a.Y), near(a.M), near(a.D)}
		if !a.Known() || !b.Known() {
			continue
		}
		want := Levenshtein(a.digits(), b.digits()) == 1
		if got := oneDigitOff(a, b); got != want {
			t.Fatalf("%v %v: %v, want %v (%s %s)", a, b, got, want, a.digits(), b.digits())
		}
		if want {
			n++
		}
	}
	if n < 1000 {
		t.Fatalf("only %d dates one digit off: the test draws too few", n)
	}
}
