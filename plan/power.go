package plan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/trial"
)

// ErrPowerQuery marks a power question that is not one rct can answer
// (which quantities are given and which one is left out): the caller's
// mistake, not the data's.
var ErrPowerQuery = errors.New("not a power question rct can answer")

// PowerQuery is a power question: leave out one of N, Delta and Power and
// Power computes it. Nil fields are not given.
type PowerQuery struct {
	N     *float64 // families per group (analytic, equal groups) or in all (Ratio, Simulate)
	Delta *float64 // true difference in means (continuous outcomes)
	SD    *float64 // standard deviation of the outcome
	Power *float64 // target power
	P1    *float64 // proportion in one group (binary outcomes)
	P2    *float64 // proportion in the other
	Alpha float64  // significance level, two-sided
	// Ratio, when given (one part per arm, the reference arm last unless
	// Reference says), makes N the families in all and answers for each
	// arm against the reference, in groups of N·part/sum (pwr.t2n.test,
	// pwr.2p2n.test); Arms name the parts.
	Ratio     []int
	Arms      []string
	Reference int // index of the reference arm in Ratio
	// Simulate re-runs the protocol's own design for Reps trials of N
	// families, outcomes normal (Delta, SD), each family lost with
	// probability Attrition; Seed fixes the draws.
	Simulate  bool
	Attrition float64
	Reps      int
	Seed      uint64
}

// PowerAnswer is one computed quantity.
type PowerAnswer struct {
	Quantity string  `json:"quantity"`
	Method   string  `json:"method"`
	Value    float64 `json:"value"`
	MCError  float64 `json:"mc_error,omitempty"` // Monte Carlo standard error of a simulated power
}

// queryError is an ErrPowerQuery that says what to give.
type queryError struct{ msg string }

func (e queryError) Error() string        { return e.msg }
func (e queryError) Is(target error) bool { return target == ErrPowerQuery }

func queryErr(format string, args ...any) error { return queryError{fmt.Sprintf(format, args...)} }

// Power answers q: for continuous outcomes as R's power.t.test (n per
// group), for binary outcomes as power.prop.test and pwr.2p.test (Cohen's
// h), or by simulating the design of the protocol (read only then).
func Power(q PowerQuery, protocol func() (*trial.Protocol, error)) ([]PowerAnswer, error) {
	switch {
	case q.Simulate:
		return simulatePower(q, protocol)
	case len(q.Ratio) > 0:
		return ratioPower(q)
	case q.P1 != nil || q.P2 != nil:
		return proportionPower(q)
	}
	return meanPower(q)
}

func simulatePower(q PowerQuery, protocol func() (*trial.Protocol, error)) ([]PowerAnswer, error) {
	if q.N == nil || q.Delta == nil || q.SD == nil {
		return nil, queryErr("--simulate needs --n (all families), --delta and --sd")
	}
	p, err := protocol()
	if err != nil {
		return nil, err
	}
	n := int(*q.N)
	d := p.Design(p.PlannedGroups()).WithMethod(p.Randomization.Method, n)
	draw, err := PlannedDraw(d, n, q.Seed)
	if err != nil {
		return nil, queryErr("%v", err)
	}
	pw, se, err := analysis.SimulatePower(draw, analysis.PowerSimOptions{N: n, Effect: *q.Delta, SD: *q.SD, Attrition: q.Attrition, Alpha: q.Alpha, Reps: q.Reps, Seed: q.Seed})
	if err != nil {
		return nil, err
	}
	return []PowerAnswer{{"power", fmt.Sprintf("simulated %s design, %d trials of %d families, attrition %g", d.Method, q.Reps, n, q.Attrition), pw, se}}, nil
}

func proportionPower(q PowerQuery) ([]PowerAnswer, error) {
	if q.P1 == nil || q.P2 == nil {
		return nil, queryErr("give both --p1 and --p2")
	}
	h := analysis.CohenH(*q.P1, *q.P2)
	switch {
	case q.N != nil && q.Power == nil:
		return []PowerAnswer{{"power", "power.prop.test", analysis.PowerProp(*q.N, *q.P1, *q.P2, q.Alpha), 0},
			{"power", "pwr.2p.test (Cohen's h)", analysis.Power2P(h, *q.N, q.Alpha), 0}}, nil
	case q.Power != nil && q.N == nil:
		return []PowerAnswer{{"n per group", "pwr.2p.test (Cohen's h)", analysis.SampleSize2P(h, *q.Power, q.Alpha), 0}}, nil
	}
	return nil, queryErr("for proportions give --n (for power) or --power (for n)")
}

