package analysis

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// GroupMeans describe a measure by group: N, mean, SD (n − 1 denominator)
// and the (1 − alpha) interval of each mean, mean ± t(1 − alpha/2, n − 1)·
// SD/√n as R's t.test(y)$conf.int (the mean itself when n < 2).
type GroupMeans struct {
	N      [2]int        `json:"n"`
	Mean   [2]float64    `json:"mean"`
	SD     [2]float64    `json:"sd"`
	MeanCI [2][2]float64 `json:"mean_ci"`
}

// DescribeGroups describes y by group z (0 or 1); NaN values are missing.
func DescribeGroups(y, z []float64, alpha float64) (GroupMeans, error) {
	var g GroupMeans
	if len(y) != len(z) {
		return g, ErrLength
	}
	alpha, err := checkAlpha(alpha)
	if err != nil {
		return g, err
	}
	var sum, sq [2]float64
	for i, v := range y {
		if math.IsNaN(v) {
			continue
		}
		if z[i] != 0 && z[i] != 1 {
			return g, fmt.Errorf("analysis: z[%d] = %v is not 0 or 1", i, z[i])
		}
		k := int(z[i])
		g.N[k]++
		sum[k] += v
	}
	for k := 0; k < 2; k++ {
		if g.N[k] > 0 {
			g.Mean[k] = sum[k] / float64(g.N[k])
		}
	}
	for i, v := range y {
		if !math.IsNaN(v) {
			d := v - g.Mean[int(z[i])]
			sq[int(z[i])] += d * d
		}
	}
	for k := 0; k < 2; k++ {
		n := float64(g.N[k])
		g.MeanCI[k] = [2]float64{g.Mean[k], g.Mean[k]}
		if n > 1 {
			g.SD[k] = math.Sqrt(sq[k] / (n - 1))
			h := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(1-alpha/2) * g.SD[k] / math.Sqrt(n)
			g.MeanCI[k] = [2]float64{g.Mean[k] - h, g.Mean[k] + h}
		}
	}
	return g, nil
}
