package linkage

import (
	"cmp"
	"container/heap"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/rct-trials/rct/internal/progress"
)

// Pairs are the candidate pairs of a blocking: every (register, trial)
// pair that shares a non-empty key under some rule, each once, with its
// comparison pattern.
//
// They are not kept as a list. With common surnames the default rules give
// tens of millions of pairs (47 million for a 100,000-family trial against
// an extract of 150,000 persons without a number): a slice of index pairs
// and a map to drop the pairs an earlier rule found took 6 GB. The pairs
// are walked in chunks of register persons instead, on every core, and
// walked again in the same order when they are scored: only each pair's
// pattern is kept (4 bytes), and a pair is a rule's first find when no
// earlier rule gives both persons the same key.
type Pairs struct {
	reg, trial       []Person
	rules            []Rule
	regKey, trialKey [][]int32   // [rule][person]: the key's number, 0 when the rule makes no key
	byKey            [][][]int32 // [rule][key's number] → its trial persons, in order
	chunks           []pairChunk
	progress         progress.Func
	numbered         [2]numberedPersons    // register, trial
	names            [NFields][]string     // the names of numbered fields, by number
	n                int                   // distinct pairs
	ruleN            []int                 // each rule's pairs, shared ones included
	ruleCount        []map[Pattern]float64 // each rule's pairs' patterns, the rule's fields left out
}

// numberedPersons holds persons' names and postcodes as numbers (0: none)
// shared by the register and the trial, and their birth dates, side by
// side: pairs are compared without reading strings or whole persons.
type numberedPersons struct {
	field [NFields][]int32 // FieldLast, FieldFirst, FieldPostcode
	birth []Date
}

// number numbers the names and postcodes of the register and the trial.
func (ps *Pairs) number() {
	for f := range NFields {
		if f == FieldBirth {
			continue
		}
		var names numbering
		for side, people := range [2][]Person{ps.reg, ps.trial} {
			ids := make([]int32, len(people))
			for i := range people {
				ids[i] = names.of([NFields]string{FieldLast: people[i].Last, FieldFirst: people[i].First, FieldPostcode: people[i].Postcode}[f])
			}
			ps.numbered[side].field[f] = ids
		}
		ps.names[f] = names.names
	}
	for side, people := range [2][]Person{ps.reg, ps.trial} {
		ps.numbered[side].birth = make([]Date, len(people))
		for i := range people {
			ps.numbered[side].birth[i] = people[i].Birth
		}
	}
}

// numbering gives strings numbers 1, 2, ... in the order first seen; ""
// is 0. names[n] is the string numbered n.
type numbering struct {
	number map[string]int32
	names  []string
}

func (nb *numbering) of(s string) int32 {
	if nb.number == nil {
		nb.number, nb.names = map[string]int32{}, []string{""}
	}
	if s == "" {
		return 0
	}
	n, ok := nb.number[s]
	if !ok {
		n = int32(len(nb.names))
		nb.number[s] = n
		nb.names = append(nb.names, s)
	}
	return n
}

// levels remembers, for one worker, the levels of the name pairs it has
// compared: with common names the same two names meet again and again.
type levels struct {
	seen [NFields]map[uint64]int8
}

// levelsKept bounds each field's remembered pairs (about 40 MB a worker).
const levelsKept = 1 << 20

func newLevels() *levels {
	return &levels{seen: [NFields]map[uint64]int8{FieldLast: {}, FieldFirst: {}}}
}

// compare is Compare(&reg[i], &trial[j]).
func (ps *Pairs) compare(lv *levels, i, j int) Pattern {
	r, t := &ps.numbered[0], &ps.numbered[1]
	var p Pattern
	for _, f := range [...]int{FieldLast, FieldFirst} {
		a, b := r.field[f][i], t.field[f][j]
		switch {
		case a == 0 || b == 0:
			p[f] = -1
		case a == b:
			p[f] = 0
		default:
			k := uint64(a)<<32 | uint64(b)
			l, ok := lv.seen[f][k]
			if !ok {
				l = nameLevel(ps.names[f][a], ps.names[f][b])
				if len(lv.seen[f]) < levelsKept {
					lv.seen[f][k] = l
				}
			}
			p[f] = l
		}
	}
	p[FieldBirth] = dateLevel(r.birth[i], t.birth[j])
	p[FieldPostcode] = -1
	if a, b := r.field[FieldPostcode][i], t.field[FieldPostcode][j]; a != 0 && b != 0 {
		p[FieldPostcode] = 1
		if a == b {
			p[FieldPostcode] = 0
		}
	}
	return p
}

// pairChunk is the pairs of the register persons lo..hi-1.
type pairChunk struct {
	lo, hi   int
	patterns []Pattern // in walking order
	counts   []map[Pattern]float64
}

