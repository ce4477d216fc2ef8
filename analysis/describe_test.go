package analysis

import (
	"math"
	"testing"
)

// TestDescribeGroups compares with R 4.x:
//
//	y0 <- c(1,2,4,7,11); t.test(y0)$conf.int; sd(y0)
//	y1 <- c(3.5, 2, 8);  t.test(y1, conf.level = 0.9)$conf.int; sd(y1)
func TestDescribeGroups(t *testing.T) {
	y := []float64{1, 3.5, 2, math.NaN(), 4, 2, 7, 11, 8}
	z := []float64{0, 1, 0, 1, 0, 1, 0, 0, 1}
	g, err := DescribeGroups(y, z, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-10
	if g.N != [2]int{5, 3} || math.Abs(g.Mean[0]-5) > tol || math.Abs(g.SD[0]-4.06201920231798) > tol || math.Abs(g.SD[1]-3.1224989991992) > tol {
		t.Errorf("got %+v", g)
	}
	if math.Abs(g.MeanCI[0][0]-(-0.0436630035306079)) > tol || math.Abs(g.MeanCI[0][1]-10.0436630035306074) > tol {
		t.Errorf("CI of group 0 %v, R [-0.0436630035306079, 10.0436630035306074]", g.MeanCI[0])
	}
	g, _ = DescribeGroups(y, z, 0.10)
	if math.Abs(g.MeanCI[1][0]-(-0.764078866790412)) > tol || math.Abs(g.MeanCI[1][1]-9.764078866790413) > tol {
		t.Errorf("90%% CI of group 1 %v, R [-0.764078866790412, 9.764078866790413]", g.MeanCI[1])
	}
	if _, err := DescribeGroups([]float64{1, 2}, []float64{0, 2}, 0.05); err == nil {
		t.Error("z = 2 accepted")
	}
	if _, err := DescribeGroups([]float64{1}, []float64{0, 1}, 0.05); err == nil {
		t.Error("lengths differ, accepted")
	}
}

// TestBalanceBinary: a 0/1 covariate is flagged binary with the number of
// ones per group (missing values left out); any other value is not.
func TestBalanceBinary(t *testing.T) {
	z := []float64{0, 0, 0, 1, 1, 1}
	rows, err := Balance(z, []Column{{Name: "weak", Values: []float64{1, 0, 1, 1, math.NaN(), 0}}, {Name: "size", Values: []float64{1, 2, 3, 1, 0, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if w := rows[0]; !w.Binary || w.Count0 != 2 || w.Count1 != 1 || w.N1 != 2 {
		t.Errorf("weak: %+v", w)
	}
	if rows[1].Binary {
		t.Error("size has values other than 0 and 1 but is flagged binary")
	}
}
