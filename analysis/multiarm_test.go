package analysis

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// multiarmRef is testdata/reference/estimatr/multiarm.json
// (make_multiarm.R, R 4.2.2, estimatr 1.0.0).
type multiarmRef struct {
	Joint []struct {
		Call   string  `json:"call"`
		F      float64 `json:"f"`
		DF1    float64 `json:"df1"`
		DF2    float64 `json:"df2"`
		PValue float64 `json:"p_value"`
		SE     string  `json:"se"`
		Groups int     `json:"groups"`
	} `json:"joint"`
	FixedEffects []refEntry `json:"fixed_effects"`
}

func loadMultiarm(t *testing.T) multiarmRef {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "reference", "estimatr", "multiarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref multiarmRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestJointBalanceGroupsReference: the joint balance test across three
// groups against estimatr's covariance across the equations of
// lm_robust(cbind(D1, D2) ~ ...), 1e-8 relative; with two groups it is
// JointBalance and R's single-equation test.
func TestJointBalanceGroupsReference(t *testing.T) {
	d, _ := loadCase(t, "trial112")
	ref := loadMultiarm(t)
	covs := append([]Column{d.col("y0"), d.col("aid0")}, Dummies("stratum", d.str["stratum"])...)
	g3, g2 := make([]int, d.n), make([]int, d.n)
	for i := range g3 {
		g3[i], g2[i] = i%3, int(d.num["z"][i])
	}
	if len(ref.Joint) != 5 {
		t.Fatalf("%d joint references", len(ref.Joint))
	}
	for _, e := range ref.Joint {
		g := g3
		if e.Groups == 2 {
			g = g2
		}
		w, err := JointBalanceGroups(g, e.Groups, covs, e.SE)
		if err != nil {
			t.Fatalf("%s: %v", e.Call, err)
		}
		if !relClose(w.F, e.F, 1e-8) || w.DF1 != e.DF1 || w.DF2 != e.DF2 || !relClose(w.PValue, e.PValue, 1e-8) {
			t.Errorf("%s: F(%g, %g) = %.12g p %.12g; R F(%g, %g) = %.12g p %.12g", e.Call, w.DF1, w.DF2, w.F, w.PValue, e.DF1, e.DF2, e.F, e.PValue)
		}
		if e.Groups == 2 {
			z := d.num["z"]
			one, err := JointBalance(z, covs, e.SE)
			if err != nil || math.Abs(one.F-w.F) > 1e-10*w.F {
				t.Errorf("two groups: %v vs JointBalance %v (%v)", w, one, err)
			}
		}
	}
	if _, err := JointBalanceGroups(g3, 3, covs, "classical"); err == nil {
		t.Error("classical accepted")
	}
	if _, err := JointBalanceGroups(g3, 2, covs, HC2); err == nil {
		t.Error("a group index out of range accepted")
	}
}

// TestStratumCellsAreFixedEffects: a dummy for every stratum cell but the
// first gives estimatr's fixed_effects = ~ stratum, 1e-8.
func TestStratumCellsAreFixedEffects(t *testing.T) {
	d, _ := loadCase(t, "trial112")
	ref := loadMultiarm(t)
	cols := append([]Column{d.col("z"), d.col("y0")}, Dummies("stratum", d.str["stratum"])...)
	if len(ref.FixedEffects) != 3 || ref.FixedEffects[0].Estimate == 0 {
		t.Fatalf("fixed-effects references: %+v", ref.FixedEffects)
	}
	for _, e := range ref.FixedEffects {
		se := HC2
		if e.Call[len(e.Call)-5:] == "HC1')" {
			se = HC1
		}
		f := d.ols(t, "y6", se, false, cols...)
		r, _ := f.Term("z")
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"estimate", r.Estimate, e.Estimate}, {"std_error", r.StdError, e.StdError}, {"df", r.DF, e.DF}, {"p_value", r.PValue, e.PValue}, {"conf_low", r.ConfLow, e.ConfLow}} {
			if !relClose(c.got, c.want, 1e-8) {
				t.Errorf("%s: %s = %.15g, R gives %.15g", e.Call, c.name, c.got, c.want)
			}
		}
	}
}

// TestPowerRatioReference: unequal groups against pwr's pwr.t2n.test and
// pwr.2p2n.test, and the totals and differences R's uniroot finds on the
// same intervals (testdata/reference/estimatr/power_ratio.json,
// make_power_ratio.R, R 4.2.2, pwr 1.3.0), 1e-8 relative.
func TestPowerRatioReference(t *testing.T) {
	h := CohenH(0.50, 0.25)
	checkCalls(t, "power_ratio.json", map[string]func() float64{
		"pwr.t2n.test(n1 = 56, n2 = 28, d = 150/300, sig.level = 0.05)$power":           func() float64 { return PowerT2N(56, 28, 150, 300, 0.05) },
		"pwr.t2n.test(n1 = 28, n2 = 28, d = 150/300, sig.level = 0.05)$power":           func() float64 { return PowerT2N(28, 28, 150, 300, 0.05) },
		"pwr.t2n.test(n1 = 75, n2 = 37.5, d = 0.4, sig.level = 0.01)$power":             func() float64 { return PowerT2N(75, 37.5, 0.4, 1, 0.01) },
		"pwr.2p2n.test(h = ES.h(0.50, 0.25), n1 = 56, n2 = 28, sig.level = 0.05)$power": func() float64 { return Power2P2N(h, 56, 28, 0.05) },
		"uniroot(function(N) pwr.t2n.test(n1 = N * 2/4, n2 = N * 1/4, d = 150/300)$power - 0.8, c(8 + 1e-10, 1e9))$root": func() float64 {
			n, _ := SolveTotal(func(n float64) float64 { return PowerT2N(n*2/4, n/4, 150, 300, 0.05) }, 0.8, 8+1e-10)
			return n
		},
		"uniroot(function(N) pwr.2p2n.test(h = ES.h(0.50, 0.25), n1 = N * 2/4, n2 = N * 1/4)$power - 0.8, c(8 + 1e-10, 1e9))$root": func() float64 {
			n, _ := SolveTotal(func(n float64) float64 { return Power2P2N(h, n*2/4, n/4, 0.05) }, 0.8, 8+1e-10)
			return n
		},
		"uniroot(function(d) pwr.t2n.test(n1 = 56, n2 = 28, d = d)$power - 0.8, c(1e-7, 1e7))$root": func() float64 {
			d, _ := SolveDelta(func(d float64) float64 { return PowerT2N(56, 28, d, 1, 0.05) }, 0.8, 1)
			return d
		},
	})
}
