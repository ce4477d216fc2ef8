package ident

import (
	"encoding/csv"
	"os"
	"strconv"
	"testing"
)

// TestParseNumberReference checks every case of
// testdata/reference/rrn.csv (make_rrn.R) (validity, century, kind).
func TestParseNumberReference(t *testing.T) {
	f, err := os.Open("../testdata/reference/rrn.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 {
		t.Fatal("no cases in rrn.csv")
	}
	for _, r := range recs[1:] {
		number, valid, century, kind, note := r[0], r[1] == "true", r[2], r[3], r[4]
		n, err := ParseNumber(number)
		if (err == nil) != valid {
			t.Errorf("ParseNumber(%q) error = %v, want valid=%v (%s)", number, err, valid, note)
			continue
		}
		if !valid {
			continue
		}
		if got := n.Kind.String(); got != kind {
			t.Errorf("ParseNumber(%q).Kind = %s, want %s (%s)", number, got, kind, note)
		}
		if got := n.Century; century != "" && strconv.Itoa(got) != century {
			t.Errorf("ParseNumber(%q).Century = %d, want %s (%s)", number, got, century, note)
		}
	}
}

func TestBirthDate(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"85073003328", "1985-07-30"},
		{"17073003384", "2017-07-30"},
		{"98472899765", "1998-07-28"}, // BIS, month + 40
	} {
		n, err := ParseNumber(c.in)
		if err != nil {
			t.Fatal(err)
		}
		d, ok := n.BirthDate()
		if !ok || d.Format("2006-01-02") != c.want {
			t.Errorf("%s: BirthDate = %v %v, want %s", c.in, d, ok, c.want)
		}
	}
}

func TestPseudonymKeyed(t *testing.T) {
	n, _ := ParseNumber("85.07.30-033.28")
	m, _ := ParseNumber("85073003328")
	k1 := make([]byte, KeySize)
	k2 := make([]byte, KeySize)
	k2[0] = 1
	if Pseudonym(k1, n) != Pseudonym(k1, m) {
		t.Error("separators change the pseudonym")
	}
	if Pseudonym(k1, n) == Pseudonym(k2, n) {
		t.Error("the key does not change the pseudonym")
	}
	if n.Formatted() != "85.07.30-033.28" {
		t.Errorf("Formatted = %s", n.Formatted())
	}
}

func TestNormalizeName(t *testing.T) {
	for _, c := range [][2]string{
		{"Van den Broucke", "vandenbroucke"},
		{"Vandenbroucke", "vandenbroucke"},
		{"Hélène", "helene"},
		{"Jean-Marie ", "jeanmarie"},
		{"D'Hondt", "dhondt"},
	} {
		if got := NormalizeName(c[0]); got != c[1] {
			t.Errorf("NormalizeName(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"85073003328", "85.07.30-033.28", "01490700185", "", "1234567890", "8507300332A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNumber(s)
		if err != nil {
			return
		}
		// A valid number re-parses to itself from both of its written forms.
		for _, w := range []string{n.String(), n.Formatted()} {
			m, err := ParseNumber(w)
			if err != nil || m != n {
				t.Fatalf("ParseNumber(%q) = %v, %v; re-parse of %q gave %v, %v", s, n, err, w, m, err)
			}
		}
		n.BirthDate()
	})
}
