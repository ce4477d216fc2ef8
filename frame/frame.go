package frame

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/internal/sheet"
)

// Frame is a table held by column, as text (or, read by ReadFor, the
// numeric columns as numbers).
type Frame struct {
	File  string
	Names []string
	cols  map[string][]string
	nums  map[string][]float64
	rows  []int // source row of each record, for messages
	t     *sheet.Table
}

// Read reads a CSV or XLSX table with a header row.
func Read(path string) (*Frame, error) {
	t, err := sheet.Open(path, sheet.Options{})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	f := &Frame{File: path, Names: t.Header, cols: map[string][]string{}, t: t}
	for {
		r, err := t.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if e := t.Uncomputed(r); e != nil {
			return nil, e
		}
		f.rows = append(f.rows, r.Num)
		for i, h := range t.Header {
			f.cols[h] = append(f.cols[h], r.Cells[i])
		}
	}
	if len(f.rows) == 0 {
		return nil, dataerr.New(path, "no data rows below the header")
	}
	return f, nil
}

// N is the number of records.
func (f *Frame) N() int { return len(f.rows) }

// missing reports whether a cell is a missing value: empty, NA or ".".
func missing(s string) bool {
	switch strings.TrimSpace(s) {
	case "", "NA", "na", ".", "NaN":
		return true
	}
	return false
}

func (f *Frame) has(name string) error {
	if _, ok := f.cols[name]; !ok {
		return dataerr.New(f.File, "no column %q (columns: %s)", name, strings.Join(f.Names, ", "))
	}
	return nil
}

// Numeric returns a column as numbers, NaN where missing; a value that is
// not a number is an error naming its row and column.
func (f *Frame) Numeric(name string) ([]float64, error) {
	if v, ok := f.nums[name]; ok {
		return v, nil
	}
	if err := f.has(name); err != nil {
		return nil, err
	}
	out := make([]float64, f.N())
	for i, s := range f.cols[name] {
		if missing(s) {
			out[i] = math.NaN()
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(v, 0) {
			return nil, f.at(i, name, "%q is not a number", s)
		}
		out[i] = v
	}
	return out, nil
}

// Text returns a column as text, "" where missing.
func (f *Frame) Text(name string) ([]string, error) {
	if err := f.has(name); err != nil {
		return nil, err
	}
	out := make([]string, f.N())
	for i, s := range f.cols[name] {
		if !missing(s) {
			out[i] = strings.TrimSpace(s)
		}
	}
	return out, nil
}

func (f *Frame) at(i int, name, format string, args ...any) error {
	col := slices.Index(f.Names, name)
	return f.t.At(f.rows[i], col, format, args...)
}

// Spec is one estimate to compute.
type Spec struct {
	Outcome      string
	Treatment    string
	Covariates   []string // a name, or factor(name) for dummies
	Strata       string   // blocks (dim) or strata dummies (ols, lin, iv)
	FixedEffects string   // strata as fixed effects (dummies)
	Cluster      string
	Estimator    string // dim, ols, lin, iv
	Endogenous   string // iv: the treatment received, instrumented by Treatment
	Weights      string // ols: weighted least squares with this column's weights
	SE           string
	Alpha        float64
	// Progress, when set, is told of a long read (not part of the model).
	Progress progress.Func
}

// Estimate is a spec's result, with the fields of the reference files.
type Estimate struct {
	analysis.Result
	N         int    `json:"n"`
	Dropped   int    `json:"dropped"` // rows with a missing value in a model variable
	Estimator string `json:"estimator"`
	SEType    string `json:"se_type"`
	// Collinear names the covariates left out: constant, or a linear
	// combination of the ones before them (estimatr reports them NA).
	Collinear []string `json:"collinear_dropped,omitempty"`
	// Notes say what the numbers cannot be (a standard error that is not
	// finite is written as null).
	Notes []string `json:"notes,omitempty"`
}

// MarshalJSON writes a number that is not finite (a standard error of a
// leverage of one, the degrees of freedom of one cluster) as null, and says
// so in the notes: JSON has no NaN or infinity.
func (e Estimate) MarshalJSON() ([]byte, error) {
	num := func(name string, x float64) *float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			e.Notes = append(e.Notes, fmt.Sprintf("%s is not finite (%v): written as null", name, x))
			return nil
		}
		return &x
	}
	r := e.Result
	out := struct {
		Term      string   `json:"term"`
		Estimate  *float64 `json:"estimate"`
		StdError  *float64 `json:"std_error"`
		Statistic *float64 `json:"statistic"`
		DF        *float64 `json:"df"`
		PValue    *float64 `json:"p_value"`
		ConfLow   *float64 `json:"conf_low"`
		ConfHigh  *float64 `json:"conf_high"`
		N         int      `json:"n"`
		Dropped   int      `json:"dropped"`
		Estimator string   `json:"estimator"`
		SEType    string   `json:"se_type"`
		Collinear []string `json:"collinear_dropped,omitempty"`
		Notes     []string `json:"notes,omitempty"`
	}{Term: r.Term, Estimate: num("estimate", r.Estimate), StdError: num("std_error", r.StdError), Statistic: num("statistic", r.Statistic),
		DF: num("df", r.DF), PValue: num("p_value", r.PValue), ConfLow: num("conf_low", r.ConfLow), ConfHigh: num("conf_high", r.ConfHigh),
		N: e.N, Dropped: e.Dropped, Estimator: e.Estimator, SEType: e.SEType, Collinear: e.Collinear}
	out.Notes = e.Notes
	return json.Marshal(out)
}

