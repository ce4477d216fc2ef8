package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
)

// BenchmarkLinkImport runs `rct link import` as a child process: ~106,000
// trial persons (37,000 referred families) against a generated OCMW
// extract of 5,000,000 rows: 50,000 trial persons by national number
// (tier 0), 10,000 by a name variant without number (tier 1), 940,000
// outsiders with numbers and 20,000 without (discarded after tier 0 and
// tier 1). It reports rows/s, the tier-1 comparisons/s and the child's
// peak memory.
func BenchmarkLinkImport(b *testing.B) {
	dir := enrolledDir(b, 37_000)
	p, _ := trial.ParseProtocol("example", trial.ExampleProtocol())
	cfg := simulate.DefaultConfig()
	cfg.Families = 37_000
	rows := simulate.Referrals(cfg, p)
	path := filepath.Join(dir, "ocmw.csv")
	n := writeExtract(b, path, rows)
	pristine, err := os.ReadFile(filepath.Join(dir, "trial.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
		var rss float64
		var out []byte
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			os.Remove(filepath.Join(dir, "trial.db-wal"))
			os.Remove(filepath.Join(dir, "trial.db-shm"))
			os.WriteFile(filepath.Join(dir, "trial.db"), pristine, 0o600)
			c := rctCmd(&testing.T{}, dir, "link", "import", "--register", "ocmw", "--json", "ocmw.csv")
			c.Env = append(c.Env, "RCT_REPORT_RSS=1")
			b.StartTimer()
			if out, err = c.CombinedOutput(); err != nil {
				b.Fatalf("%v\n%.3000s", err, out)
			}
			rss = max(rss, peakRSS(out))
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(rss, "peak-RSS-MB")
		var pairs int
		if i := strings.Index(string(out), `"pairs": `); i >= 0 {
			fmt.Sscan(string(out[i+len(`"pairs": `):]), &pairs)
		}
		b.ReportMetric(float64(pairs)*float64(b.N)/b.Elapsed().Seconds(), "comparisons/s")
		b.Logf("%.1500s", out)
	})
}

// writeExtract writes the 5,000,000-row OCMW extract and returns its rows.
func writeExtract(b *testing.B, path string, refs []simulate.ReferralRow) int {
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	fmt.Fprintln(w, "rijksregisternummer;voornaam;naam;geboortedatum;postcode;soort;begindatum;einddatum;bedrag;categorie")
	src := rand.New(rand.NewPCG(5, 5))
	rows := 0
	line := func(num, first, last string, birth time.Time, pc string, k int) {
		start := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, src.IntN(1200))
		codes := []string{"LL", "AFH", "ACT", "BB"}
		fmt.Fprintf(w, "%s;%s;%s;%s;%s;%s;%s;;%d;\n", num, first, last, birth.Format("02/01/2006"), pc, codes[k%4], start.Format("2006-01-02"), 50+src.IntN(900))
		rows++
	}
	withNumber, without := 0, 0
	for _, r := range refs {
		switch {
		case r.Number != "" && withNumber < 50_000:
			withNumber++
			for k := 0; k < 4; k++ {
				line(strings.NewReplacer(".", "", "-", "").Replace(r.Number), r.FirstName, r.LastName, r.BirthDate, r.Postcode, k)
			}
		case without < 10_000 && r.Role != "child":
			without++
			last := strings.ReplaceAll(r.LastName, " ", "")
			for k := 0; k < 2; k++ {
				line("", r.FirstName, last, r.BirthDate, r.Postcode, k)
			}
		}
	}
	firsts := []string{"Jan", "Piet", "Els", "An", "Mehmet", "Fatou", "Lucas", "Emma", "Ilse", "Rik", "Sofie", "Bram", "Nora", "Youssef", "Lena"}
	lasts := []string{"Wouters", "Goossens", "Aerts", "Smet", "Jacobs", "Hermans", "Michiels", "Lambrechts", "Willems", "Dubois", "Peeters", "Maes", "Claes", "Martens", "Desmet"}
	for i := 0; rows < 5_000_000-80_000; i++ {
		birth := time.Date(1950+src.IntN(50), time.Month(1+src.IntN(12)), 1+src.IntN(28), 0, 0, 0, 0, time.UTC)
		base := fmt.Sprintf("%02d%02d%02d%03d", birth.Year()%100, int(birth.Month()), birth.Day(), 1+src.IntN(997))
		var v int
		fmt.Sscan(base, &v)
		num := fmt.Sprintf("%s%02d", base, 97-v%97)
		f, l := firsts[src.IntN(len(firsts))], lasts[src.IntN(len(lasts))]
		pc := fmt.Sprintf("85%02d", src.IntN(100))
		for k := 0; k < 5 && rows < 5_000_000-80_000; k++ {
			line(num, f, l, birth, pc, k)
		}
	}
	for rows < 5_000_000 {
		birth := time.Date(1950+src.IntN(50), time.Month(1+src.IntN(12)), 1+src.IntN(28), 0, 0, 0, 0, time.UTC)
		f, l := firsts[src.IntN(len(firsts))], lasts[src.IntN(len(lasts))]
		for k := 0; k < 4 && rows < 5_000_000; k++ {
			line("", f, l, birth, fmt.Sprintf("85%02d", src.IntN(100)), k)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	fh.Close()
	return rows
}