func meanPower(q PowerQuery) ([]PowerAnswer, error) {
	if q.SD == nil {
		return nil, queryErr("give --sd (continuous outcome) or --p1 and --p2 (binary outcome)")
	}
	switch {
	case q.N != nil && q.Delta != nil && q.Power == nil:
		return []PowerAnswer{{"power", "power.t.test", analysis.PowerT(*q.N, *q.Delta, *q.SD, q.Alpha), 0}}, nil
	case q.Power != nil && q.Delta != nil && q.N == nil:
		n, err := analysis.SampleSizeT(*q.Power, *q.Delta, *q.SD, q.Alpha)
		if err != nil {
			return nil, queryErr("%v", err)
		}
		return []PowerAnswer{{"n per group", "power.t.test", n, 0}}, nil
	case q.N != nil && q.Power != nil && q.Delta == nil:
		d, err := analysis.MDET(*q.N, *q.Power, *q.SD, q.Alpha)
		if err != nil {
			return nil, queryErr("%v", err)
		}
		return []PowerAnswer{{"minimum detectable difference", "power.t.test", d, 0}}, nil
	}
	return nil, queryErr("give two of --n, --delta, --power (with --sd)")
}

// ratioPower answers q for each arm against the reference arm, the groups
// in q.Ratio: power for N in all; the N in all at which every contrast
// reaches the power (each contrast's N given); the minimum detectable
// difference of each contrast.
func ratioPower(q PowerQuery) ([]PowerAnswer, error) {
	if len(q.Ratio) < 2 || q.Reference < 0 || q.Reference >= len(q.Ratio) {
		return nil, queryErr("--ratio needs a part per arm, at least two")
	}
	sum := 0
	for _, r := range q.Ratio {
		if r < 1 {
			return nil, queryErr("--ratio parts are whole numbers of at least 1")
		}
		sum += r
	}
	name := func(i int) string {
		if i < len(q.Arms) {
			return q.Arms[i]
		}
		return fmt.Sprintf("arm %d", i+1)
	}
	binary := q.P1 != nil || q.P2 != nil
	switch {
	case binary && (q.P1 == nil || q.P2 == nil):
		return nil, queryErr("give both --p1 (the arm) and --p2 (the reference)")
	case !binary && q.SD == nil:
		return nil, queryErr("give --sd (continuous outcome) or --p1 and --p2 (binary outcome)")
	}
	var out []PowerAnswer
	for i, r := range q.Ratio {
		if i == q.Reference {
			continue
		}
		ref := q.Ratio[q.Reference]
		share, shareRef := float64(r)/float64(sum), float64(ref)/float64(sum)
		power := func(n, delta float64) float64 {
			if binary {
				return analysis.Power2P2N(analysis.CohenH(*q.P1, *q.P2), n*share, n*shareRef, q.Alpha)
			}
			return analysis.PowerT2N(n*share, n*shareRef, delta, *q.SD, q.Alpha)
		}
		method := "pwr.t2n.test"
		if binary {
			method = "pwr.2p2n.test (Cohen's h)"
		}
		contrast := fmt.Sprintf("%s minus %s", name(i), name(q.Reference))
		delta := 0.0
		if q.Delta != nil {
			delta = *q.Delta
		}
		switch {
		case q.N != nil && q.Power == nil && (binary || q.Delta != nil):
			n := *q.N
			out = append(out, PowerAnswer{"power", fmt.Sprintf("%s, %s: %s families against %s", method, contrast, g(n*share), g(n*shareRef)), power(n, delta), 0})
		case q.Power != nil && q.N == nil && (binary || q.Delta != nil):
			lo := 2*float64(sum)/float64(min(r, ref)) + 1e-10
			n, err := analysis.SolveTotal(func(n float64) float64 { return power(n, delta) }, *q.Power, lo)
			if err != nil {
				return nil, queryErr("%v", err)
			}
			out = append(out, PowerAnswer{"n in all", fmt.Sprintf("%s, %s (ratio %s)", method, contrast, ratioText(q.Ratio)), n, 0})
		case !binary && q.N != nil && q.Power != nil && q.Delta == nil:
			d, err := analysis.SolveDelta(func(d float64) float64 { return power(*q.N, d) }, *q.Power, *q.SD)
			if err != nil {
				return nil, queryErr("%v", err)
			}
			out = append(out, PowerAnswer{"minimum detectable difference", fmt.Sprintf("%s, %s: %s families against %s", method, contrast, g(*q.N*share), g(*q.N*shareRef)), d, 0})
		default:
			return nil, queryErr("with --ratio give two of --n (in all), --delta, --power (with --sd), or --p1 --p2 with --n or --power")
		}
	}
	if len(out) > 1 && out[0].Quantity == "n in all" {
		most := out[0]
		for _, a := range out[1:] {
			if a.Value > most.Value {
				most = a
			}
		}
		out = append(out, PowerAnswer{"n in all", "every contrast reaches the power: the largest of the above", most.Value, 0})
	}
	return out, nil
}

func ratioText(r []int) string {
	parts := make([]string, len(r))
	for i, x := range r {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ":")
}

func g(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
