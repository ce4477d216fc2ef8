package frame

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
// taken from the source it is given, and sets z to 1 for units given a
// group in treated.
func DesignDraw(d randomize.Design, profiles [][]int, treated []bool) (analysis.Draw, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if len(treated) != len(d.Ratio) {
		return nil, fmt.Errorf("frame: %d groups in the design, %d treatment flags", len(d.Ratio), len(treated))
	}
	return func(src *rand.Rand, z []float64) error {
		if len(z) != len(profiles) {
			return analysis.ErrLength
		}
		var seed [32]byte
		for i := 0; i < 4; i++ {
			binary.LittleEndian.PutUint64(seed[8*i:], src.Uint64())
		}
		s, err := randomize.New(d, seed)
		if err != nil {
			return err
		}
		for i, p := range profiles {
			a, err := s.Next(p)
			if err != nil {
				return err
			}
			z[i] = 0
			if treated[a.Group] {
				z[i] = 1
			}
		}
		return nil
	}, nil
}
