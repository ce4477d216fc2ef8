package analysis

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Standard-error types, named as in estimatr.
const (
	Classical = "classical" // s²(X'X)⁻¹, s² = e'e/(n − k)
	HC0       = "HC0"       // (X'X)⁻¹ X' diag(e²) X (X'X)⁻¹
	HC1       = "HC1"       // HC0 · n/(n − k)
	HC2       = "HC2"       // e² / (1 − h_ii), h the hat values (estimatr's default)
	HC3       = "HC3"       // e² / (1 − h_ii)²
	CR0       = "CR0"       // Σ_g X_g'e_g e_g'X_g; df = G − 1
	Stata     = "stata"     // CR0 · G(n − 1)/((G − 1)(n − k)) (Stata's CR1); df = G − 1
	CR2       = "CR2"       // Bell-McCaffrey: e_g adjusted by (I − H_gg)^(−1/2); Satterthwaite df per coefficient
)

// SETypes lists the standard-error types.
var SETypes = []string{Classical, HC0, HC1, HC2, HC3, CR0, Stata, CR2}

// OLSOptions choose the standard errors.
type OLSOptions struct {
	SE       string   // default HC2, or CR2 when Clusters are given
	Clusters []string // cluster of each row, for CR0, stata and CR2
	Alpha    float64  // default 0.05
	// Weights, when given, make the fit weighted least squares: every row
	// of X and y is multiplied by √w and the standard errors computed on
	// the weighted rows, as estimatr's lm_robust(weights =) does for the
	// classical, HC0-HC3, CR0 and stata types (its weighted CR2 differs,
	// and is refused). Each weight must be positive.
	Weights []float64
}

// ErrWeightedCR2 is returned for CR2 standard errors of a weighted fit.
var ErrWeightedCR2 = errors.New("analysis: CR2 standard errors of a weighted fit are not implemented (estimatr's weighted CR2 is not the CR2 of the weighted rows); use CR0 or stata")

// seType is the chosen standard-error type: HC2 by default, CR2 with
// clusters, as estimatr.
func (o OLSOptions) seType() string {
	switch {
	case o.SE != "":
		return o.SE
	case o.Clusters != nil:
		return CR2
	}
	return HC2
}

// Fit is a fitted linear model.
type Fit struct {
	Terms     []Result `json:"terms"`
	N         int      `json:"n"`
	K         int      `json:"k"`
	SEType    string   `json:"se_type"`
	Clusters  int      `json:"clusters,omitempty"`
	Coef      []float64
	Vcov      *mat.Dense
	Residuals []float64
}

// Term returns the result for the named term.
func (f *Fit) Term(name string) (Result, bool) {
	for _, r := range f.Terms {
		if r.Term == name {
			return r, true
		}
	}
	return Result{}, false
}

