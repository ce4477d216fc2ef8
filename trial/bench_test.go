package trial_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
)

// BenchmarkEnroll reads a simulated referral workbook and enrols it into a
// fresh trial, in process (the CLI-path figure is cmd/rct's BenchmarkEnroll).
func BenchmarkEnroll(b *testing.B) {
	ctx := context.Background()
	p, err := trial.ParseProtocol("example", trial.ExampleProtocol())
	if err != nil {
		b.Fatal(err)
	}
	for _, families := range []int{1000, 37000} {
		src := b.TempDir()
		cfg := simulate.DefaultConfig()
		cfg.Families = families
		rows := simulate.Referrals(cfg, p)
		xlsx := filepath.Join(src, "referrals.xlsx")
		if err := simulate.WriteReferralsXLSX(xlsx, p, rows); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rows=%d", len(rows)), func(b *testing.B) {
			b.ReportAllocs()
			actor := trial.Actor{Name: "bench", Now: func() time.Time { return time.Date(2019, 6, 30, 0, 0, 0, 0, time.UTC) }}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				if _, err := trial.Init(ctx, trial.InitOptions{Protocol: p, ProtocolPath: "trial.yaml", DBPath: filepath.Join(dir, "t.db"),
					KeyPath: filepath.Join(dir, "t.key"), PseudoKeyPath: filepath.Join(dir, "t.pseudo.key"), Actor: actor}); err != nil {
					b.Fatal(err)
				}
				db, err := trial.Open(ctx, filepath.Join(dir, "t.db"))
				if err != nil {
					b.Fatal(err)
				}
				key, err := db.VerifyPseudoKey(ctx, filepath.Join(dir, "t.pseudo.key"))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				refs, n, err := trial.ReadReferrals(xlsx, p, actor.Today(), sheet.Options{}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.Enroll(ctx, p, trial.EnrollInput{File: xlsx, RowsRead: n, Referrals: refs, Key: key, Actor: actor}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				db.Close()
				os.RemoveAll(dir)
				b.StartTimer()
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
