package randomize

import "fmt"

// Replayer re-runs a design over fixed units in their arrival order, as
// randomization inference does thousands of times. The groups are those a
// Sequencer seeded alike gives the same profiles (TestReplayerSameAsSequencer).
// For block designs each stratum's stream runs over its own units at once,
// without the per-unit bookkeeping of a Sequencer.
type Replayer struct {
	d        Design
	profiles [][]int
	blocks   blockMaker
	// block designs: each stream's label and its units, in order.
	labels  []string
	members [][]int32
}

// NewReplayer checks the units' profiles and returns a Replayer for them.
func NewReplayer(d Design, profiles [][]int) (*Replayer, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	r := &Replayer{d: d, profiles: profiles, blocks: newBlockMaker(d)}
	index := map[string]int{}
	for i, p := range profiles {
		if err := d.CheckProfile(p); err != nil {
			return nil, fmt.Errorf("unit %d: %w", i+1, err)
		}
		var label string
		switch d.Method {
		case Blocks:
			label = Blocks
		case StratifiedBlocks:
			label = stratumStream(StratumKey(p))
		default:
			continue
		}
		k, ok := index[label]
		if !ok {
			k = len(r.labels)
			index[label] = k
			r.labels = append(r.labels, label)
			r.members = append(r.members, nil)
		}
		r.members[k] = append(r.members[k], int32(i))
	}
	return r, nil
}

// Assign re-runs the design with seed and sets z[i] to values[g], g the
// group of unit i.
func (r *Replayer) Assign(seed [32]byte, values, z []float64) error {
	if len(z) != len(r.profiles) {
		return fmt.Errorf("randomize: %d units, %d places to assign", len(r.profiles), len(z))
	}
	if r.d.Method != Blocks && r.d.Method != StratifiedBlocks {
		s, err := New(r.d, seed)
		if err != nil {
			return err
		}
		s.replay = true
		for i, p := range r.profiles {
			a, err := s.next(p, "") // not a block design: no stratum key
			if err != nil {
				return err
			}
			z[i] = values[a.Group]
		}
		return nil
	}
	// The blocks as the values they write: shuffled, the same permutation
	// as the groups'.
	blocks := make([][]float64, len(r.blocks))
	for k, b := range r.blocks {
		blocks[k] = make([]float64, len(b))
		for j, g := range b {
			blocks[k][j] = values[g]
		}
	}
	var block []float64
	for k, units := range r.members {
		src := NewSource(seed, r.labels[k])
		for len(units) > 0 {
			block = drawBlock(src, blocks, block)
			n := min(len(block), len(units))
			for j, u := range units[:n] {
				z[u] = block[j]
			}
			units = units[n:]
		}
	}
	return nil
}
