package analysis

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Result is the inference on one coefficient, with the fields (and names)
// of estimatr's tidy output.
type Result struct {
	Term      string  `json:"term"`
	Estimate  float64 `json:"estimate"`
	StdError  float64 `json:"std_error"`
	Statistic float64 `json:"statistic"` // Estimate / StdError
	DF        float64 `json:"df"`        // 0: inference on the normal distribution (z), as the risk ratio
	PValue    float64 `json:"p_value"`   // two-sided, t distribution with DF degrees of freedom
	ConfLow   float64 `json:"conf_low"`
	ConfHigh  float64 `json:"conf_high"`
}

// tInference fills statistic, two-sided p-value 2·P(T_df > |t|) and the
// (1 − alpha) interval estimate ± q_{1−alpha/2, df} · se.
func tInference(term string, est, se, df, alpha float64) Result {
	r := Result{Term: term, Estimate: est, StdError: se, DF: df}
	r.Statistic = est / se
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	r.PValue = 2 * t.Survival(math.Abs(r.Statistic))
	q := t.Quantile(1 - alpha/2)
	r.ConfLow, r.ConfHigh = est-q*se, est+q*se
	return r
}

// Errors for bad input.
var (
	ErrLength    = errors.New("analysis: inputs of different lengths")
	ErrNaN       = errors.New("analysis: a value is NaN or infinite")
	ErrTooFew    = errors.New("analysis: too few observations")
	ErrCollinear = errors.New("analysis: collinear columns")
	ErrNoVar     = errors.New("analysis: no variance")
)

func checkFinite(name string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: %s[%d]", ErrNaN, name, i)
		}
	}
	return nil
}

func checkAlpha(alpha float64) (float64, error) {
	if alpha == 0 {
		return 0.05, nil
	}
	if alpha <= 0 || alpha >= 1 {
		return 0, fmt.Errorf("analysis: alpha %v is not in (0, 1)", alpha)
	}
	return alpha, nil
}
