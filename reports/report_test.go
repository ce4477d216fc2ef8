package reports

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/trial"
)

func TestCellString(t *testing.T) {
	for _, c := range []struct {
		cell Cell
		want string
	}{
		{num(0.0004, "p"), "< 0.001"}, {num(0.04567, "p"), "0.046"}, {num(0.256, "pct"), "25.6%"}, {num(112, "n"), "112"},
		{num(1450.4, ""), "1450"}, {num(-2.156, ""), "-2.16"}, {num(0.01234, ""), "0.012"}, {num(math.NaN(), ""), "–"},
		{numPtr(nil, "p"), "–"}, {text("x"), "x"},
	} {
		if got := c.cell.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// gonum/plot refuses NaN: the figure helpers drop non-finite points and
// return nil when nothing is left, never panic.
func TestFiguresWithMissingValues(t *testing.T) {
	nan := math.NaN()
	if p := forest("f", "x", []interval{{"a", nan, nan, nan}, {"b", math.Inf(1), 0, 1}}, 0); p != nil {
		t.Error("a forest of non-finite rows should be left out")
	}
	if p := forest("f", "x", []interval{{"a", nan, 0, 1}, {"b", 0.2, 0.1, 0.3}}, 0); p == nil {
		t.Error("the finite row should be drawn")
	}
	if p := lines("l", "x", "y", []string{"m0", "m6"}, [2]string{"A", "B"}, [2][]float64{{nan, nan}, {nan, nan}}, [2][]float64{}, [2][]float64{}); p != nil {
		t.Error("lines without a finite point should be left out")
	}
	lp := lines("l", "x", "y", []string{"m0", "m6"}, [2]string{"A", "B"}, [2][]float64{{1, nan}, {2, 3}}, [2][]float64{{0.5, nan}, {nan, 2}}, [2][]float64{{1.5, nan}, {nan, 4}})
	if lp == nil {
		t.Fatal("lines with finite points should be drawn")
	}
	if _, err := (Figure{Name: "l", Plot: lp, W: 200, H: 150}).SVG(); err != nil {
		t.Fatal(err)
	}
	if histogram("h", "x", []float64{nan, nan}, 1) != nil || histogram("h", "x", []float64{1, 2}, nan) != nil {
		t.Error("a histogram without finite draws or observed value should be left out")
	}
}

// A report of an analysis full of holes renders, blinded, without a NaN.
func TestBuildWithHoles(t *testing.T) {
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	est := &analysis.Result{Estimate: 0.2, StdError: 0.1, ConfLow: 0.0, ConfHigh: 0.4, PValue: 0.04}
	c := &plan.ContrastResult{Contrast: plan.Contrast{ID: "B-A", Label: "group B minus group A", Names: [2]string{"group A", "group B"}, Arm: 1}, Families: 4,
		Balance:   &plan.BalanceReport{Rows: []analysis.BalanceRow{{Variable: "weak_income", N0: 2, Mean0: nan, N1: 2, Mean1: 1, NormDiff: nan, PValue: nan}}},
		Attrition: []plan.WaveAttrition{{Wave: "m6", Test: analysis.Attrition{N0: 2, N1: 2, Responded0: 0, Responded1: 2, Rate0: 0, Rate1: 1, Test: analysis.Result{Estimate: 1, PValue: nan}}}},
		Outcomes: []plan.OutcomeResult{
			{Outcome: "supp_aid_6m", Type: "binary", Family: "primary", N: [2]int{2, 2}, Mean: [2]float64{0, 0.5}, Estimate: est, Unadjusted: est,
				RI: &analysis.RIResult{Observed: 0.5, Draws: 3, Null: []float64{nan, 0.1, -0.2}, PValue: 0.5}, Lee: &analysis.LeeBounds{Lower: nan, Upper: 1, Trimmed: "treatment"}},
			{Outcome: "income", Type: "continuous", Family: "secondary", Wave: "m6", Source: "survey", N: [2]int{0, 2}, Mean: [2]float64{0, 1400}, Notes: []string{"too few respondents"}},
		}}
	a := &plan.Analysis{Blinded: true, Groups: []string{"group A", "group B"}, SEType: "HC2", Alpha: 0.05,
		MultipleTesting: "holm", Draws: 10, RIConvention: "p = (c + 1)/(B + 1)", Model: "OLS", Families: 4,
		Flow:      plan.GroupFlow{Allocated: []int{2, 2}, Responded: []plan.StageCount{{Wave: "m6", N: []int{0, 2}}}},
		Contrasts: []*plan.ContrastResult{c}}
	r, err := Build(&Input{Lang: "en", Context: &plan.Context{Protocol: p, Status: &trial.Status{Referred: 5, Randomized: 4}}, Analysis: a})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"NaN", "Inf", "intervention", "Usual services"} {
		if strings.Contains(html, bad) {
			t.Errorf("the report shows %q", bad)
		}
	}
	if !strings.Contains(html, "Group B") || !strings.Contains(html, `data-figure="ri_supp_aid_6m"`) {
		t.Error("the report lacks the group names or the RI figure")
	}
	var x bytes.Buffer
	if err := r.XLSX(&x); err != nil || x.Len() == 0 {
		t.Fatalf("xlsx: %v", err)
	}
	if _, err := Build(&Input{Context: &plan.Context{Protocol: p}}); err == nil {
		t.Error("a report without an analysis was built")
	}
}
