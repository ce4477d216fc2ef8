package analysis

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// extra.json is written by testdata/make_extra.R (R 4.2.2, estimatr
// 1.0.0): the joint balance F of estimatr, and R transcriptions of Lee
// bounds, the log risk ratio, Anderson's index and sharpened q-values, and
// the Imbens-Manski interval. Tolerance 1e-8 relative.
type extraRef struct {
	Cases map[string]struct {
		Lee           map[string]float64 `json:"lee_y12"`
		RiskRatio     map[string]float64 `json:"risk_ratio_aid6"`
		AndersonIndex struct {
			Values   []*float64 `json:"values"`
			Effect   float64    `json:"effect"`
			StdError float64    `json:"std_error"`
		} `json:"anderson_index"`
	} `json:"cases"`
	BKY struct {
		P []float64 `json:"p"`
		Q []float64 `json:"q"`
	} `json:"bky"`
	IM struct {
		Input map[string]float64 `json:"input"`
		CI    map[string]float64 `json:"ci"`
	} `json:"imbens_manski"`
}

func TestExtraReference(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "extra.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref extraRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Cases map[string]struct {
			JointBalance map[string]any `json:"joint_balance"`
		} `json:"cases"`
	}
	json.Unmarshal(b, &raw)
	near := func(what string, got, want float64) {
		t.Helper()
		if !relClose(got, want, 1e-8) {
			t.Errorf("%s = %.15g, R gives %.15g", what, got, want)
		}
	}
	if len(ref.Cases) != 3 {
		t.Fatalf("%d cases", len(ref.Cases))
	}
	for name, c := range ref.Cases {
		d, _ := loadCase(t, name)
		// joint balance: treatment on baseline covariates and strata, HC2 Wald F
		jb := raw.Cases[name].JointBalance
		w, err := JointBalance(d.num["z"], append([]Column{d.col("y0"), d.col("aid0")}, Dummies("s", d.str["stratum"])...), HC2)
		if err != nil {
			t.Fatal(err)
		}
		near(name+" "+jb["call"].(string)+" F", w.F, jb["f"].(float64))
		near(name+" joint balance df2", w.DF2, jb["df2"].(float64))
		near(name+" joint balance p", w.PValue, jb["p_value"].(float64))
		// Lee bounds on y12 (missing = lost to follow-up)
		lb, err := Lee(d.num["y12"], d.num["z"])
		if err != nil {
			t.Fatal(err)
		}
		near(name+" Lee lower", lb.Lower, c.Lee["lower"])
		near(name+" Lee upper", lb.Upper, c.Lee["upper"])
		near(name+" Lee trim", lb.Trim, c.Lee["trim"])
		// risk ratio of aid6
		rr, err := RiskRatio(d.num["aid6"], d.num["z"], 0.05)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]float64{"estimate": rr.Estimate, "std_error": rr.StdError, "conf_low": rr.ConfLow, "conf_high": rr.ConfHigh, "p_value": rr.PValue} {
			near(name+" risk ratio "+k, v, c.RiskRatio[k])
		}
		// Anderson index of (y6, aid6, y12) and its effect (lm_robust HC2)
		idx, err := AndersonIndex([]Column{d.col("y6"), d.col("aid6"), d.col("y12")}, nil, d.num["z"])
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range c.AndersonIndex.Values {
			if v == nil {
				if !math.IsNaN(idx[i]) {
					t.Errorf("%s index[%d] = %v, R gives NA", name, i, idx[i])
				}
				continue
			}
			near(name+" index value", idx[i], *v)
		}
		X, names, _ := Matrix(true, d.col("z"))
		f, err := OLS(idx, X, names, OLSOptions{SE: HC2})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := f.Term("z")
		near(name+" index effect", r.Estimate, c.AndersonIndex.Effect)
		near(name+" index effect se", r.StdError, c.AndersonIndex.StdError)
	}
	q, err := SharpenedQ(ref.BKY.P)
	if err != nil {
		t.Fatal(err)
	}
	for i := range q {
		near("sharpened q", q[i], ref.BKY.Q[i])
	}
	in := ref.IM.Input
	lo, hi, err := ImbensManski(in["L"], in["U"], in["sL"], in["sU"], 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lo-ref.IM.CI["lower"]) > 1e-6 || math.Abs(hi-ref.IM.CI["upper"]) > 1e-6 {
		t.Errorf("Imbens-Manski [%v, %v], R gives [%v, %v]", lo, hi, ref.IM.CI["lower"], ref.IM.CI["upper"])
	}
}

