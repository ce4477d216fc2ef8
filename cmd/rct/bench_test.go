package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
)

// BenchmarkEnroll runs `rct enroll` on a simulated referral workbook as a
// child process (the whole CLI path: read, check, pseudonymise, one
// transaction) and reports rows/s and the child's peak resident memory.
func BenchmarkEnroll(b *testing.B) {
	for _, families := range []int{1000, 37000} {
		src := b.TempDir()
		p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
		if err != nil {
			b.Fatal(err)
		}
		cfg := simulate.DefaultConfig()
		cfg.Families = families
		rows := simulate.Referrals(cfg, p)
		os.WriteFile(filepath.Join(src, "trial.yaml"), trial.ExampleProtocol(), 0o644)
		xlsx := filepath.Join(src, "referrals.xlsx")
		if err := simulate.WriteReferralsXLSX(xlsx, p, rows); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rows=%d", len(rows)), func(b *testing.B) {
			var maxRSS float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				c := rctCmd(&testing.T{}, dir, "init", "--protocol", filepath.Join(src, "trial.yaml"))
				if out, err := c.CombinedOutput(); err != nil {
					b.Fatalf("init: %v\n%s", err, out)
				}
				c = rctCmd(&testing.T{}, dir, "enroll", xlsx)
				c.Env = append(c.Env, "RCT_REPORT_RSS=1")
				b.StartTimer()
				out, err := c.CombinedOutput()
				if err != nil {
					b.Fatalf("enroll: %v\n%s", err, out)
				}
				maxRSS = max(maxRSS, peakRSS(out))
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(maxRSS, "peak-RSS-MB")
		})
	}
}

// BenchmarkRandomize measures durable allocations through the CLI path:
// `rct randomize --pending` (one transaction, fsync at commit) over ~10,000
// enrolled families, and one family per process, as families arrive.
func BenchmarkRandomize(b *testing.B) {
	dir := enrolledDir(b, 12_000)
	pristine, err := os.ReadFile(filepath.Join(dir, "trial.db"))
	if err != nil {
		b.Fatal(err)
	}
	witness, err := os.ReadFile(filepath.Join(dir, "trial.witness"))
	if err != nil {
		b.Fatal(err)
	}
	// Back to the enrolled trial: the key holder's own rollback, witness
	// included (without it, randomize refuses the older database).
	restore := func() {
		os.Remove(filepath.Join(dir, "trial.db-wal"))
		os.Remove(filepath.Join(dir, "trial.db-shm"))
		os.WriteFile(filepath.Join(dir, "trial.db"), pristine, 0o600)
		os.WriteFile(filepath.Join(dir, "trial.witness"), witness, 0o600)
	}
	b.Run("pending", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			restore()
			b.StartTimer()
			out, err := rctCmd(&testing.T{}, dir, "randomize", "--key", "trial.key", "--pending", "--json").Output()
			if err != nil {
				b.Fatal(err)
			}
			n += bytes.Count(out, []byte(`"slot"`))
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "allocations/s")
	})
	b.Run("one-per-process", func(b *testing.B) {
		restore()
		for i := 0; i < b.N; i++ {
			if out, err := rctCmd(&testing.T{}, dir, "randomize", "--key", "trial.key", "--family", trial.StudyCode("K", i+1)).CombinedOutput(); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "allocations/s")
	})
}