// OLS fits y = Xβ + e by least squares (X includes the intercept column if
// one is wanted; names one per column) and computes standard errors of the
// chosen type, with t-based p-values and intervals, as estimatr's
// lm_robust does.
func OLS(y []float64, X *mat.Dense, names []string, o OLSOptions) (*Fit, error) {
	n, k := X.Dims()
	if len(y) != n || len(names) != k || (o.Clusters != nil && len(o.Clusters) != n) || (o.Weights != nil && len(o.Weights) != n) {
		return nil, ErrLength
	}
	if o.Weights != nil {
		if o.seType() == CR2 {
			return nil, ErrWeightedCR2
		}
		var err error
		if y, X, err = weighted(y, X, o.Weights); err != nil {
			return nil, err
		}
	}
	if n <= k {
		return nil, fmt.Errorf("%w: %d rows for %d coefficients", ErrTooFew, n, k)
	}
	if err := checkFinite("y", y); err != nil {
		return nil, err
	}
	if err := checkFiniteColumns(X, names); err != nil {
		return nil, err
	}
	alpha, err := checkAlpha(o.Alpha)
	if err != nil {
		return nil, err
	}
	se := o.seType()
	if !slices.Contains(SETypes, se) {
		return nil, fmt.Errorf("analysis: unknown standard-error type %q", se)
	}
	clustered := se == CR0 || se == Stata || se == CR2
	if clustered && o.Clusters == nil {
		return nil, fmt.Errorf("analysis: %s standard errors need clusters", se)
	}
	if !clustered && o.Clusters != nil {
		return nil, fmt.Errorf("analysis: %s standard errors ignore clusters; use CR0, CR2 or stata", se)
	}

	var xtx mat.SymDense
	xtx.SymOuterK(1, X.T())
	var ch mat.Cholesky
	if ok := ch.Factorize(&xtx); !ok || ch.Cond() > 1e13 {
		return nil, fmt.Errorf("%w among %v", ErrCollinear, names)
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCollinear, err)
	}
	yv := mat.NewVecDense(n, y)
	var xty, beta mat.VecDense
	xty.MulVec(X.T(), yv)
	if err := ch.SolveVecTo(&beta, &xty); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCollinear, err)
	}
	var fitted mat.VecDense
	fitted.MulVec(X, &beta)
	e := make([]float64, n)
	for i := range e {
		e[i] = y[i] - fitted.AtVec(i)
	}
	V, df, nclust, err := sandwich(X, &inv, e, se, o.Clusters)
	if err != nil {
		return nil, err
	}
	f := &Fit{N: n, K: k, SEType: se, Clusters: nclust, Vcov: V, Residuals: e}
	for j := 0; j < k; j++ {
		f.Coef = append(f.Coef, beta.AtVec(j))
		f.Terms = append(f.Terms, tInference(names[j], beta.AtVec(j), math.Sqrt(V.At(j, j)), df[j], alpha))
	}
	return f, nil
}

// checkFiniteColumns is checkFinite of each column of X in turn (the
// first column with a value that is not finite is the one named), read
// in place rather than column by column.
func checkFiniteColumns(X *mat.Dense, names []string) error {
	n, k := X.Dims()
	first := k
	for i := 0; i < n; i++ {
		for j, v := range X.RawRowView(i)[:first] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				first = j
				break
			}
		}
	}
	if first == k {
		return nil
	}
	return checkFinite(names[first], mat.Col(nil, first, X))
}

// weighted returns √w·y and √w·X, refusing a weight that is not positive
// and finite.
func weighted(y []float64, X *mat.Dense, w []float64) ([]float64, *mat.Dense, error) {
	n, k := X.Dims()
	yw := make([]float64, n)
	Xw := mat.NewDense(n, k, nil)
	for i := 0; i < n; i++ {
		if !(w[i] > 0) || math.IsInf(w[i], 0) {
			return nil, nil, fmt.Errorf("analysis: weight %v of row %d is not a positive number", w[i], i+1)
		}
		s := math.Sqrt(w[i])
		yw[i] = y[i] * s
		for j := 0; j < k; j++ {
			Xw.Set(i, j, X.At(i, j)*s)
		}
	}
	return yw, Xw, nil
}

