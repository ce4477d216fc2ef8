package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

var stdNormal = distuv.Normal{Mu: 0, Sigma: 1}

// pnt is the distribution function of the noncentral t with df degrees of
// freedom and noncentrality ncp, P(T ≤ t) (lower) or P(T > t), by
// Lenth's algorithm AS 243 with Guenther's twin series, as R's pnt.
func pnt(t, df, ncp float64, lower bool) float64 {
	if ncp == 0 {
		d := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
		if lower {
			return d.CDF(t)
		}
		return d.Survival(t)
	}
	if math.IsInf(t, 0) {
		if (t < 0) == lower {
			return 0
		}
		return 1
	}
	negdel := false
	tt, del := t, ncp
	if t < 0 {
		negdel, tt, del = true, -t, -ncp
	}
	if df > 4e5 || del*del > 2*math.Ln2*1021 {
		s := 1 / (4 * df)
		n := distuv.Normal{Mu: del, Sigma: math.Sqrt(1 + tt*tt*2*s)}
		if lower != negdel {
			return n.CDF(tt * (1 - s))
		}
		return n.Survival(tt * (1 - s))
	}
	x := t * t
	x = x / (x + df)
	var tnc float64
	if x > 0 {
		lambda := del * del
		p := 0.5 * math.Exp(-0.5*lambda)
		if p == 0 {
			return 0
		}
		q := math.Sqrt(2/math.Pi) * p * del
		s := 0.5 - p
		if s < 1e-7 {
			s = -0.5 * math.Expm1(-0.5*lambda)
		}
		a := 0.5
		b := 0.5 * df
		rxb := math.Pow(df/(t*t+df), b)
		lgb, _ := math.Lgamma(b)
		lgb5, _ := math.Lgamma(0.5 + b)
		albeta := 0.5*math.Log(math.Pi) + lgb - lgb5
		xodd := mathext.RegIncBeta(a, b, x)
		godd := 2 * rxb * math.Exp(a*math.Log(x)-albeta)
		tnc = b * x
		xeven := 1 - rxb
		if tnc < 2.220446049250313e-16 {
			xeven = tnc
		}
		geven := tnc * rxb
		tnc = p*xodd + q*xeven
		for it := 1; it <= 1000; it++ {
			a++
			xodd -= godd
			xeven -= geven
			godd *= x * (a + b - 1) / a
			geven *= x * (a + b - 0.5) / (a + 0.5)
			p *= lambda / float64(2*it)
			q *= lambda / float64(2*it+1)
			tnc += p*xodd + q*xeven
			s -= p
			if s < -1e-10 || (s <= 0 && it > 1) {
				break
			}
			if math.Abs(2*s*(xodd-godd)) < 1e-12 {
				break
			}
		}
	}
	tnc += stdNormal.CDF(-del)
	tnc = math.Min(tnc, 1)
	if lower != negdel {
		return tnc
	}
	return 1 - tnc
}

// PowerT is the power of a two-sided two-sample t test with n per group,
// true difference delta, standard deviation sd and level alpha, as R's
// power.t.test: P(T' > q) with T' noncentral t on 2(n − 1) df and
// noncentrality sqrt(n/2)·delta/sd, q = qt(1 − alpha/2).
func PowerT(n, delta, sd, alpha float64) float64 {
	nu := 2 * (n - 1)
	qu := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}.Quantile(1 - alpha/2)
	return pnt(qu, nu, math.Sqrt(n/2)*delta/sd, false)
}

// SampleSizeT solves PowerT for n per group (power.t.test(power = ...)$n).
func SampleSizeT(power, delta, sd, alpha float64) (float64, error) {
	if power <= alpha || power >= 1 {
		return 0, fmt.Errorf("analysis: power %v is not in (alpha, 1)", power)
	}
	return uniroot(func(n float64) float64 { return PowerT(n, delta, sd, alpha) - power }, 2, 1e7), nil
}

// MDET solves PowerT for the detectable difference delta
// (power.t.test(n = ..., power = ...)$delta).
func MDET(n, power, sd, alpha float64) (float64, error) {
	if power <= alpha || power >= 1 || n < 2 {
		return 0, fmt.Errorf("analysis: power %v or n %v out of range", power, n)
	}
	return uniroot(func(d float64) float64 { return PowerT(n, d, sd, alpha) - power }, sd*1e-7, sd*1e7), nil
}

// PowerT2N is the power of the two-sided two-sample t test with n1 and n2
// in the groups, true difference delta, standard deviation sd and level
// alpha, as pwr's pwr.t2n.test (d = delta/sd): both tails of the
// noncentral t on n1 + n2 − 2 df with noncentrality d·√(n1·n2/(n1 + n2)).
func PowerT2N(n1, n2, delta, sd, alpha float64) float64 {
	nu := n1 + n2 - 2
	ncp := delta / sd * math.Sqrt(n1*n2/(n1+n2))
	qu := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}.Quantile(1 - alpha/2)
	return pnt(qu, nu, ncp, false) + pnt(-qu, nu, ncp, true)
}

