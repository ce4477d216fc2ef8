package plan

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/randomize"
)

// DesignDraw returns the trial's own design as an analysis.Draw: each call
// re-runs the allocation algorithm (same method, ratio, strata, blocks or
// minimization) on the units' profiles in their recorded order, with a seed
// taken from the source it is given, and sets z[i] to values[g] for the
// group g unit i is given: {0, 1} for a two-group assignment, the group
// indices for a draw of k groups.
func DesignDraw(d randomize.Design, profiles [][]int, values []float64) (analysis.Draw, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if len(values) != len(d.Ratio) {
		return nil, fmt.Errorf("plan: %d groups in the design, %d values", len(d.Ratio), len(values))
	}
	// The units are fixed: their profiles are checked and their strata
	// found once, not on each of the thousands of draws.
	r, err := randomize.NewReplayer(d, profiles)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return func(src *rand.Rand, z []float64) error {
		if len(z) != len(profiles) {
			return analysis.ErrLength
		}
		var seed [32]byte
		for i := 0; i < 4; i++ {
			binary.LittleEndian.PutUint64(seed[8*i:], src.Uint64())
		}
		return r.Assign(seed, values, z)
	}, nil
}

// PlannedDraw is DesignDraw for a trial not yet run: n units whose factor
// levels are drawn uniformly (from a stream fixed by seed), in two groups
// of which the second is treated. For simulating power before launch.
func PlannedDraw(d randomize.Design, n int, seed uint64) (analysis.Draw, error) {
	if len(d.Ratio) != 2 {
		return nil, fmt.Errorf("plan: a planned two-arm draw needs two groups, the design has %d", len(d.Ratio))
	}
	src := rand.New(rand.NewPCG(0x7063_6f77_6572, seed))
	profiles := make([][]int, n)
	for i := range profiles {
		profiles[i] = make([]int, len(d.Levels))
		for j, l := range d.Levels {
			profiles[i][j] = src.IntN(l)
		}
	}
	return DesignDraw(d, profiles, []float64{0, 1})
}
