package linkage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rct-trials/rct/ident"
	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/trial"
)

func ocmw(t *testing.T) trial.Register {
	t.Helper()
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		t.Fatal(err)
	}
	r, _ := p.Register("ocmw")
	return r
}

const ocmwHeader = "rijksregisternummer;voornaam;naam;geboortedatum;postcode;soort;begindatum;einddatum;bedrag;categorie\n"

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ocmw.csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadExtract(t *testing.T) {
	key := make([]byte, 32)
	path := write(t, ocmwHeader+
		"85.07.30-033.28;Hélène;Van den Broucke;30/07/1985;8500;AFH;2017-04-01;;1.234,56;energie\n"+
		"85073003328;Helene;Vandenbroucke;1985-07-30;8500;LL;01/05/2017;31/10/2017;1200;\n"+
		"85073003329;Sara;Peeters;00/03/1990;8510;ACT;2017-06-01;;;\n"+
		";Amina;El Amrani;1993-05-18;8510;AFH;43000;;250,5;huur\n")
	ticks, dones, total := 0, 0, -1
	ex, err := ReadExtract(path, ocmw(t), ReadOptions{Key: key, Progress: func(step string, n int) (func(), func()) {
		total = n
		return func() { ticks++ }, func() { dones++ }
	}})
	if err != nil {
		t.Fatal(err)
	}
	if ex.RowsRead != 4 || len(ex.Persons) != 3 || ex.BadNumbers != 1 || ex.NoNumber != 1 {
		t.Fatalf("rows %d persons %d bad %d none %d", ex.RowsRead, len(ex.Persons), ex.BadNumbers, ex.NoNumber)
	}
	if ticks != 4 || dones != 1 || total != 0 {
		t.Errorf("progress: %d ticks for 4 rows, done %d times, total %d (a count)", ticks, dones, total)
	}
	n, _ := ident.ParseNumber("85073003328")
	h := ex.Persons[0]
	if h.Pseudonym != ident.Pseudonym(key, n) || len(h.Events) != 2 || h.Events[0].Event != "supplementary_aid" || h.Events[0].Amount != 1234.56 {
		t.Errorf("first person %+v", h)
	}
	if h.Events[1].Event != "leefloon" || h.Events[1].End.Format("2006-01-02") != "2017-10-31" || !math.IsNaN(ex.Persons[1].Events[0].Amount) {
		t.Errorf("events %+v", h.Events)
	}
	if s := ex.Persons[1]; s.Pseudonym != "" || s.Birth != (Date{1990, 3, 0}) {
		t.Errorf("bad-number person %+v", s)
	}
	if a := ex.Persons[2]; a.Events[0].Amount != 250.5 || a.Events[0].Start.Format("2006-01-02") != "2017-09-22" {
		t.Errorf("amina %+v", a.Events[0])
	}
	// No national number is kept anywhere in the result.
	for _, p := range ex.Persons {
		if strings.Contains(p.Pseudonym, "85073003328") {
			t.Error("a national number in clear")
		}
	}
}

