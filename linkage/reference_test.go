package linkage

import (
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"testing"
)

// The linkage as it was before the candidate pairs were generated in
// chunks (session 5 of issue 18): every pair in a slice, deduplicated
// through a map, scored and sorted whole. The tests hold the new code to
// the same model, block report and decisions.

func refEstimate(reg, trial []Person, rules []Rule, uSamples, iterations int, src *rand.Rand) (Model, [][2]int, BlockReport) {
	u := EstimateU(reg, trial, uSamples, src)
	pairs, rep := refCandidates(reg, trial, rules)
	m := Model{U: u}
	var sum [NFields][]float64
	var nrules [NFields]int
	for f := 0; f < NFields; f++ {
		sum[f] = make([]float64, Levels[f])
	}
	matches := 0.0
	for _, r := range rules {
		rp, _ := refCandidates(reg, trial, []Rule{r})
		if len(rp) == 0 {
			continue
		}
		patterns := make([]Pattern, len(rp))
		for k, p := range rp {
			patterns[k] = Compare(&reg[p[0]], &trial[p[1]])
			for _, f := range r.Uses {
				patterns[k][f] = -1
			}
		}
		fit := EM(patterns, u, iterations)
		matches = math.Max(matches, fit.Lambda*float64(len(rp)))
		for f := 0; f < NFields; f++ {
			if slices.Contains(r.Uses, f) {
				continue
			}
			for l := range sum[f] {
				sum[f][l] += fit.M[f][l]
			}
			nrules[f]++
		}
	}
	for f := 0; f < NFields; f++ {
		m.M[f] = make([]float64, Levels[f])
		if nrules[f] == 0 {
			// No rule leaves the field free: assume matches agree.
			m.M[f][0] = 0.95
			for l := 1; l < Levels[f]; l++ {
				m.M[f][l] = 0.05 / float64(Levels[f]-1)
			}
			continue
		}
		for l := range m.M[f] {
			m.M[f][l] = sum[f][l] / float64(nrules[f])
		}
		normalise(m.M[f])
	}
	m.Lambda = floor
	if len(pairs) > 0 {
		m.Lambda = math.Min(math.Max(matches/float64(len(pairs)), floor), 1-floor)
	}
	return m, pairs, rep
}

func refCandidates(reg, trial []Person, rules []Rule) ([][2]int, BlockReport) {
	var rep BlockReport
	seen := map[[2]int]bool{}
	var pairs [][2]int
	for _, r := range rules {
		idx := map[string][]int{}
		for j := range trial {
			if k := r.Key(&trial[j]); k != "" {
				idx[k] = append(idx[k], j)
			}
		}
		sizes := map[string]int{}
		n := 0
		for i := range reg {
			k := r.Key(&reg[i])
			if k == "" {
				continue
			}
			for _, j := range idx[k] {
				n++
				sizes[k]++
				p := [2]int{i, j}
				if !seen[p] {
					seen[p] = true
					pairs = append(pairs, p)
				}
			}
		}
		rep.Rules = append(rep.Rules, RuleCount{r.Name, n})
		for k, s := range sizes {
			rep.Largest = append(rep.Largest, Block{r.Name, k, s})
		}
	}
	sort.Slice(rep.Largest, func(a, b int) bool {
		if rep.Largest[a].Pairs != rep.Largest[b].Pairs {
			return rep.Largest[a].Pairs > rep.Largest[b].Pairs
		}
		return rep.Largest[a].Key < rep.Largest[b].Key
	})
	if len(rep.Largest) > 10 {
		rep.Largest = rep.Largest[:10]
	}
	rep.Pairs = len(pairs)
	return pairs, rep
}

func refAssign(reg, trial []Person, pairs [][2]int, m *Model, upper, lower float64) []Decision {
	type scored struct {
		i, j int
		w, p float64
	}
	all := make([]scored, 0, len(pairs))
	best := map[int][]scored{}
	for _, pr := range pairs {
		w := m.Weight(Compare(&reg[pr[0]], &trial[pr[1]]), reg[pr[0]].Last)
		s := scored{pr[0], pr[1], w, m.Probability(w)}
		all = append(all, s)
		best[pr[0]] = append(best[pr[0]], s)
	}
	ambiguous := map[int]bool{}
	for i, c := range best {
		sort.Slice(c, func(a, b int) bool { return c[a].w > c[b].w })
		if len(c) > 1 && c[1].p >= lower && c[0].w-c[1].w < 1 {
			ambiguous[i] = true
		}
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].w != all[b].w {
			return all[a].w > all[b].w
		}
		if all[a].i != all[b].i {
			return all[a].i < all[b].i
		}
		return all[a].j < all[b].j
	})
	out := make([]Decision, len(reg))
	for i := range out {
		out[i] = Decision{Register: i, Trial: -1, Class: ClassNone, Weight: math.Inf(-1)}
	}
	usedR, usedT := map[int]bool{}, map[int]bool{}
	for _, s := range all {
		if usedR[s.i] || usedT[s.j] || s.p < lower {
			continue
		}
		usedR[s.i] = true
		if ambiguous[s.i] {
			out[s.i] = Decision{Register: s.i, Trial: s.j, Weight: s.w, Probability: s.p, Class: ClassAmbiguous}
			continue
		}
		usedT[s.j] = true
		class := ClassReview
		if s.p >= upper {
			class = ClassLink
		}
		out[s.i] = Decision{Register: s.i, Trial: s.j, Weight: s.w, Probability: s.p, Class: class}
	}
	for i := range out {
		if out[i].Class == ClassNone && len(best[i]) > 0 {
			out[i].Weight, out[i].Probability = best[i][0].w, best[i][0].p
		}
	}
	return out
}

