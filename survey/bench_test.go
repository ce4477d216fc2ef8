package survey

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rct-trials/rct/trial"
)

// BenchmarkTemplate writes the m6 template (39 columns, drop-downs, range
// checks) for 10,000 and 100,000 families.
func BenchmarkTemplate(b *testing.B) {
	cb := exampleCB(b)
	for _, n := range []int{10_000, 100_000} {
		rows := make([]TemplateRow, n)
		for i := range rows {
			rows[i] = TemplateRow{StudyCode: trial.StudyCode("K", i+1), Due: "2017-04-03", Opens: "2017-03-20", Closes: "2017-05-15"}
		}
		b.Run(fmt.Sprintf("families=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := cb.WriteTemplate(io.Discard, TemplateOptions{Form: "m6", TrialID: "MISSION", CodebookVersion: 1,
					Today: time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC), Rows: rows}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkImport imports an m6 workbook with one answered row per family
// of a simulated trial, in process (the CLI figure, with peak memory, is
// cmd/rct's BenchmarkSurveyImport).
func BenchmarkImport(b *testing.B) {
	n := 12_000
	if s := os.Getenv("RCT_BENCH_FAMILIES"); s != "" {
		fmt.Sscan(s, &n)
	}
	f := newFixture(b, n)
	rows := make([]map[string]any, len(f.codes))
	for i := range rows {
		rows[i] = answers()
	}
	path := f.fill("m6.xlsx", f.template("m6", m6Day), "m6", rows, nil)
	f.db.Close() // checkpoints the WAL into the file copied below
	pristine, err := os.ReadFile(filepath.Join(f.dir, "t.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("rows=%d", len(rows)), func(b *testing.B) {
		b.ReportAllocs()
		var peak atomic.Uint64
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > peak.Load() {
						peak.Store(m.HeapAlloc)
					}
				}
			}
		}()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			os.Remove(filepath.Join(f.dir, "t.db-wal"))
			os.Remove(filepath.Join(f.dir, "t.db-shm"))
			os.WriteFile(filepath.Join(f.dir, "t.db"), pristine, 0o600)
			if f.db, err = trial.Open(context.Background(), filepath.Join(f.dir, "t.db")); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := Import(context.Background(), f.db, f.p, ImportOptions{Form: "m6", Files: []string{path}, Actor: actorAt(m6Day)}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			f.db.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(float64(ru.Maxrss)/1024, "process-peak-RSS-MB")
	})
}
