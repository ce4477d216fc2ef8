package randomize

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Methods.
const (
	Simple           = "simple"
	Complete         = "complete"
	Blocks           = "blocks"
	StratifiedBlocks = "stratified_blocks"
	Minimization     = "minimization"
	BigStick         = "big_stick"
)

// Methods lists every method, in the order diagnostics show them.
var Methods = []string{Simple, Complete, Blocks, StratifiedBlocks, Minimization, BigStick}

// Design is an allocation scheme over groups 0..len(Ratio)-1.
type Design struct {
	Method       string
	Ratio        []int     // allocation ratio, one positive integer per group
	BlockSizes   []int     // blocks, stratified_blocks: sizes drawn uniformly, each a multiple of sum(Ratio)
	SampleSize   int       // complete: the planned number of units
	Levels       []int     // number of levels of each factor (stratification variable)
	Weights      []float64 // minimization: weight of each factor (nil: all 1)
	P            float64   // minimization: probability of a best group
	Imbalance    string    // minimization: "range" or "variance"
	MaxImbalance int       // big_stick: largest tolerated |n0 − n1|
}

// Validate checks the design.
func (d Design) Validate() error {
	if len(d.Ratio) < 2 {
		return errors.New("randomize: at least two groups")
	}
	for _, r := range d.Ratio {
		if r < 1 {
			return errors.New("randomize: ratio parts are positive")
		}
	}
	sum := d.ratioSum()
	switch d.Method {
	case Simple:
	case Complete:
		if d.SampleSize < 1 || d.SampleSize%sum != 0 {
			return fmt.Errorf("randomize: complete needs a sample size that is a multiple of %d", sum)
		}
	case Blocks, StratifiedBlocks:
		if len(d.BlockSizes) == 0 {
			return errors.New("randomize: block sizes needed")
		}
		for _, b := range d.BlockSizes {
			if b < sum || b%sum != 0 {
				return fmt.Errorf("randomize: block size %d is not a multiple of %d", b, sum)
			}
		}
		if d.Method == StratifiedBlocks && len(d.Levels) == 0 {
			return errors.New("randomize: stratified blocks need stratification factors")
		}
	case Minimization:
		if len(d.Levels) == 0 {
			return errors.New("randomize: minimization needs factors")
		}
		if d.P <= 0 || d.P > 1 {
			return errors.New("randomize: minimization needs p in (0, 1]")
		}
		if d.Imbalance != "range" && d.Imbalance != "variance" {
			return errors.New("randomize: imbalance is range or variance")
		}
		if d.Weights != nil && len(d.Weights) != len(d.Levels) {
			return errors.New("randomize: one weight per factor")
		}
	case BigStick:
		if len(d.Ratio) != 2 || d.Ratio[0] != d.Ratio[1] {
			return errors.New("randomize: big stick is for two groups, 1:1")
		}
		if d.MaxImbalance < 1 {
			return errors.New("randomize: big stick needs a maximal imbalance of at least 1")
		}
	default:
		return fmt.Errorf("randomize: unknown method %q", d.Method)
	}
	for _, l := range d.Levels {
		if l < 1 {
			return errors.New("randomize: a factor has at least one level")
		}
	}
	return nil
}

func (d Design) ratioSum() int {
	s := 0
	for _, r := range d.Ratio {
		s += r
	}
	return s
}

// StratumKey names the stratum of a profile: "1,0,2".
func StratumKey(profile []int) string {
	var b strings.Builder
	for i, v := range profile {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(v))
	}
	return b.String()
}

// WithMethod returns d with method m for n units, filling the parameters
// m needs that d lacks: blocks of 1, 2 and 3 times the ratio's sum;
// minimization with p = 0.8 and the range; a big-stick bound of 3; a
// complete design planned for n units. Parameters of another method are
// dropped. For comparing methods before launch.
func (d Design) WithMethod(m string, n int) Design {
	sum := 0
	for _, r := range d.Ratio {
		sum += r
	}
	if d.Method != m {
		d.BlockSizes, d.P, d.Imbalance, d.MaxImbalance, d.SampleSize = nil, 0, "", 0, 0
	}
	d.Method = m
	switch m {
	case Blocks, StratifiedBlocks:
		if len(d.BlockSizes) == 0 {
			d.BlockSizes = []int{sum, 2 * sum, 3 * sum}
		}
	case Minimization:
		if d.P == 0 {
			d.P = 0.8
		}
		if d.Imbalance == "" {
			d.Imbalance = "range"
		}
	case BigStick:
		if d.MaxImbalance == 0 {
			d.MaxImbalance = 3
		}
	case Complete:
		d.SampleSize = n
	}
	return d
}