// sandwich computes the variance of the coefficients for bread (X'X)⁻¹ and
// residuals e, and the degrees of freedom of each coefficient.
func sandwich(X *mat.Dense, bread *mat.SymDense, e []float64, se string, clusters []string) (*mat.Dense, []float64, int, error) {
	n, k := X.Dims()
	df := make([]float64, k)
	for j := range df {
		df[j] = float64(n - k)
	}
	V := mat.NewDense(k, k, nil)
	switch se {
	case Classical:
		ss := 0.0
		for _, v := range e {
			ss += v * v
		}
		V.Scale(ss/float64(n-k), bread)
		return V, df, 0, nil
	case HC0, HC1, HC2, HC3:
		// The meat X'ΩX = Σᵢ ωᵢxᵢxᵢ' a block of rows at a time, so that
		// no n×k temporary exists (at n = 5,000,000 and k = 12 each is
		// 480 MB). The same numbers to the bit: Syrk adds each row's
		// terms to the meat in row order whether the rows come at once
		// or in blocks, and a hat value depends on its own row only.
		meat := mat.NewSymDense(k, nil)
		rows := min(n, hcBlock)
		w := mat.NewDense(rows, k, nil)
		var xa mat.Dense
		h := make([]float64, rows)
		for r0 := 0; r0 < n; r0 += rows {
			m := min(rows, n-r0)
			Xb := X.Slice(r0, r0+m, 0, k).(*mat.Dense)
			wb := w.Slice(0, m, 0, k).(*mat.Dense)
			if se == HC2 || se == HC3 {
				xa.Reset()
				hatValuesTo(h[:m], Xb, bread, &xa)
			}
			for i := 0; i < m; i++ {
				ei := e[r0+i]
				wi := ei * ei
				switch se {
				case HC2:
					wi /= 1 - h[i]
				case HC3:
					wi /= (1 - h[i]) * (1 - h[i])
				}
				s := math.Sqrt(wi)
				x, wr := Xb.RawRowView(i), wb.RawRowView(i)
				for j := range x {
					wr[j] = x[j] * s
				}
			}
			meat.SymRankK(meat, 1, wb.T())
		}
		V.Product(bread, meat, bread)
		if se == HC1 {
			V.Scale(float64(n)/float64(n-k), V)
		}
		return V, df, 0, nil
	}
	// Clustered.
	groups := clusterRows(clusters)
	G := len(groups)
	if G < 2 {
		return nil, nil, 0, fmt.Errorf("%w: cluster-robust standard errors need at least two clusters", ErrTooFew)
	}
	half := mat.NewDense(G, k, nil)
	var cr2 *cr2State
	if se == CR2 {
		cr2 = newCR2(k, G, bread)
	}
	for g, rows := range groups {
		Xg := mat.NewDense(len(rows), k, nil)
		eg := mat.NewVecDense(len(rows), nil)
		for a, i := range rows {
			Xg.SetRow(a, X.RawRowView(i))
			eg.SetVec(a, e[i])
		}
		var row mat.VecDense
		if se == CR2 {
			AX, err := cr2.cluster(g, Xg, bread)
			if err != nil {
				return nil, nil, 0, err
			}
			row.MulVec(AX.T(), eg)
		} else {
			row.MulVec(Xg.T(), eg)
		}
		half.SetRow(g, row.RawVector().Data)
	}
	var meat mat.SymDense
	meat.SymOuterK(1, half.T())
	V.Product(bread, &meat, bread)
	if se == Stata {
		V.Scale(float64(G)*float64(n-1)/(float64(G-1)*float64(n-k)), V)
	}
	for j := range df {
		df[j] = float64(G - 1)
	}
	if se == CR2 {
		df = cr2.dof()
	}
	return V, df, G, nil
}

// hcBlock is how many rows the HC sandwich takes at a time: their k
// columns stay in the cache while the hat values and the meat use them.
const hcBlock = 4096

// hatValues returns h_ii = x_i'(X'X)⁻¹x_i.
func hatValues(X *mat.Dense, bread *mat.SymDense) []float64 {
	n, _ := X.Dims()
	h := make([]float64, n)
	var XA mat.Dense
	hatValuesTo(h, X, bread, &XA)
	return h
}

// hatValuesTo writes the hat values of X's rows into h, using XA (empty)
// for X(X'X)⁻¹.
func hatValuesTo(h []float64, X *mat.Dense, bread *mat.SymDense, XA *mat.Dense) {
	n, k := X.Dims()
	XA.Mul(X, bread)
	for i := 0; i < n; i++ {
		a, x := XA.RawRowView(i), X.RawRowView(i)
		s := 0.0
		for j := 0; j < k; j++ {
			s += a[j] * x[j]
		}
		h[i] = s
	}
}

