package linkage

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
)

// TestStringComparatorsReference: every pair of
// testdata/reference/string_similarity.csv (make_strings.R), from R's stringdist 0.9.10
// (jaro; jw with p = 0.1; lv; osa), the similarities rounded there to six
// decimals (tolerance 5e-7), the distances exact.
func TestStringComparatorsReference(t *testing.T) {
	f, err := os.Open("../testdata/reference/string_similarity.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 20 {
		t.Fatalf("%d rows", len(recs))
	}
	for _, r := range recs[1:] {
		a, b := r[0], r[1]
		jaro, _ := strconv.ParseFloat(r[2], 64)
		jw, _ := strconv.ParseFloat(r[3], 64)
		lv, _ := strconv.Atoi(r[4])
		osa, _ := strconv.Atoi(r[5])
		if got := Jaro(a, b); math.Abs(got-jaro) > 5e-7 {
			t.Errorf("Jaro(%q, %q) = %.6f, stringdist %.6f", a, b, got, jaro)
		}
		if got := JaroWinkler(a, b); math.Abs(got-jw) > 5e-7 {
			t.Errorf("JaroWinkler(%q, %q) = %.6f, stringdist %.6f", a, b, got, jw)
		}
		if got := Levenshtein(a, b); got != lv {
			t.Errorf("Levenshtein(%q, %q) = %d, stringdist %d", a, b, got, lv)
		}
		if got := OSA(a, b); got != osa {
			t.Errorf("OSA(%q, %q) = %d, stringdist %d", a, b, got, osa)
		}
	}
}

func FuzzComparators(f *testing.F) {
	f.Add("MARTHA", "MARHTA")
	f.Add("", "x")
	f.Add("Hélène", "Helene")
	f.Fuzz(func(t *testing.T, a, b string) {
		j, jw := Jaro(a, b), JaroWinkler(a, b)
		if j < 0 || j > 1 || jw < j-1e-12 || jw > 1+1e-12 {
			t.Fatalf("Jaro %v, JW %v", j, jw)
		}
		if math.Abs(Jaro(b, a)-j) > 1e-12 {
			t.Fatalf("Jaro not symmetric")
		}
		lv, osa := Levenshtein(a, b), OSA(a, b)
		if osa > lv || lv != Levenshtein(b, a) || (string([]rune(a)) == string([]rune(b))) != (lv == 0) {
			t.Fatalf("lv %d osa %d", lv, osa)
		}
	})
}
