package frame

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
)

// Frame is a table held by column, as text.
type Frame struct {
	File  string
	Names []string
	cols  map[string][]string
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
	SE           string
	Alpha        float64
}

// Estimate is a spec's result, with the fields of the reference files.
type Estimate struct {
	analysis.Result
	N         int    `json:"n"`
	Dropped   int    `json:"dropped"` // rows with a missing value in a model variable
	Estimator string `json:"estimator"`
	SEType    string `json:"se_type"`
}

// Estimators lists the estimators.
var Estimators = []string{"dim", "ols", "lin", "iv"}

// Estimate computes spec on the frame, dropping rows with a missing value
// in any of its variables (listwise, as estimatr does).
func (f *Frame) Estimate(s Spec) (*Estimate, error) {
	if s.Estimator == "" {
		s.Estimator = "ols"
	}
	if !slices.Contains(Estimators, s.Estimator) {
		return nil, fmt.Errorf("unknown estimator %q (%s)", s.Estimator, strings.Join(Estimators, ", "))
	}
	if s.Outcome == "" || s.Treatment == "" {
		return nil, errors.New("give the outcome and the treatment")
	}
	if s.Estimator == "iv" && s.Endogenous == "" {
		return nil, errors.New("the iv estimator needs the endogenous variable (the treatment received)")
	}
	if s.Estimator != "iv" && s.Endogenous != "" {
		return nil, errors.New("an endogenous variable is for the iv estimator")
	}
	if s.Strata != "" && s.FixedEffects != "" {
		return nil, errors.New("give strata or fixed effects, not both")
	}
	if s.Estimator == "dim" && (len(s.Covariates) > 0 || s.Cluster != "" || s.FixedEffects != "") {
		return nil, errors.New("the dim estimator takes strata (blocks) only: no covariates, fixed effects or clusters")
	}
	if s.Estimator == "dim" && s.SE != "" {
		return nil, errors.New("the dim estimator has its own standard error (Welch, or blocked)")
	}
	// Gather the variables and their missingness.
	num := map[string][]float64{}
	txt := map[string][]string{}
	var numeric, factors []string
	numeric = append(numeric, s.Outcome, s.Treatment)
	if s.Endogenous != "" {
		numeric = append(numeric, s.Endogenous)
	}
	for _, c := range s.Covariates {
		if strings.HasPrefix(c, "factor(") && strings.HasSuffix(c, ")") {
			factors = append(factors, strings.TrimSuffix(strings.TrimPrefix(c, "factor("), ")"))
		} else {
			numeric = append(numeric, c)
		}
	}
	strata := s.Strata + s.FixedEffects
	if strata != "" {
		factors = append(factors, strata)
	}
	if s.Cluster != "" {
		factors = append(factors, s.Cluster)
	}
	for _, c := range numeric {
		v, err := f.Numeric(c)
		if err != nil {
			return nil, err
		}
		num[c] = v
	}
	for _, c := range factors {
		v, err := f.Text(c)
		if err != nil {
			return nil, err
		}
		txt[c] = v
	}
	keep := make([]int, 0, f.N())
	for i := 0; i < f.N(); i++ {
		ok := true
		for _, v := range num {
			ok = ok && !math.IsNaN(v[i])
		}
		for _, v := range txt {
			ok = ok && v[i] != ""
		}
		if ok {
			keep = append(keep, i)
		}
	}
	sel := func(v []float64) []float64 {
		out := make([]float64, len(keep))
		for j, i := range keep {
			out[j] = v[i]
		}
		return out
	}
	selT := func(v []string) []string {
		out := make([]string, len(keep))
		for j, i := range keep {
			out[j] = v[i]
		}
		return out
	}
	out := &Estimate{N: len(keep), Dropped: f.N() - len(keep), Estimator: s.Estimator}
	y, z := sel(num[s.Outcome]), sel(num[s.Treatment])
	for j, v := range z {
		if v != 0 && v != 1 {
			return nil, f.at(keep[j], s.Treatment, "treatment %v is not 0 or 1", v)
		}
	}
	if s.Estimator == "dim" {
		var blocks []string
		if strata != "" {
			blocks = selT(txt[strata])
		}
		r, err := analysis.DifferenceInMeans(y, z, blocks, s.Alpha)
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
	var covs []analysis.Column
	for _, c := range s.Covariates {
		if strings.HasPrefix(c, "factor(") {
			name := strings.TrimSuffix(strings.TrimPrefix(c, "factor("), ")")
			covs = append(covs, analysis.Dummies(c, selT(txt[name]))...)
		} else {
			covs = append(covs, analysis.Column{Name: c, Values: sel(num[c])})
		}
	}
	if strata != "" {
		covs = append(covs, analysis.Dummies("factor("+strata+")", selT(txt[strata]))...)
	}
	o := analysis.OLSOptions{SE: s.SE, Alpha: s.Alpha}
	if s.Cluster != "" {
		o.Clusters = selT(txt[s.Cluster])
	}
	var fit *analysis.Fit
	var err error
	term := s.Treatment
	switch s.Estimator {
	case "ols":
		X, names, e := analysis.Matrix(true, append([]analysis.Column{{Name: s.Treatment, Values: z}}, covs...)...)
		if e != nil {
			return nil, e
		}
		fit, err = analysis.OLS(y, X, names, o)
	case "lin":
		fit, err = analysis.Lin(y, z, covs, o)
		term = "z"
	case "iv":
		d := sel(num[s.Endogenous])
		X, names, e := analysis.Matrix(true, append([]analysis.Column{{Name: s.Endogenous, Values: d}}, covs...)...)
		if e != nil {
			return nil, e
		}
		Z, _, _ := analysis.Matrix(true, append([]analysis.Column{{Name: s.Treatment, Values: z}}, covs...)...)
		fit, err = analysis.IV2SLS(y, X, Z, names, o)
		term = s.Endogenous
	}
	if err != nil {
		return nil, dataerr.New(f.File, "%v", err)
	}
	r, _ := fit.Term(term)
	r.Term = term
	if s.Estimator == "lin" {
		r.Term = s.Treatment
	}
	out.Result, out.SEType = r, fit.SEType
	return out, nil
}
