package analysis

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// IV2SLS is two-stage least squares, as estimatr's iv_robust: X holds the
// regressors (exogenous and endogenous, names one per column), Z the
// instruments (the exogenous regressors and the excluded instruments). The
// coefficients are (X̂'X̂)⁻¹X̂'y with X̂ = Z(Z'Z)⁻¹Z'X; the residuals
// e = y − Xβ use the regressors themselves; the sandwich and the HC2
// leverages use X̂.
func IV2SLS(y []float64, X, Z *mat.Dense, names []string, o OLSOptions) (*Fit, error) {
	n, k := X.Dims()
	nz, l := Z.Dims()
	if nz != n || len(y) != n || len(names) != k {
		return nil, ErrLength
	}
	if l < k {
		return nil, fmt.Errorf("analysis: %d instruments for %d regressors: under-identified", l, k)
	}
	var ztz mat.SymDense
	ztz.SymOuterK(1, Z.T())
	var chz mat.Cholesky
	if ok := chz.Factorize(&ztz); !ok || chz.Cond() > 1e13 {
		return nil, fmt.Errorf("%w among the instruments", ErrCollinear)
	}
	var ztx, coef mat.Dense
	ztx.Mul(Z.T(), X)
	if err := chz.SolveTo(&coef, &ztx); err != nil {
		return nil, err
	}
	var Xhat mat.Dense
	Xhat.Mul(Z, &coef)
	// Second stage on X̂ for β, then residuals with X.
	first, err := OLS(y, &Xhat, names, OLSOptions{SE: Classical, Alpha: o.Alpha})
	if err != nil {
		return nil, fmt.Errorf("second stage: %w", err)
	}
	beta := mat.NewVecDense(k, first.Coef)
	var fitted mat.VecDense
	fitted.MulVec(X, beta)
	e := make([]float64, n)
	for i := range e {
		e[i] = y[i] - fitted.AtVec(i)
	}
	var xtx mat.SymDense
	xtx.SymOuterK(1, Xhat.T())
	var ch mat.Cholesky
	ch.Factorize(&xtx)
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, err
	}
	se := o.seType()
	V, df, G, err := sandwich(&Xhat, &inv, e, se, o.Clusters)
	if err != nil {
		return nil, err
	}
	alpha, _ := checkAlpha(o.Alpha)
	f := &Fit{N: n, K: k, SEType: se, Clusters: G, Vcov: V, Residuals: e, Coef: first.Coef}
	for j := 0; j < k; j++ {
		f.Terms = append(f.Terms, tInference(names[j], f.Coef[j], math.Sqrt(V.At(j, j)), df[j], alpha))
	}
	return f, nil
}
