package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/reports"
	"github.com/spf13/cobra"
)

// ReportOptions are the inputs of `rct report`.
type ReportOptions struct {
	Out      string
	Key      string
	Lang     string
	XLSX     string
	Figures  string
	Date     string
	Settings plan.Overrides
	Force    bool
}

func newReportCmd(f *factory) *cobra.Command {
	var o ReportOptions
	var draws int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "report -o report.html [--key trial.key] [--lang en|nl|fr] [--xlsx tables.xlsx] [--figures DIR]",
		Short: "The effect report: one self-contained HTML page with tables and figures, in CONSORT order",
		Long: `Write the effect report of the trial as one HTML file that opens offline
(figures as inline SVG, no script, no external asset), in CONSORT order:
trial summary, participant flow diagram, baseline balance with a love plot,
attrition by wave, effects per outcome family (forest plot, trajectories over
the waves, the randomization distribution of each primary outcome),
robustness (adjusted vs unadjusted, Lee bounds, subgroups, complier effect and
dose-response), data quality (survey warnings, register links) and a
reproducibility appendix. The numbers are those of 'rct analyze' with the
same settings (the protocol's, or --draws and --seed).

Without --key the report is blinded: groups are "Group A" and "Group B",
block sizes are hidden, no complier effect. With --key the groups carry their
arm's label and the unblinded analysis is recorded in the audit chain.

--xlsx writes the same tables as sheets with number formats; --figures DIR
writes every figure as SVG, PNG and PDF. The report carries no date unless
--date is given, so the same trial gives the same file.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return usagef("give the report file with -o report.html")
			}
			if !slices.Contains(reports.Languages, o.Lang) {
				return usagef("--lang %q: the report is written in %s", o.Lang, strings.Join(reports.Languages, ", "))
			}
			o.Settings.Draws, o.Settings.Seed = changed(cmd, "draws", draws), changed(cmd, "seed", seed)
			return runReport(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVarP(&o.Out, "output", "o", "", "HTML file to write")
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key: an unblinded report (recorded in the audit chain)")
	cmd.Flags().StringVar(&o.Lang, "lang", "en", "language of the report: en, nl or fr")
	cmd.Flags().StringVar(&o.XLSX, "xlsx", "", "also write the tables to this XLSX file")
	cmd.Flags().StringVar(&o.Figures, "figures", "", "also write every figure as SVG, PNG and PDF into this directory")
	cmd.Flags().StringVar(&o.Date, "date", "", "date printed in the report (none by default)")
	cmd.Flags().IntVar(&draws, "draws", 0, "randomization-inference draws (default: the protocol's ri_draws)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of the draws and the bootstrap (default: the protocol's seed)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "overwrite existing files")
	return cmd
}

func runReport(ctx context.Context, f *factory, o ReportOptions) error {
	if err := f.outputs(o.Force, []string{o.Key}, o.Out, o.XLSX); err != nil {
		return err
	}
	s, err := f.open(ctx, need{key: o.Key, whole: true})
	if err != nil {
		return err
	}
	defer s.Close()
	in := &reports.Input{Lang: o.Lang, Date: o.Date, Version: version}
	settings := f.settings(s.Protocol, o.Settings)
	analyze := plan.Analyze
	if s.Key == nil {
		// The analysis's draws are replayed on the other core while the
		// context is read. (With the key, the key's checks take both
		// cores: the analysis replays them after.)
		w := plan.Warm(ctx, s.DB, s.Protocol, settings)
		defer w.Stop()
		analyze = w.Analyze
	}
	// The context first: it hashes the database, which an unblinded
	// analysis then appends to.
	if in.Context, err = plan.Gather(ctx, s.DB, s.Protocol, o.Lang); err != nil {
		return err
	}
	k, err := s.keyed(ctx, "unblinded report")
	if err != nil {
		return err
	}
	if k != nil {
		in.Unblind(k.Arms)
	}
	if in.Analysis, err = analyze(ctx, s.DB, s.Protocol, settings, k); err != nil {
		return err
	}
	rep, err := reports.Build(in)
	if err != nil {
		return err
	}
	return writeReport(f, o, rep)
}

// writeReport writes the report's HTML and, when asked, its tables and
// figures.
func writeReport(f *factory, o ReportOptions, rep *reports.Report) error {
	if err := writeAtomic(o.Out, rep.HTML); err != nil {
		return err
	}
	f.IO.Printf("%s: %s report of %d families\n", o.Out, map[bool]string{true: "unblinded", false: "blinded"}[rep.In.Unblinded], rep.In.Analysis.Families)
	if o.XLSX != "" {
		if err := writeAtomic(o.XLSX, rep.XLSX); err != nil {
			return err
		}
		f.IO.Printf("%s: %d tables\n", o.XLSX, len(rep.Tables()))
	}
	if o.Figures != "" {
		paths, err := reports.WriteFigures(o.Figures, rep.Figures())
		if err != nil {
			return err
		}
		f.IO.Printf("%s: %d figures as SVG, PNG and PDF (%d files)\n", filepath.Clean(o.Figures), len(rep.Figures()), len(paths))
	}
	return nil
}