// pairChunkSize is the register persons of a chunk: small enough that the
// cores share the work evenly, large enough that a chunk's overhead is
// nothing.
const pairChunkSize = 2048

// Len is the number of distinct pairs.
func (ps *Pairs) Len() int { return ps.n }

// Candidates finds the distinct (register, trial) pairs that share a key
// under some rule, compares each, and counts the blocks. prog, when set,
// is told of each chunk of register persons compared, and later scored.
func Candidates(reg, trial []Person, rules []Rule, prog progress.Func) (*Pairs, BlockReport) {
	ps := &Pairs{reg: reg, trial: trial, rules: rules, ruleN: make([]int, len(rules)), ruleCount: make([]map[Pattern]float64, len(rules)), progress: prog}
	var rep BlockReport
	for r, rule := range rules {
		// Keys are numbered so that pairs compare numbers.
		var keys numbering
		keyed := func(people []Person) []int32 {
			out := make([]int32, len(people))
			for i := range people {
				out[i] = keys.of(rule.Key(&people[i]))
			}
			return out
		}
		tk, rk := keyed(trial), keyed(reg)
		names := keys.names
		idx := make([][]int32, len(names))
		for j, k := range tk {
			if k != 0 {
				idx[k] = append(idx[k], int32(j))
			}
		}
		ps.regKey, ps.trialKey, ps.byKey = append(ps.regKey, rk), append(ps.trialKey, tk), append(ps.byKey, idx)
		// A block's pairs are its register persons times its trial persons.
		inBlock := make([]int, len(names))
		for _, k := range rk {
			inBlock[k]++
		}
		n := 0
		for k, nr := range inBlock {
			if s := nr * len(idx[k]); k != 0 && s > 0 {
				n += s
				rep.Largest = append(rep.Largest, Block{rule.Name, names[k], s})
			}
		}
		ps.ruleN[r] = n
		rep.Rules = append(rep.Rules, RuleCount{rule.Name, n})
		ps.ruleCount[r] = map[Pattern]float64{}
	}
	order := map[string]int{}
	for r, rule := range rules {
		order[rule.Name] = r
	}
	sort.Slice(rep.Largest, func(a, b int) bool {
		x, y := rep.Largest[a], rep.Largest[b]
		if x.Pairs != y.Pairs {
			return x.Pairs > y.Pairs
		}
		if x.Key != y.Key {
			return x.Key < y.Key
		}
		return order[x.Rule] < order[y.Rule]
	})
	if len(rep.Largest) > 10 {
		rep.Largest = rep.Largest[:10]
	}
	for lo := 0; lo < len(reg); lo += pairChunkSize {
		ps.chunks = append(ps.chunks, pairChunk{lo: lo, hi: min(lo+pairChunkSize, len(reg))})
	}
	ps.number()
	workers := make([]*levels, ps.workers())
	for w := range workers {
		workers[w] = newLevels()
	}
	ps.each("linkage, candidate pairs compared (chunks of 2,048 register persons)", func(w int, c *pairChunk) {
		c.counts = make([]map[Pattern]float64, len(rules))
		for r := range rules {
			c.counts[r] = map[Pattern]float64{}
		}
		ps.walk(c, func(r, i, j int) {
			p := ps.compare(workers[w], i, j)
			c.patterns = append(c.patterns, p)
			for s := r; s < len(rules); s++ {
				if s == r || ps.shares(s, i, j) {
					c.counts[s][leaveOut(p, rules[s].Uses)]++
				}
			}
		})
	})
	for k := range ps.chunks {
		c := &ps.chunks[k]
		ps.n += len(c.patterns)
		for r, m := range c.counts {
			for p, n := range m {
				ps.ruleCount[r][p] += n // whole numbers: any order gives the same sum
			}
		}
		c.counts = nil
	}
	rep.Pairs = ps.n
	return ps, rep
}

// leaveOut is the pattern without the fields a rule's key is made of.
func leaveOut(p Pattern, fields []int) Pattern {
	for _, f := range fields {
		p[f] = -1
	}
	return p
}

// shares reports whether register person i and trial person j have the
// same key under rule r.
func (ps *Pairs) shares(r, i, j int) bool {
	k := ps.regKey[r][i]
	return k != 0 && k == ps.trialKey[r][j]
}

// walk calls fn for each distinct pair of the chunk's register persons:
// rule by rule, register person by register person, trial persons in
// order; a pair an earlier rule found is skipped.
func (ps *Pairs) walk(c *pairChunk, fn func(r, i, j int)) {
	for r := range ps.rules {
		for i := c.lo; i < c.hi; i++ {
			k := ps.regKey[r][i]
			if k == 0 {
				continue
			}
		next:
			for _, j := range ps.byKey[r][k] {
				for s := 0; s < r; s++ {
					if ps.shares(s, i, int(j)) {
						continue next
					}
				}
				fn(r, i, int(j))
			}
		}
	}
}

