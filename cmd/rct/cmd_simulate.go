package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// SimulateOptions are the inputs of `rct simulate`.
type SimulateOptions struct {
	Families int
	Seed     uint64
	Out      string
}

func newSimulateCmd(f *factory) *cobra.Command {
	var o SimulateOptions
	cmd := &cobra.Command{
		Use:   "simulate -o DIR [--families N] [--seed S]",
		Short: "Write a synthetic trial as the files real users bring",
		Long: `Write a synthetic trial modelled on MISSION into DIR, as the files real
users bring: trial.yaml (the example protocol) and referrals.xlsx (Kind en
Gezin's referral workbook: ~15% ineligible, ~5% declining, a few duplicate
referrals). The same seed gives the same files. Existing files are not
overwritten.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return usagef("give the output directory with -o")
			}
			if o.Families < 1 {
				return usagef("--families must be at least 1")
			}
			return runSimulate(cmd.Context(), f, o)
		},
	}
	cmd.Flags().IntVar(&o.Families, "families", 140, "number of referrals (before duplicates)")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "random seed")
	cmd.Flags().StringVarP(&o.Out, "output", "o", "", "directory to write into")
	return cmd
}

func runSimulate(ctx context.Context, f *factory, o SimulateOptions) error {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	protoPath := filepath.Join(o.Out, "trial.yaml")
	refPath := filepath.Join(o.Out, "referrals.xlsx")
	for _, p := range []string{protoPath, refPath} {
		if _, err := os.Stat(p); err == nil {
			return usagef("%s exists: simulate writes into an empty directory", p)
		}
	}
	text := trial.ExampleProtocol()
	p, err := trial.ParseProtocol("example protocol", text)
	if err != nil {
		return err
	}
	cfg := simulate.DefaultConfig()
	cfg.Families, cfg.Seed = o.Families, o.Seed
	rows := simulate.Referrals(cfg, p)
	if err := os.WriteFile(protoPath, text, 0o644); err != nil {
		return err
	}
	if err := simulate.WriteReferralsXLSX(refPath, p, rows); err != nil {
		return err
	}
	f.IO.Printf("Wrote %s and %s (%d rows).\n", protoPath, refPath, len(rows))
	return nil
}
