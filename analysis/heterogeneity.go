package analysis

import (
	"fmt"
	"math"
	"sort"
)

// Subgroups is the heterogeneity of an effect over pre-specified
// subgroups.
type Subgroups struct {
	Effects     []SubgroupEffect `json:"effects"`
	Interaction WaldTest         `json:"interaction"` // all treatment × subgroup interactions zero
}

// SubgroupEffect is the effect within one subgroup.
type SubgroupEffect struct {
	Subgroup string `json:"subgroup"`
	N        int    `json:"n"`
	Result
}

// Heterogeneity estimates the effect in each subgroup (y ~ z within the
// subgroup, se-type errors) and tests whether they differ: y ~ z ·
// subgroup with the Wald F on the interactions.
func Heterogeneity(y, z []float64, group []string, se string) (*Subgroups, error) {
	if len(y) != len(z) || len(group) != len(y) {
		return nil, ErrLength
	}
	levels := map[string][]int{}
	for i, g := range group {
		levels[g] = append(levels[g], i)
	}
	if len(levels) < 2 {
		return nil, fmt.Errorf("%w: one subgroup only", ErrTooFew)
	}
	names := make([]string, 0, len(levels))
	for g := range levels {
		names = append(names, g)
	}
	sort.Strings(names)
	out := &Subgroups{}
	for _, g := range names {
		rows := levels[g]
		ys, zs := make([]float64, len(rows)), make([]float64, len(rows))
		for j, i := range rows {
			ys[j], zs[j] = y[i], z[i]
		}
		X, n, err := Matrix(true, Column{Name: "z", Values: zs})
		if err != nil {
			return nil, err
		}
		f, err := OLS(ys, X, n, OLSOptions{SE: se})
		if err != nil {
			return nil, fmt.Errorf("subgroup %s: %w", g, err)
		}
		r, _ := f.Term("z")
		out.Effects = append(out.Effects, SubgroupEffect{Subgroup: g, N: len(rows), Result: r})
	}
	dummies := Dummies("g", group)
	cols := []Column{{Name: "z", Values: z}}
	cols = append(cols, dummies...)
	for _, d := range dummies {
		c := Column{Name: "z:" + d.Name, Values: make([]float64, len(z))}
		for i := range z {
			c.Values[i] = z[i] * d.Values[i]
		}
		cols = append(cols, c)
	}
	X, n, err := Matrix(true, cols...)
	if err != nil {
		return nil, err
	}
	f, err := OLS(y, X, n, OLSOptions{SE: se})
	if err != nil {
		return nil, err
	}
	w, err := wald(f, 2+len(dummies))
	if err != nil {
		return nil, err
	}
	out.Interaction = w
	return out, nil
}

// DoseResponse regresses the outcome on the dose (e.g. contacts with the
// case manager) within the intervention group. It is not experimental: the
// dose was not randomized, and the slope mixes its effect with who takes
// up more.
type DoseResponse struct {
	Result
	N               int  `json:"n"`
	NonExperimental bool `json:"non_experimental"`
}

// Dose estimates y ~ dose among the treated (z = 1) with se-type errors.
func Dose(y, dose, z []float64, se string) (DoseResponse, error) {
	var ys, ds []float64
	if len(y) != len(z) || len(dose) != len(z) {
		return DoseResponse{}, ErrLength
	}
	for i := range y {
		if z[i] == 1 && !math.IsNaN(y[i]) && !math.IsNaN(dose[i]) {
			ys = append(ys, y[i])
			ds = append(ds, dose[i])
		}
	}
	X, n, err := Matrix(true, Column{Name: "dose", Values: ds})
	if err != nil {
		return DoseResponse{}, err
	}
	f, err := OLS(ys, X, n, OLSOptions{SE: se})
	if err != nil {
		return DoseResponse{}, err
	}
	r, _ := f.Term("dose")
	return DoseResponse{Result: r, N: len(ys), NonExperimental: true}, nil
}