// clusterRows groups row indices by cluster, clusters in order of first
// appearance.
func clusterRows(c []string) [][]int {
	idx := map[string]int{}
	var groups [][]int
	for i, v := range c {
		g, ok := idx[v]
		if !ok {
			g = len(groups)
			idx[v] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// cr2State accumulates what the Satterthwaite degrees of freedom of CR2
// need (Bell and McCaffrey 2002; Pustejovsky and Tipton 2018), as
// estimatr computes them for unweighted least squares.
type cr2State struct {
	k, G int
	L    *mat.TriDense // lower Cholesky factor of (X'X)⁻¹
	Hs   []*mat.Dense  // per cluster: M A_g'... see dof
	P    *mat.Dense    // k × G: row sums of squares of M_g = (X'X)⁻¹ (A_g X_g)'
}

func newCR2(k, G int, bread *mat.SymDense) *cr2State {
	var ch mat.Cholesky
	ch.Factorize(bread)
	var L mat.TriDense
	ch.LTo(&L)
	return &cr2State{k: k, G: G, L: &L, Hs: make([]*mat.Dense, G), P: mat.NewDense(k, G, nil)}
}

// cluster returns A_g X_g, with A_g = (I − H_gg)^(−1/2) (eigenvalues below
// 1e-12 set to zero, as estimatr does), and records the cluster's share of
// the degrees-of-freedom computation.
func (s *cr2State) cluster(g int, Xg *mat.Dense, bread *mat.SymDense) (*mat.Dense, error) {
	m, k := Xg.Dims()
	var XB mat.Dense
	XB.Mul(Xg, bread)
	var H mat.Dense
	H.Mul(&XB, Xg.T())
	IH := mat.NewSymDense(m, nil)
	for a := 0; a < m; a++ {
		for b := a; b < m; b++ {
			v := -(H.At(a, b) + H.At(b, a)) / 2
			if a == b {
				v += 1
			}
			IH.SetSym(a, b, v)
		}
	}
	var eig mat.EigenSym
	if ok := eig.Factorize(IH, true); !ok {
		return nil, fmt.Errorf("analysis: CR2: the eigen decomposition of a cluster failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	for i, v := range vals {
		if v > 1e-12 {
			vals[i] = 1 / math.Sqrt(v)
		} else {
			vals[i] = 0
		}
	}
	var A mat.Dense
	A.Mul(&vecs, mat.NewDiagDense(m, vals))
	A.Mul(&A, vecs.T())
	var AX mat.Dense
	AX.Mul(&A, Xg)
	// M_g = (X'X)⁻¹ (A_g X_g)'  (k × m)
	var M mat.Dense
	M.Mul(bread, AX.T())
	for j := 0; j < k; j++ {
		s2 := 0.0
		for _, v := range M.RawRowView(j) {
			s2 += v * v
		}
		s.P.Set(j, g, s2)
	}
	// H_g = M_g X_g L  (k × k)
	var MX, Hg mat.Dense
	MX.Mul(&M, Xg)
	Hg.Mul(&MX, s.L)
	s.Hs[g] = &Hg
	return &AX, nil
}

// dof returns, per coefficient j, tr(P)²/Σ P², where P = diag(p_j) − U,
// U_gh = H_g[j,·]·H_h[j,·].
func (s *cr2State) dof() []float64 {
	out := make([]float64, s.k)
	for j := 0; j < s.k; j++ {
		P := mat.NewDense(s.G, s.G, nil)
		for g := 0; g < s.G; g++ {
			rg := s.Hs[g].RawRowView(j)
			for h := 0; h < s.G; h++ {
				rh := s.Hs[h].RawRowView(j)
				u := 0.0
				for a := range rg {
					u += rg[a] * rh[a]
				}
				P.Set(g, h, -u)
			}
			P.Set(g, g, P.At(g, g)+s.P.At(j, g))
		}
		tr, sq := 0.0, 0.0
		for g := 0; g < s.G; g++ {
			tr += P.At(g, g)
			for h := 0; h < s.G; h++ {
				sq += P.At(g, h) * P.At(g, h)
			}
		}
		out[j] = tr * tr / sq
	}
	return out
}
