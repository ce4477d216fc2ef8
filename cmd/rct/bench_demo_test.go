package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkSimulate times `rct simulate` (the files before randomization).
// go test -run '^$' -bench Simulate -benchtime 1x ./cmd/rct/
func BenchmarkSimulate(b *testing.B) {
	for _, n := range []int{112, 100_000} {
		b.Run("families="+strconv.Itoa(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r := newInProcess(b, filepath.Join(b.TempDir(), "sim"), 1)
				r.must("simulate", "--families", strconv.Itoa(n), "-o", r.dir)
			}
		})
	}
}

// BenchmarkDemo times `make demo`'s pipeline in-process (no compilation):
// simulate, init, monthly enrolment and randomization, fieldwork, the
// survey imports (refused, then corrected), activity log, both registers,
// outcomes, the blinded and the keyed analysis and report (2000 draws as
// in the Makefile). go test -run '^$' -bench Demo -benchtime 3x ./cmd/rct/
func BenchmarkDemo(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r := simulatedTrial(b, 112, 1)
		r.must("analyze", "--draws", "2000")
		r.must("report", "-o", r.path("report-blinded.html"), "--draws", "2000")
		r.must("analyze", "--key", r.path("trial.key"), "--draws", "2000")
		r.must("report", "-o", r.path("report.html"), "--key", r.path("trial.key"), "--draws", "2000", "--figures", r.path("figures"))
	}
}

// BenchmarkReport times `rct report` (analysis with the protocol's 10,000
// randomization-inference draws included) on a simulated trial; the trial
// is made once, outside the timing. Sizes beyond 10,000 families need
// RCT_BENCH_FAMILIES (the fieldwork of 100,000 families takes minutes).
// go test -run '^$' -bench Report -benchtime 3x ./cmd/rct/
func BenchmarkReport(b *testing.B) {
	sizes := []int{112, 10_000}
	if n, err := strconv.Atoi(os.Getenv("RCT_BENCH_FAMILIES")); err == nil {
		sizes = []int{n}
	}
	for _, n := range sizes {
		b.Run("families="+strconv.Itoa(n), func(b *testing.B) {
			r := simulatedTrial(b, n, 1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := r.path("report-" + strconv.Itoa(i) + ".html")
				r.must("report", "-o", out)
				if st, err := os.Stat(out); err == nil {
					b.ReportMetric(float64(st.Size())/1e6, "MB")
				}
			}
		})
	}
}