// each runs fn on every chunk, on every core, as a step of the progress.
// A chunk is written by one worker only, and chunks are read back in
// order: the result does not depend on the number of cores.
func (ps *Pairs) each(step string, fn func(worker int, c *pairChunk)) {
	tick, done := ps.progress.Start(step, len(ps.chunks))
	defer done()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range ps.workers() {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(ps.chunks) {
					return
				}
				fn(w, &ps.chunks[k])
				tick()
			}
		})
	}
	wg.Wait()
}

func (ps *Pairs) workers() int { return max(1, min(runtime.GOMAXPROCS(0), len(ps.chunks))) }

// scoredPair is a candidate pair with its match weight and probability.
type scoredPair struct {
	i, j int32
	w, p float64
}

// heavier orders pairs by weight, the heaviest first, then by register
// and trial person: a total order, so any sort gives one sequence.
func heavier(a, b scoredPair) int {
	if c := cmp.Compare(b.w, a.w); c != 0 {
		return c
	}
	if c := cmp.Compare(a.i, b.i); c != 0 {
		return c
	}
	return cmp.Compare(a.j, b.j)
}

// scores are the pairs weighed under a model.
type scores struct {
	bestW, bestP []float64 // each register person's best pair (-Inf and 0 without one)
	ambiguous    []bool    // its two best pairs are not below lower and within one bit
	// kept are each chunk's pairs not below lower (the only ones that can
	// be linked or reviewed), heaviest first.
	kept [][]scoredPair
}

// score weighs every pair under the model, on every core. A register
// person's two best weights are kept as the pairs go by; its pairs that
// are not below lower are sorted within their chunk, so that a merge of
// the chunks gives them all in order of weight (at 100,000 families, 12
// million of 24 million pairs: one slice of them, and its copy, took
// 0.8 GB, and its sort a core for seconds).
func (ps *Pairs) score(m *Model, lower float64) scores {
	sc := scores{bestW: make([]float64, len(ps.reg)), bestP: make([]float64, len(ps.reg)), ambiguous: make([]bool, len(ps.reg)),
		kept: make([][]scoredPair, len(ps.chunks))}
	second := make([]float64, len(ps.reg))
	for i := range sc.bestW {
		sc.bestW[i], second[i] = math.Inf(-1), math.Inf(-1)
	}
	ps.each("linkage, candidate pairs scored (chunks of 2,048 register persons)", func(_ int, c *pairChunk) {
		k := 0
		var kept []scoredPair
		ps.walk(c, func(_, i, j int) {
			w := m.Weight(c.patterns[k], ps.reg[i].Last)
			k++
			p := m.Probability(w)
			switch {
			case w > sc.bestW[i]:
				second[i] = sc.bestW[i]
				sc.bestW[i], sc.bestP[i] = w, p
			case w > second[i]:
				second[i] = w
			}
			if !(p < lower) {
				kept = append(kept, scoredPair{int32(i), int32(j), w, p})
			}
		})
		slices.SortFunc(kept, heavier)
		sc.kept[c.lo/pairChunkSize] = kept
		for i := c.lo; i < c.hi; i++ {
			sc.ambiguous[i] = m.Probability(second[i]) >= lower && sc.bestW[i]-second[i] < 1
		}
	})
	return sc
}

// inOrder calls fn with the kept pairs of every chunk, heaviest first: a
// merge of the chunks' sorted pairs.
func (sc *scores) inOrder(fn func(s scoredPair)) {
	var h pairHeap
	for _, kept := range sc.kept {
		if len(kept) > 0 {
			h.at = append(h.at, pairHead{kept})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		top := &h.at[0]
		fn(top.rest[0])
		if top.rest = top.rest[1:]; len(top.rest) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
}

// pairHead is what is left of a chunk's sorted pairs.
type pairHead struct {
	rest []scoredPair
}

type pairHeap struct{ at []pairHead }

func (h *pairHeap) Len() int           { return len(h.at) }
func (h *pairHeap) Less(a, b int) bool { return heavier(h.at[a].rest[0], h.at[b].rest[0]) < 0 }
func (h *pairHeap) Swap(a, b int)      { h.at[a], h.at[b] = h.at[b], h.at[a] }
func (h *pairHeap) Push(x any)         { h.at = append(h.at, x.(pairHead)) }
func (h *pairHeap) Pop() any {
	x := h.at[len(h.at)-1]
	h.at = h.at[:len(h.at)-1]
	return x
}