// TestPairsSameAsReference: the chunked candidate pairs give the model,
// the block report and every decision the pairs-in-a-slice code gave, on
// any number of cores, with term frequencies and with thresholds that
// make many register persons ambiguous.
func TestPairsSameAsReference(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range []struct {
		nTrial, nMatch, nOther int
		seed                   uint64
		upper, lower           float64
	}{
		{2000, 1200, 15000, 1, 0.99, 0.5},
		{300, 200, 6000, 2, 0.9, 0.05}, // few trial persons, large blocks, low thresholds
		{3000, 2500, 2000, 3, 0.999, 0.2},
		{50, 10, 10, 4, 0.99, 0.5}, // one chunk
	} {
		trial, reg, _ := synth(c.nTrial, c.nMatch, c.nOther, c.seed)
		// Persons no rule gives a key: no birth year, no first name.
		reg = append(reg, Person{Last: "x"}, Person{})
		want, wantPairs, wantRep := refEstimate(reg, trial, DefaultRules, 50_000, 100, rand.New(rand.NewPCG(c.seed, 9)))
		want.TF = surnameFrequencies(trial)
		wantD := refAssign(reg, trial, wantPairs, &want, c.upper, c.lower)
		ambiguous := 0
		for _, d := range wantD {
			if d.Class == ClassAmbiguous {
				ambiguous++
			}
		}
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			got, pairs, rep := Estimate(reg, trial, DefaultRules, 50_000, 100, rand.New(rand.NewPCG(c.seed, 9)), nil)
			got.TF = want.TF
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v, %d cores: model\n%+v\nwant\n%+v", c, procs, got, want)
			}
			if pairs.Len() != len(wantPairs) || !reflect.DeepEqual(rep.Rules, wantRep.Rules) || rep.Pairs != wantRep.Pairs {
				t.Fatalf("%+v, %d cores: %d pairs, %+v; want %d, %+v", c, procs, pairs.Len(), rep, len(wantPairs), wantRep)
			}
			if len(rep.Largest) != len(wantRep.Largest) {
				t.Fatalf("largest blocks %+v, want %+v", rep.Largest, wantRep.Largest)
			}
			for k := range rep.Largest {
				if g, w := rep.Largest[k], wantRep.Largest[k]; g.Pairs != w.Pairs || g.Key != w.Key {
					t.Fatalf("largest blocks %+v, want %+v", rep.Largest, wantRep.Largest)
				}
			}
			d := Assign(pairs, &got, c.upper, c.lower)
			if !reflect.DeepEqual(d, wantD) {
				for i := range d {
					if d[i] != wantD[i] {
						t.Fatalf("%+v, %d cores: register person %d: %+v, want %+v", c, procs, i, d[i], wantD[i])
					}
				}
			}
		}
		t.Logf("%+v: %d pairs, %d ambiguous", c, len(wantPairs), ambiguous)
	}
}

// TestCompareNumbered: comparing numbered persons, with the levels of name
// pairs remembered, gives Compare's pattern, missing parts included.
func TestCompareNumbered(t *testing.T) {
	trial, reg, _ := synth(500, 300, 2000, 5)
	reg = append(reg, Person{Last: "x"}, Person{}, Person{First: "sarah", Birth: Date{1990, 0, 0}})
	trial = append(trial, Person{Postcode: "8500"}, Person{Last: "peeters"})
	ps, _ := Candidates(reg, trial, DefaultRules, nil)
	src := rand.New(rand.NewPCG(5, 5))
	lv := newLevels()
	for range 200_000 {
		i, j := src.IntN(len(reg)), src.IntN(len(trial))
		if src.IntN(10) == 0 {
			i, j = len(reg)-1-src.IntN(3), len(trial)-1-src.IntN(2)
		}
		if got, want := ps.compare(lv, i, j), Compare(&reg[i], &trial[j]); got != want {
			t.Fatalf("%+v and %+v: %v, want %v", reg[i], trial[j], got, want)
		}
	}
}