// Power2P2N is the power of the two-sided test of two proportions with
// effect size h and n1, n2 in the groups (pwr's pwr.2p2n.test).
func Power2P2N(h, n1, n2, alpha float64) float64 {
	s := h * math.Sqrt(n1*n2/(n1+n2))
	z := stdNormal.Quantile(1 - alpha/2)
	return stdNormal.Survival(z-s) + stdNormal.CDF(-z-s)
}

// SolveTotal finds the total number of units N at which power(N) reaches
// target, power increasing in N, for N in (lo, 1e9): as R's uniroot on the
// same function.
func SolveTotal(power func(n float64) float64, target, lo float64) (float64, error) {
	if target <= 0 || target >= 1 {
		return 0, fmt.Errorf("analysis: power %v is not in (0, 1)", target)
	}
	return uniroot(func(n float64) float64 { return power(n) - target }, lo, 1e9), nil
}

// SolveDelta finds the difference at which power(delta) reaches target,
// for delta in (scale·1e-7, scale·1e7).
func SolveDelta(power func(delta float64) float64, target, scale float64) (float64, error) {
	if target <= 0 || target >= 1 {
		return 0, fmt.Errorf("analysis: power %v is not in (0, 1)", target)
	}
	return uniroot(func(d float64) float64 { return power(d) - target }, scale*1e-7, scale*1e7), nil
}

// CohenH is the effect size h = 2 asin √p1 − 2 asin √p2 (pwr's ES.h).
func CohenH(p1, p2 float64) float64 {
	return 2*math.Asin(math.Sqrt(p1)) - 2*math.Asin(math.Sqrt(p2))
}

// Power2P is the power of the two-sided test of two proportions with
// effect size h and n per group (pwr's pwr.2p.test): Φ(h√(n/2) − z) +
// Φ(−z − h√(n/2)), z = Φ⁻¹(1 − alpha/2).
func Power2P(h, n, alpha float64) float64 {
	z := stdNormal.Quantile(1 - alpha/2)
	return stdNormal.Survival(z-h*math.Sqrt(n/2)) + stdNormal.CDF(stdNormal.Quantile(alpha/2)-h*math.Sqrt(n/2))
}

// SampleSize2P solves Power2P for n per group.
func SampleSize2P(h, power, alpha float64) float64 {
	return uniroot(func(n float64) float64 { return Power2P(h, n, alpha) - power }, 2+1e-10, 1e9)
}

// PowerProp is the power of the two-sided comparison of proportions p1,
// p2 with n per group, as R's power.prop.test (not strict):
// Φ((√n |p1 − p2| − z √((p1 + p2)(1 − (p1 + p2)/2))) / √(p1(1 − p1) + p2(1 − p2))).
func PowerProp(n, p1, p2, alpha float64) float64 {
	z := stdNormal.Quantile(1 - alpha/2)
	return stdNormal.CDF((math.Sqrt(n)*math.Abs(p1-p2) - z*math.Sqrt((p1+p2)*(1-(p1+p2)/2))) / math.Sqrt(p1*(1-p1)+p2*(1-p2)))
}

// PowerSimOptions describe a simulated trial for SimulatePower.
type PowerSimOptions struct {
	N         int     // families
	Effect    float64 // true difference in means
	SD        float64 // outcome standard deviation
	Attrition float64 // share of families lost at random before the outcome
	Alpha     float64
	Reps      int
	Seed      uint64 // rep r draws from PCG(Seed, r): the same on any number of cores
}

// SimulatePower is the share of simulated trials whose difference in means
// (Welch) rejects at alpha: the assignment drawn from the trial's own
// design, outcomes normal with the given effect, and each family lost with
// probability Attrition. It returns the power and its Monte-Carlo standard
// error.
func SimulatePower(draw Draw, o PowerSimOptions) (float64, float64, error) {
	if o.N < 4 || o.Reps < 1 || o.SD <= 0 || o.Attrition < 0 || o.Attrition >= 1 {
		return 0, 0, fmt.Errorf("analysis: simulated power needs n ≥ 4, reps ≥ 1, sd > 0 and attrition in [0, 1)")
	}
	alpha, err := checkAlpha(o.Alpha)
	if err != nil {
		return 0, 0, err
	}
	hits := make([]bool, o.Reps)
	errs := make([]error, o.Reps)
	workers := min(runtime.GOMAXPROCS(0), o.Reps)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			z := make([]float64, o.N)
			for r := w; r < o.Reps; r += workers {
				src := rand.New(rand.NewPCG(o.Seed, uint64(r)))
				if err := draw(src, z); err != nil {
					errs[r] = err
					return
				}
				var ys, zs []float64
				for i := 0; i < o.N; i++ {
					y := src.NormFloat64()*o.SD + o.Effect*z[i]
					if src.Float64() >= o.Attrition {
						ys, zs = append(ys, y), append(zs, z[i])
					}
				}
				res, err := DifferenceInMeans(ys, zs, nil, alpha)
				hits[r] = err == nil && res.PValue < alpha
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, 0, err
		}
	}
	k := 0
	for _, h := range hits {
		if h {
			k++
		}
	}
	p := float64(k) / float64(o.Reps)
	return p, math.Sqrt(p * (1 - p) / float64(o.Reps)), nil
}
