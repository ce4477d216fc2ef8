package plan

import (
	"errors"
	"fmt"

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
	N     *float64 // families per group (analytic) or in all (Simulate)
	Delta *float64 // true difference in means (continuous outcomes)
	SD    *float64 // standard deviation of the outcome
	Power *float64 // target power
	P1    *float64 // proportion in one group (binary outcomes)
	P2    *float64 // proportion in the other
	Alpha float64  // significance level, two-sided
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
