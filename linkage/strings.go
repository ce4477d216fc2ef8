package linkage

// String comparators for probabilistic linkage, on Unicode code points, as
// R's stringdist computes them (the tests compare with
// testdata/reference/string_similarity.csv).

// Jaro is the Jaro similarity: with m matching characters (equal and no
// further apart than max(|a|, |b|)/2 − 1) and t half the transpositions,
// (m/|a| + m/|b| + (m − t)/m)/3; 0 when m = 0, 1 for two empty strings.
func Jaro(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	la, lb := len(ra), len(rb)
	if la == 0 && lb == 0 {
		return 1
	}
	if la == 0 || lb == 0 {
		return 0
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	ma := make([]bool, la)
	mb := make([]bool, lb)
	m := 0
	for i := 0; i < la; i++ {
		lo, hi := max(0, i-window), min(lb-1, i+window)
		for j := lo; j <= hi; j++ {
			if !mb[j] && ra[i] == rb[j] {
				ma[i], mb[j] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}
	t, j := 0, 0
	for i := 0; i < la; i++ {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if ra[i] != rb[j] {
			t++
		}
		j++
	}
	fm := float64(m)
	return (fm/float64(la) + fm/float64(lb) + (fm-float64(t)/2)/fm) / 3
}

// JaroWinkler is Jaro plus a bonus for a common prefix of length l (at most
// 4): jaro + l·p·(1 − jaro), p = 0.1, applied whatever the Jaro similarity
// (stringdist's method "jw" with p = 0.1, bt = 0).
func JaroWinkler(a, b string) float64 {
	j := Jaro(a, b)
	ra, rb := []rune(a), []rune(b)
	l := 0
	for l < 4 && l < len(ra) && l < len(rb) && ra[l] == rb[l] {
		l++
	}
	return j + float64(l)*0.1*(1-j)
}

// Levenshtein is the least number of insertions, deletions and
// substitutions that turn a into b.
func Levenshtein(a, b string) int { return editDistance(a, b, false) }

// OSA is the optimal string alignment distance: Levenshtein plus
// transpositions of adjacent characters, no substring edited twice.
func OSA(a, b string) int { return editDistance(a, b, true) }

func editDistance(a, b string, transpose bool) int {
	ra, rb := []rune(a), []rune(b)
	la, lb := len(ra), len(rb)
	prev2 := make([]int, lb+1)
	prev := make([]int, lb+1)
	cur := make([]int, lb+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		for j := 1; j <= lb; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if transpose && i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[lb]
}
