package analysis

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// BalanceRow compares one baseline covariate between the groups.
type BalanceRow struct {
	Variable string  `json:"variable"`
	N0       int     `json:"n0"`
	Mean0    float64 `json:"mean0"`
	SD0      float64 `json:"sd0"`
	N1       int     `json:"n1"`
	Mean1    float64 `json:"mean1"`
	SD1      float64 `json:"sd1"`
	Diff     float64 `json:"difference"`            // mean1 − mean0
	NormDiff float64 `json:"normalized_difference"` // (mean1 − mean0)/√((sd1² + sd0²)/2), Imbens and Rubin (2015)
	PValue   float64 `json:"p_value"`               // Welch t test
	// Binary: every value is 0 or 1; Count0 and Count1 are then the number
	// of ones in each group (shown as n (%)).
	Binary bool `json:"binary"`
	Count0 int  `json:"count0"`
	Count1 int  `json:"count1"`
}

// Balance describes each covariate by group (rows with a missing value,
// NaN, are left out of that covariate's row).
func Balance(z []float64, covs []Column) ([]BalanceRow, error) {
	var out []BalanceRow
	// One pair of buffers for every covariate: growing them a row at a
	// time was most of the table's time at 80,000 families.
	y, zz := make([]float64, 0, len(z)), make([]float64, 0, len(z))
	for _, c := range covs {
		if len(c.Values) != len(z) {
			return nil, fmt.Errorf("%w: %s", ErrLength, c.Name)
		}
		y, zz = y[:0], zz[:0]
		for i, v := range c.Values {
			if !math.IsNaN(v) {
				y = append(y, v)
				zz = append(zz, z[i])
			}
		}
		d, v, n1, n0, err := armDiff(y, zz, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		r := BalanceRow{Variable: c.Name, N0: int(n0), N1: int(n1), SD0: math.Sqrt(v[0]), SD1: math.Sqrt(v[1]), Diff: d, Binary: true}
		for i, val := range y {
			if zz[i] == 1 {
				r.Mean1 += val / n1
			} else {
				r.Mean0 += val / n0
			}
			switch {
			case val != 0 && val != 1:
				r.Binary = false
			case val == 1 && zz[i] == 1:
				r.Count1++
			case val == 1:
				r.Count0++
			}
		}
		if s := math.Sqrt((v[0] + v[1]) / 2); s > 0 {
			r.NormDiff = d / s
		}
		if v[0]/n0+v[1]/n1 > 0 {
			w, _ := DifferenceInMeans(y, zz, nil, 0.05)
			r.PValue = w.PValue
		} else {
			r.PValue = 1
		}
		out = append(out, r)
	}
	return out, nil
}

// WaldTest is a joint test that several coefficients are zero.
type WaldTest struct {
	F      float64 `json:"f"`
	DF1    float64 `json:"df1"`
	DF2    float64 `json:"df2"`
	PValue float64 `json:"p_value"`
}

// JointBalance regresses the treatment on the covariates (with an
// intercept) with se-type standard errors and tests that every covariate's
// coefficient is zero: F = b'V⁻¹b/q on (q, n − k) degrees of freedom, as
// estimatr's summary(lm_robust(z ~ covariates))$fstatistic.
func JointBalance(z []float64, covs []Column, se string) (WaldTest, error) {
	X, names, err := Matrix(true, covs...)
	if err != nil {
		return WaldTest{}, err
	}
	f, err := OLS(z, X, names, OLSOptions{SE: se})
	if err != nil {
		return WaldTest{}, err
	}
	return wald(f, 1)
}

// wald tests coefficients from index `from` on.
func wald(f *Fit, from int) (WaldTest, error) {
	idx := make([]int, f.K-from)
	for i := range idx {
		idx[i] = from + i
	}
	return waldTest(f.Coef, f.Vcov, idx, float64(f.N-f.K))
}

// waldTest tests that the coefficients idx of b (covariance V) are all
// zero: F = b'V⁻¹b/q on (q, df2) degrees of freedom.
func waldTest(coef []float64, V mat.Matrix, idx []int, df2 float64) (WaldTest, error) {
	q := len(idx)
	b := mat.NewVecDense(q, nil)
	Vq := mat.NewSymDense(q, nil)
	for r, i := range idx {
		b.SetVec(r, coef[i])
		for c, j := range idx[r:] {
			Vq.SetSym(r, r+c, V.At(i, j))
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(Vq) {
		return WaldTest{}, fmt.Errorf("%w: the covariance of the tested coefficients is singular", ErrCollinear)
	}
	var x mat.VecDense
	if err := ch.SolveVecTo(&x, b); err != nil {
		return WaldTest{}, err
	}
	F := mat.Dot(b, &x) / float64(q)
	return WaldTest{F: F, DF1: float64(q), DF2: df2, PValue: distuv.F{D1: float64(q), D2: df2}.Survival(F)}, nil
}

// JointBalanceStatistic is the joint F statistic as a function of the
// assignment, for its randomization-inference version. The covariates
// are fixed across draws: their matrix, (X'X)⁻¹, X(X'X)⁻¹ and the HC
// weights (hat values) are computed once, and rows with the same
// covariates are one pattern (baseline covariates are mostly 0/1: a few
// hundred patterns among thousands of families). A draw of a 0/1
// assignment counts the treated per pattern — one pass over the rows —
// and the rest is per pattern: b = Σ n₁ₚ·(X(X'X)⁻¹)ₚ, each pattern's two
// residuals (z = 1 and z = 0), the meat of the sandwich. The F is
// JointBalance's to rounding (TestJointBalanceStatisticFast: 1e-9).
func JointBalanceStatistic(covs []Column, se string) Statistic {
	st, _ := JointBalanceStatistics(covs, se)
	return st
}

// BitsStatistic is a Statistic of a 0/1 assignment given as bits: unit
// i's z is bit i%64 of words[i/64], or its complement when invert.
type BitsStatistic func(words []uint64, invert bool) (float64, error)

// JointBalanceStatistics is JointBalanceStatistic, and the same statistic
// of an assignment given as bits (nil where the fast path does not
// apply): its pass over the rows visits the treated alone. Both give the
// same F to the last bit.
func JointBalanceStatistics(covs []Column, se string) (Statistic, BitsStatistic) {
	slow := func(z []float64) (float64, error) {
		w, err := JointBalance(z, covs, se)
		return w.F, err
	}
	j := newJointPatterns(covs, se)
	if j == nil {
		return slow, nil // JointBalance says why, where it fails
	}
	return func(z []float64) (float64, error) {
		if len(z) != j.n {
			return 0, ErrLength
		}
		n1, ok := j.countZ(z)
		if !ok {
			return slow(z) // not a 0/1 assignment
		}
		return j.F(n1)
	}, j.ofBits
}

// jointPatterns is what the joint F of any assignment needs of fixed
// covariates: the distinct covariate rows (patterns), each with its
// X(X'X)⁻¹ row, HC weight and number of rows, and (X'X)⁻¹.
type jointPatterns struct {
	n, K, P          int
	se               string
	A                mat.SymDense // (X'X)⁻¹
	pat              []int32      // each row's pattern
	px, pxa, phw, pn []float64
}

// newJointPatterns is nil where the fast path does not apply.
func newJointPatterns(covs []Column, se string) *jointPatterns {
	X, _, err := Matrix(true, covs...)
	if err != nil {
		return nil
	}
	n, K := X.Dims()
	if n <= K || K < 2 || !slices.Contains([]string{Classical, HC0, HC1, HC2, HC3}, se) {
		return nil
	}
	for _, v := range X.RawMatrix().Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
	}
	j := &jointPatterns{n: n, K: K, se: se, pat: make([]int32, n)}
	var xtx mat.SymDense
	xtx.SymOuterK(1, X.T())
	var ch mat.Cholesky
	if ok := ch.Factorize(&xtx); !ok || ch.Cond() > 1e13 {
		return nil
	}
	if err := ch.InverseTo(&j.A); err != nil {
		return nil
	}
	var XA mat.Dense
	XA.Mul(X, &j.A)
	xs, xa := X.RawMatrix().Data, XA.RawMatrix().Data
	hw := make([]float64, n) // the HC weight of each row's squared residual (HC1's n/(n-K) included)
	if se != Classical {
		if hw, err = hcWeights(X, &j.A, se); err != nil {
			return nil
		}
	}
	index := map[string]int32{}
	for i := 0; i < n; i++ {
		row := xs[i*K : (i+1)*K]
		key := unsafe.String((*byte)(unsafe.Pointer(&row[0])), 8*K)
		p, ok := index[key]
		if !ok {
			p = int32(len(j.pn))
			index[key] = p
			j.px, j.pxa = append(j.px, row...), append(j.pxa, xa[i*K:(i+1)*K]...)
			j.phw, j.pn = append(j.phw, hw[i]), append(j.pn, 0)
		}
		j.pat[i] = p
		j.pn[p]++
	}
	j.P = len(j.pn)
	return j
}

// countZ is the number of treated rows of each pattern; false when z is
// not a 0/1 assignment.
func (j *jointPatterns) countZ(z []float64) ([]float64, bool) {
	n1 := make([]float64, j.P)
	for i, zi := range z {
		// Zero only for 0 and 1 (and −0): one test, never true on a 0/1
		// draw, so no branch to mispredict.
		if zi*(1-zi) != 0 {
			return nil, false
		}
		n1[j.pat[i]] += zi
	}
	return n1, true
}

// ofBits is the F of an assignment given as bits.
func (j *jointPatterns) ofBits(words []uint64, invert bool) (float64, error) {
	n, P, pat := j.n, j.P, j.pat
	if len(words) != (n+63)/64 {
		return 0, ErrLength
	}
	// Four sets of counters in turn: a pattern met twice in a row does not
	// wait on its own count (a third of the time of one float per
	// pattern). The counts are whole numbers, so n1 is what countZ sums.
	c := make([]int32, 4*P)
	c0, c1, c2, c3 := c[:P], c[P:2*P], c[2*P:3*P], c[3*P:]
	for w, x := range words {
		if invert {
			x = ^x
		}
		if 64*w+64 > n { // the last word, part full
			x &= 1<<(n-64*w) - 1
			for ; x != 0; x &= x - 1 {
				c0[pat[64*w+bits.TrailingZeros64(x)]]++
			}
			break
		}
		ps := pat[64*w : 64*w+64 : 64*w+64] // &63 below: no bounds check
		for x != 0 {
			c0[ps[bits.TrailingZeros64(x)&63]]++
			if x &= x - 1; x == 0 {
				break
			}
			c1[ps[bits.TrailingZeros64(x)&63]]++
			if x &= x - 1; x == 0 {
				break
			}
			c2[ps[bits.TrailingZeros64(x)&63]]++
			if x &= x - 1; x == 0 {
				break
			}
			c3[ps[bits.TrailingZeros64(x)&63]]++
			x &= x - 1
		}
	}
	n1 := make([]float64, P)
	for p := range n1 {
		n1[p] = float64(c0[p] + c1[p] + c2[p] + c3[p])
	}
	return j.F(n1)
}

// F is the joint F from the number of treated rows of each pattern: b =
// Σ n₁ₚ·(X(X'X)⁻¹)ₚ, each pattern's two residuals (z = 1 and z = 0), the
// meat of the sandwich.
func (j *jointPatterns) F(n1 []float64) (float64, error) {
	K, P, px, pxa, pn, phw := j.K, j.P, j.px, j.pxa, j.pn, j.phw
	b := make([]float64, K)
	for p, c := range n1 {
		if c != 0 {
			for k := 0; k < K; k++ {
				b[k] += c * pxa[p*K+k]
			}
		}
	}
	meat := make([]float64, K*K)
	ss := 0.0
	for p := 0; p < P; p++ {
		x := px[p*K : (p+1)*K]
		f := 0.0
		for k, v := range x {
			f += v * b[k]
		}
		e2 := n1[p]*(1-f)*(1-f) + (pn[p]-n1[p])*f*f // Σ of the pattern's squared residuals
		ss += e2
		if j.se == Classical {
			continue
		}
		w := e2 * phw[p]
		for r := 0; r < K; r++ {
			wr := w * x[r]
			for c := r; c < K; c++ {
				meat[r*K+c] += wr * x[c]
			}
		}
	}
	V := mat.NewDense(K, K, nil)
	if j.se == Classical {
		V.Scale(ss/float64(j.n-K), &j.A)
	} else {
		M := mat.NewSymDense(K, nil)
		for r := 0; r < K; r++ {
			for c := r; c < K; c++ {
				M.SetSym(r, c, meat[r*K+c])
			}
		}
		V.Product(&j.A, M, &j.A)
	}
	idx := make([]int, K-1)
	for i := range idx {
		idx[i] = i + 1
	}
	w, err := waldTest(b, V, idx, float64(j.n-K))
	return w.F, err
}

// JointBalanceGroups is the joint balance test across k ≥ 2 groups: the
// indicator of each group but the first (group[i] = 0, …, k − 1) regressed
// on the covariates (with an intercept), every equation on the same
// regressors, and the test that every covariate's coefficient in every
// equation is zero: F = b'V⁻¹b/q, q = (k − 1)·covariates, on (q, n − K)
// degrees of freedom, V the HC0-HC3 covariance across the equations, as
// estimatr's vcov(lm_robust(cbind(D1, …) ~ covariates)). With two groups it
// is JointBalance.
func JointBalanceGroups(group []int, k int, covs []Column, se string) (WaldTest, error) {
	if k < 2 {
		return WaldTest{}, fmt.Errorf("analysis: %d groups", k)
	}
	X, names, err := Matrix(true, covs...)
	if err != nil {
		return WaldTest{}, err
	}
	n, K := X.Dims()
	if len(group) != n {
		return WaldTest{}, ErrLength
	}
	if n <= K {
		return WaldTest{}, fmt.Errorf("%w: %d rows for %d coefficients", ErrTooFew, n, K)
	}
	if err := checkFiniteColumns(X, names); err != nil {
		return WaldTest{}, err
	}
	var xtx mat.SymDense
	xtx.SymOuterK(1, X.T())
	var ch mat.Cholesky
	if ok := ch.Factorize(&xtx); !ok || ch.Cond() > 1e13 {
		return WaldTest{}, fmt.Errorf("%w among %v", ErrCollinear, names)
	}
	var A mat.SymDense
	if err := ch.InverseTo(&A); err != nil {
		return WaldTest{}, fmt.Errorf("%w: %v", ErrCollinear, err)
	}
	m := k - 1
	D := mat.NewDense(n, m, nil)
	for i, g := range group {
		if g < 0 || g >= k {
			return WaldTest{}, fmt.Errorf("analysis: group %d of row %d is not in 0..%d", g, i+1, k-1)
		}
		if g > 0 {
			D.Set(i, g-1, 1)
		}
	}
	var XtD, B, E mat.Dense
	XtD.Mul(X.T(), D)
	B.Mul(&A, &XtD) // K × m
	E.Mul(X, &B)
	E.Sub(D, &E) // residuals, n × m
	w, err := hcWeights(X, &A, se)
	if err != nil {
		return WaldTest{}, err
	}
	// meat = Σ_i w_i (e_i e_i') ⊗ (x_i x_i'); V = (I ⊗ A) meat (I ⊗ A).
	meat := mat.NewSymDense(m*K, nil)
	u := make([]float64, m*K)
	for i := 0; i < n; i++ {
		x := X.RawRowView(i)
		for a := 0; a < m; a++ {
			for j := 0; j < K; j++ {
				u[a*K+j] = E.At(i, a) * x[j]
			}
		}
		meat.SymRankOne(meat, w[i], mat.NewVecDense(m*K, u))
	}
	IA := mat.NewDense(m*K, m*K, nil)
	for a := 0; a < m; a++ {
		for i := 0; i < K; i++ {
			for j := 0; j < K; j++ {
				IA.Set(a*K+i, a*K+j, A.At(i, j))
			}
		}
	}
	var V, tmp mat.Dense
	tmp.Mul(IA, meat)
	V.Mul(&tmp, IA)
	// The slopes: every coefficient but each equation's intercept.
	var idx []int
	for a := 0; a < m; a++ {
		for j := 1; j < K; j++ {
			idx = append(idx, a*K+j)
		}
	}
	q := len(idx)
	if q == 0 {
		return WaldTest{}, fmt.Errorf("%w: no covariate to test", ErrTooFew)
	}
	coef := make([]float64, m*K) // stacked by equation, as V
	for a := 0; a < m; a++ {
		for j := 0; j < K; j++ {
			coef[a*K+j] = B.At(j, a)
		}
	}
	return waldTest(coef, &V, idx, float64(n-K))
}

// hcWeights are the weights of each row's squared residual in the HC0-HC3
// meat: 1, n/(n − k), 1/(1 − h), 1/(1 − h)².
func hcWeights(X *mat.Dense, bread *mat.SymDense, se string) ([]float64, error) {
	n, k := X.Dims()
	w := make([]float64, n)
	switch se {
	case HC0, HC1:
		c := 1.0
		if se == HC1 {
			c = float64(n) / float64(n-k)
		}
		for i := range w {
			w[i] = c
		}
	case HC2, HC3:
		for i, h := range hatValues(X, bread) {
			w[i] = 1 / (1 - h)
			if se == HC3 {
				w[i] *= w[i]
			}
		}
	default:
		return nil, fmt.Errorf("analysis: the joint test across groups takes HC0-HC3 standard errors, not %q", se)
	}
	return w, nil
}

// JointBalanceGroupsStatistic is the F of JointBalanceGroups as a function
// of the groups (given as float64 indices), for its randomization-
// inference version.
func JointBalanceGroupsStatistic(k int, covs []Column, se string) Statistic {
	return func(z []float64) (float64, error) {
		g := make([]int, len(z))
		for i, v := range z {
			g[i] = int(v)
		}
		w, err := JointBalanceGroups(g, k, covs, se)
		return w.F, err
	}
}