// Codes the protocol does not map are counted per code and left out (the
// default), never silently lost; the mapped rows are kept.
func TestReadExtractSkipsUnmapped(t *testing.T) {
	content := ocmwHeader + "85073003328;A;B;30/07/1985;8500;XYZ;2017-04-01;;;\n" +
		"85073003328;A;B;30/07/1985;8500;LL;2017-05-01;;;\n" +
		"85073003328;A;B;30/07/1985;8500;XYZ;2017-06-01;;;\n" +
		"85073003328;A;B;30/07/1985;8500;Q1;2017-06-01;;;\n"
	ex, err := ReadExtract(write(t, content), ocmw(t), ReadOptions{Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if ex.RowsRead != 4 || len(ex.Persons) != 1 || len(ex.Persons[0].Events) != 1 {
		t.Errorf("rows %d persons %d", ex.RowsRead, len(ex.Persons))
	}
	if len(ex.Unmapped) != 2 || ex.Unmapped["XYZ"] != 2 || ex.Unmapped["Q1"] != 1 {
		t.Errorf("unmapped %v", ex.Unmapped)
	}
}

func TestReadExtractBad(t *testing.T) {
	cases := []struct {
		name, content, want, place string
	}{
		{"bad start", ocmwHeader + "85073003328;A;B;30/07/1985;8500;LL;2017-13-01;;;\n", "impossible date", "row 2 column G (begindatum)"},
		{"end before start", ocmwHeader + "85073003328;A;B;30/07/1985;8500;LL;2017-05-01;2017-04-01;;\n", "ends (2017-04-01) before it starts", "row 2 column H (einddatum)"},
		{"bad amount", ocmwHeader + "85073003328;A;B;30/07/1985;8500;LL;2017-05-01;;veel;\n", `"veel" is not a number`, "row 2 column I (bedrag)"},
		{"wrong register", "insz;voornaam;achternaam;geboortedatum;status;van;tot\n1;A;B;1985-01-01;WZ;2017-01-01;\n", `missing column "rijksregisternummer"`, "row 1"},
		{"empty", ocmwHeader, "no rows", ""},
	}
	for _, c := range cases {
		_, err := ReadExtract(write(t, c.content), ocmw(t), ReadOptions{Key: make([]byte, 32)})
		if err == nil || !dataerr.Is(err) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.place) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	refuse := ocmw(t)
	refuse.Unmapped = "refuse"
	_, err := ReadExtract(write(t, ocmwHeader+"85073003328;A;B;30/07/1985;8500;XYZ;2017-04-01;;;\n"), refuse, ReadOptions{Key: make([]byte, 32)})
	if err == nil || !dataerr.Is(err) || !strings.Contains(err.Error(), `event code "XYZ" is not mapped`) || !strings.Contains(err.Error(), "row 2 column F (soort)") {
		t.Errorf("unmapped, refused: %v", err)
	}
	_, err = ReadExtract(write(t, ocmwHeader+"85073003328;A;B;30/07/1985;8500;LL;2017-05-01;;;\n"), ocmw(t), ReadOptions{Key: make([]byte, 32), Pseudonymised: true})
	if err == nil || !strings.Contains(err.Error(), "not a pseudonym") {
		t.Errorf("pseudonymised: %v", err)
	}
}

// FuzzReadExtract: whatever the rows of an extract hold — codes the
// protocol maps or not, dates, amounts, numbers — reading it never panics,
// refuses it only with positioned data errors (exit 3), and what it keeps
// adds up: every row read is an event kept, a row of an unmapped code, a
// person dropped or a row refused.
func FuzzReadExtract(f *testing.F) {
	for _, s := range []string{
		"85073003328;A;B;30/07/1985;8500;LL;2017-04-01;;;\n",
		"85073003328;A;B;30/07/1985;8500;XYZ;2017-04-01;;;\n;C;D;1990;8500;AFH;01/02/2018;;1.234,56;x\n",
		"12345678901;;;;;BB;2017-13-01;2016-01-01;veel;\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		f.Fatal(err)
	}
	base, _ := p.Register("ocmw")
	f.Fuzz(func(t *testing.T, rows string, refuse bool) {
		reg := base
		if refuse {
			reg.Unmapped = "refuse"
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "ocmw.csv")
		if err := os.WriteFile(path, []byte(ocmwHeader+rows), 0o644); err != nil {
			t.Fatal(err)
		}
		ex, err := ReadExtract(path, reg, ReadOptions{Key: make([]byte, 32)})
		if err != nil {
			if !dataerr.Is(err) {
				t.Fatalf("not a data error: %v", err)
			}
			return
		}
		events, unmapped := 0, 0
		for _, p := range ex.Persons {
			events += len(p.Events)
		}
		for _, n := range ex.Unmapped {
			unmapped += n
		}
		if refuse && unmapped > 0 {
			t.Fatalf("unmapped codes counted when refused: %v", ex.Unmapped)
		}
		if events+unmapped > ex.RowsRead {
			t.Fatalf("%d events and %d unmapped rows from %d rows", events, unmapped, ex.RowsRead)
		}
	})
}

// TestReadExtractSameAsOneByOne: the rows checked on every core and
// applied in order give the extract the reader of one row after another
// gave (kept in the test), across many batches: persons, their events and
// rows, the counts, and the errors in order, also when they pass 1000,
// with and without a Keep, on 1 and 3 cores.
func TestReadExtractSameAsOneByOne(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	src := rand.New(rand.NewPCG(11, 11))
	number := func() string {
		n9 := (60+src.IntN(40))*10_000_000 + (1+src.IntN(12))*100_000 + (1+src.IntN(28))*1_000 + src.IntN(999)
		return fmt.Sprintf("%09d%02d", n9, 97-n9%97)
	}
	names := []string{"Peeters", "Janssens", "Maes", "El Amrani", "Van den Broucke", "Yilmaz"}
	extract := func(rows int, bad int) string {
		var b strings.Builder
		b.WriteString(ocmwHeader)
		nr := number()
		for range rows {
			if src.IntN(4) == 0 { // the same person's next row, or a new one
				nr = number()
			}
			n := nr
			switch src.IntN(20) {
			case 0:
				n = ""
			case 1:
				n = "12345678901" // not valid
			}
			code := []string{"AFH", "LL", "ACT", "ADM", "MED"}[src.IntN(5)]
			start, end, amount := fmt.Sprintf("%02d/%02d/2017", 1+src.IntN(28), 1+src.IntN(12)), "", ""
			if src.IntN(3) == 0 {
				end = fmt.Sprintf("2018-%02d-01", 1+src.IntN(12))
			}
			if src.IntN(2) == 0 {
				amount = fmt.Sprint(src.IntN(2000), ",", src.IntN(100))
			}
			if src.IntN(1000) < bad {
				switch src.IntN(4) {
				case 0:
					start = "31/02/2017"
				case 1:
					end = "2016-01-01"
				case 2:
					amount = "veel"
				case 3:
					code = ""
				}
			}
			birth := []string{"30/07/1985", "1990-03-00", "", "00/00/1970"}[src.IntN(4)]
			fmt.Fprintf(&b, "%s;%s;%s;%s;85%d0;%s;%s;%s;%s;\n", n, names[src.IntN(len(names))], names[src.IntN(len(names))], birth, src.IntN(4), code, start, end, amount)
		}
		return b.String()
	}
	key := make([]byte, 32)
	keepSome := func(p string) bool { return p[0] < '8' }
	show := func(ex *Extract, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%d rows %d skipped %d bad %d none %v\n", ex.RowsRead, ex.Skipped, ex.BadNumbers, ex.NoNumber, ex.Unmapped)
		for _, p := range ex.Persons {
			fmt.Fprintf(&b, "%+v\n", *p)
		}
		return b.String()
	}
	for _, c := range []struct {
		rows, bad int
		keep      func(string) bool
	}{{30_000, 0, nil}, {30_000, 0, keepSome}, {20_000, 30, nil}, {9_000, 200, keepSome}} {
		path := write(t, extract(c.rows, c.bad))
		o := ReadOptions{Key: key, Keep: c.keep}
		want := show(refReadExtract(path, ocmw(t), o))
		if c.bad > 100 && !strings.Contains(want, "error") {
			t.Fatalf("%d rows, %d‰ bad: no error", c.rows, c.bad)
		}
		for _, procs := range []int{1, 3} {
			runtime.GOMAXPROCS(procs)
			if got := show(ReadExtract(path, ocmw(t), o)); got != want {
				t.Fatalf("%d rows, %d‰ bad, %d cores: differs from one row after another\n%.600s\nwant\n%.600s", c.rows, c.bad, procs, got, want)
			}
		}
	}
}