func TestHeterogeneityReference(t *testing.T) {
	b, _ := os.ReadFile(filepath.Join("testdata", "extra.json"))
	var ref struct {
		Het map[string]map[string]any `json:"heterogeneity"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Het) != 2 {
		t.Fatalf("%d cases", len(ref.Het))
	}
	for name, want := range ref.Het {
		d, _ := loadCase(t, name)
		h, err := Heterogeneity(d.num["y6"], d.num["z"], d.str["stratum"], HC2)
		if err != nil {
			t.Fatal(err)
		}
		for k, got := range map[string]float64{"f": h.Interaction.F, "df2": h.Interaction.DF2, "p_value": h.Interaction.PValue} {
			if !relClose(got, want[k].(float64), 1e-8) {
				t.Errorf("%s %s %s = %.15g, R gives %.15g", name, want["call"], k, got, want[k])
			}
		}
		for _, e := range h.Effects {
			if e.Subgroup == "s2" && (!relClose(e.Estimate, want["s2_estimate"].(float64), 1e-8) || !relClose(e.StdError, want["s2_std_error"].(float64), 1e-8)) {
				t.Errorf("%s effect in s2: %v (%v), R gives %v (%v)", name, e.Estimate, e.StdError, want["s2_estimate"], want["s2_std_error"])
			}
		}
		dr, err := Dose(d.num["y6"], d.num["y0"], d.num["z"], HC2)
		if err != nil {
			t.Fatal(err)
		}
		if !relClose(dr.Estimate, want["dose_estimate"].(float64), 1e-8) || !relClose(dr.StdError, want["dose_std_error"].(float64), 1e-8) || !dr.NonExperimental {
			t.Errorf("%s dose: %+v, R gives %v (%v)", name, dr, want["dose_estimate"], want["dose_std_error"])
		}
	}
}

// TestLeeBootstrap: the bootstrap standard errors of the bounds are
// positive, the same for a seed (on any number of cores), and feed the Imbens-Manski interval,
// which contains the bounds.
func TestLeeBootstrap(t *testing.T) {
	d, _ := loadCase(t, "trial112")
	lb, err := Lee(d.num["y12"], d.num["z"])
	if err != nil {
		t.Fatal(err)
	}
	sl, su, err := LeeBootstrap(d.num["y12"], d.num["z"], 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	sl2, su2, _ := LeeBootstrap(d.num["y12"], d.num["z"], 200, 1)
	if sl <= 0 || su <= 0 || sl != sl2 || su != su2 {
		t.Fatalf("bootstrap SEs %v %v (again %v %v)", sl, su, sl2, su2)
	}
	for _, procs := range []int{1, 3} { // the resamples spread over other numbers of cores
		old := runtime.GOMAXPROCS(procs)
		sl3, su3, _ := LeeBootstrap(d.num["y12"], d.num["z"], 200, 1)
		runtime.GOMAXPROCS(old)
		if sl3 != sl || su3 != su {
			t.Errorf("on %d cores: %v %v, not %v %v", procs, sl3, su3, sl, su)
		}
	}
	lo, hi, err := ImbensManski(lb.Lower, lb.Upper, sl, su, 0.05)
	if err != nil || lo >= lb.Lower || hi <= lb.Upper {
		t.Errorf("Imbens-Manski [%v, %v] around bounds [%v, %v]: %v", lo, hi, lb.Lower, lb.Upper, err)
	}
}