// Estimators lists the estimators.
var Estimators = []string{"dim", "ols", "lin", "iv"}

// Estimate computes spec on the frame, dropping rows with a missing value
// in any of its variables (listwise, as estimatr does).
func (f *Frame) Estimate(s Spec) (*Estimate, error) {
	if s.Estimator == "" {
		s.Estimator = "ols"
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	m, err := f.model(s)
	if err != nil {
		return nil, err
	}
	out := &Estimate{N: len(m.keep), Dropped: f.N() - len(m.keep), Estimator: s.Estimator}
	for j, v := range m.z {
		if v != 0 && v != 1 {
			return nil, f.at(m.keep[j], s.Treatment, "treatment %v is not 0 or 1", v)
		}
	}
	if s.Estimator == "dim" {
		var blocks []string
		if m.strata != "" {
			blocks = m.text(m.strata)
		}
		r, err := analysis.DifferenceInMeans(m.y, m.z, blocks, s.Alpha)
		if err != nil {
			return nil, dataerr.New(f.File, "%v", err)
		}
		out.Result, out.SEType = r, "welch"
		if blocks != nil {
			out.SEType = "blocked"
		}
		out.Term = s.Treatment
		return out, nil
	}
	r, se, collinear, err := m.fit(s)
	if errors.Is(err, errUsage) {
		return nil, err
	}
	if err != nil {
		return nil, dataerr.New(f.File, "%v", err)
	}
	out.Result, out.SEType, out.Collinear = r, se, collinear
	if len(collinear) > 0 {
		out.Notes = append(out.Notes, "dropped as constant or collinear with the terms before them (as estimatr, whose estimate of the treatment is the same): "+strings.Join(collinear, ", "))
	}
	if s.Weights != "" {
		out.Notes = append(out.Notes, "weighted least squares, weights "+s.Weights)
	}
	return out, nil
}

// errUsage marks a model the flags cannot make (a usage error, not the
// data's).
var errUsage = errors.New("usage")

// check refuses a spec that makes no model.
func (s Spec) check() error {
	if s.SE != "" && !slices.Contains(analysis.SETypes, s.SE) {
		return fmt.Errorf("--se %q: one of %s", s.SE, strings.Join(analysis.SETypes, ", "))
	}
	switch {
	case s.Weights != "" && s.Estimator != "ols":
		return errors.New("--weights: weighted least squares is for the ols estimator")
	case !slices.Contains(Estimators, s.Estimator):
		return fmt.Errorf("unknown estimator %q (%s)", s.Estimator, strings.Join(Estimators, ", "))
	case s.Outcome == "" || s.Treatment == "":
		return errors.New("give the outcome and the treatment")
	case s.Estimator == "iv" && s.Endogenous == "":
		return errors.New("the iv estimator needs the endogenous variable (the treatment received)")
	case s.Estimator != "iv" && s.Endogenous != "":
		return errors.New("an endogenous variable is for the iv estimator")
	case s.Strata != "" && s.FixedEffects != "":
		return errors.New("give strata or fixed effects, not both")
	case s.Estimator == "dim" && (len(s.Covariates) > 0 || s.Cluster != "" || s.FixedEffects != ""):
		return errors.New("the dim estimator takes strata (blocks) only: no covariates, fixed effects or clusters")
	case s.Estimator == "dim" && s.SE != "":
		return errors.New("the dim estimator has its own standard error (Welch, or blocked)")
	}
	return nil
}

// model is a spec's variables on the rows kept (no missing value in any).
type model struct {
	num    map[string][]float64 // numeric variables, every row
	txt    map[string][]string  // factors, every row
	keep   []int                // the rows kept
	y, z   []float64            // outcome and treatment on the rows kept
	w      []float64            // weights on the rows kept (nil: none)
	strata string               // the strata or fixed-effects column
}

// model reads the spec's variables and keeps the complete rows.
func (f *Frame) model(s Spec) (*model, error) {
	m := &model{num: map[string][]float64{}, txt: map[string][]string{}, strata: s.Strata + s.FixedEffects}
	numeric, factors := s.columns()
	for _, c := range numeric {
		v, err := f.Numeric(c)
		if err != nil {
			return nil, err
		}
		m.num[c] = v
	}
	for _, c := range factors {
		v, err := f.Text(c)
		if err != nil {
			return nil, err
		}
		m.txt[c] = v
	}
	m.keep = make([]int, 0, f.N())
	for i := 0; i < f.N(); i++ {
		ok := true
		for _, v := range m.num {
			ok = ok && !math.IsNaN(v[i])
		}
		for _, v := range m.txt {
			ok = ok && v[i] != ""
		}
		if ok {
			m.keep = append(m.keep, i)
		}
	}
	m.y, m.z = m.values(s.Outcome), m.values(s.Treatment)
	if s.Weights != "" {
		m.w = m.values(s.Weights)
		for j, w := range m.w {
			if !(w > 0) {
				return nil, f.at(m.keep[j], s.Weights, "weight %v is not a positive number", w)
			}
		}
	}
	return m, nil
}

// columns are the columns a spec reads as numbers and as factors.
func (s Spec) columns() (numeric, factors []string) {
	numeric = []string{s.Outcome, s.Treatment}
	if s.Endogenous != "" {
		numeric = append(numeric, s.Endogenous)
	}
	if s.Weights != "" {
		numeric = append(numeric, s.Weights)
	}
	for _, c := range s.Covariates {
		if name, ok := factorOf(c); ok {
			factors = append(factors, name)
		} else {
			numeric = append(numeric, c)
		}
	}
	if strata := s.Strata + s.FixedEffects; strata != "" {
		factors = append(factors, strata)
	}
	if s.Cluster != "" {
		factors = append(factors, s.Cluster)
	}
	return numeric, factors
}

// factorOf reads "factor(name)".
func factorOf(c string) (string, bool) {
	if strings.HasPrefix(c, "factor(") && strings.HasSuffix(c, ")") {
		return strings.TrimSuffix(strings.TrimPrefix(c, "factor("), ")"), true
	}
	return "", false
}

// values is a numeric variable on the rows kept: the frame's own column
// when every row is kept (read only, as every estimator reads it; a copy
// of each column at 5,000,000 rows would be 40 MB more each).
func (m *model) values(name string) []float64 {
	v := m.num[name]
	if len(m.keep) == len(v) {
		return v
	}
	out := make([]float64, len(m.keep))
	for j, i := range m.keep {
		out[j] = v[i]
	}
	return out
}

// text is a factor on the rows kept.
func (m *model) text(name string) []string {
	v := m.txt[name]
	out := make([]string, len(m.keep))
	for j, i := range m.keep {
		out[j] = v[i]
	}
	return out
}

// fit fits the ols, lin or iv model and returns the treatment's term (the
// endogenous variable's for iv), the standard errors' type and the
// covariates left out as collinear.
func (m *model) fit(s Spec) (analysis.Result, string, []string, error) {
	var covs []analysis.Column
	for _, c := range s.Covariates {
		if name, ok := factorOf(c); ok {
			covs = append(covs, analysis.Dummies(c, m.text(name))...)
		} else {
			covs = append(covs, analysis.Column{Name: c, Values: m.values(c)})
		}
	}
	if m.strata != "" {
		covs = append(covs, analysis.Dummies("factor("+m.strata+")", m.text(m.strata))...)
	}
	lead := analysis.Column{Name: s.Treatment, Values: m.z}
	if s.Estimator == "iv" {
		lead = analysis.Column{Name: s.Endogenous, Values: m.values(s.Endogenous)}
	}
	kept, dropped := analysis.Independent(true, append([]analysis.Column{lead}, covs...))
	if len(kept) == 0 || kept[0].Name != lead.Name {
		return analysis.Result{}, "", nil, fmt.Errorf("%s is constant, or collinear with the intercept: no effect can be estimated", lead.Name)
	}
	covs = kept[1:]
	o := analysis.OLSOptions{SE: s.SE, Alpha: s.Alpha, Weights: m.w}
	if s.Cluster != "" {
		o.Clusters = m.text(s.Cluster)
	}
	var fit *analysis.Fit
	var err error
	term := s.Treatment
	switch s.Estimator {
	case "ols":
		X, names, e := analysis.Matrix(true, append([]analysis.Column{lead}, covs...)...)
		if e != nil {
			return analysis.Result{}, "", nil, e
		}
		fit, err = analysis.OLS(m.y, X, names, o)
		if errors.Is(err, analysis.ErrWeightedCR2) {
			return analysis.Result{}, "", nil, fmt.Errorf("%w: %v", errUsage, err)
		}
	case "lin":
		fit, err = analysis.Lin(m.y, m.z, covs, o)
		term = "z"
	case "iv":
		X, names, e := analysis.Matrix(true, append([]analysis.Column{lead}, covs...)...)
		if e != nil {
			return analysis.Result{}, "", nil, e
		}
		Z, _, _ := analysis.Matrix(true, append([]analysis.Column{{Name: s.Treatment, Values: m.z}}, covs...)...)
		fit, err = analysis.IV2SLS(m.y, X, Z, names, o)
		term = s.Endogenous
	}
	if err != nil {
		return analysis.Result{}, "", nil, err
	}
	r, _ := fit.Term(term)
	r.Term = term
	if s.Estimator == "lin" {
		r.Term = s.Treatment
	}
	return r, fit.SEType, dropped, nil
}
