package main

import (
	"context"
	"path/filepath"

	"github.com/rct-trials/rct/frame"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/linkage"
	"github.com/rct-trials/rct/reports"
	"github.com/rct-trials/rct/survey"
	"github.com/spf13/cobra"
)

// ReportOptions are the inputs of `rct report`.
type ReportOptions struct {
	Out     string
	Key     string
	Lang    string
	XLSX    string
	Figures string
	Date    string
	Draws   int
	Force   bool
}

func newReportCmd(f *factory) *cobra.Command {
	var o ReportOptions
	cmd := &cobra.Command{
		Use:   "report -o report.html [--key trial.key] [--lang en|nl] [--xlsx tables.xlsx] [--figures DIR]",
		Short: "The effect report: one self-contained HTML page with tables and figures, in CONSORT order",
		Long: `Write the effect report of the trial as one HTML file that opens offline
(figures as inline SVG, no script, no external asset), in CONSORT order:
trial summary, participant flow diagram, baseline balance with a love plot,
attrition by wave, effects per outcome family (forest plot, trajectories over
the waves, the randomization distribution of each primary outcome),
robustness (adjusted vs unadjusted, Lee bounds, subgroups, complier effect and
dose-response), data quality (survey warnings, register links) and a
reproducibility appendix.

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
			if o.Lang != "en" && o.Lang != "nl" {
				return usagef("--lang %q: the report is written in en or nl", o.Lang)
			}
			return runReport(cmd.Context(), f, cmd, o)
		},
	}
	cmd.Flags().StringVarP(&o.Out, "output", "o", "", "HTML file to write")
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key: an unblinded report (recorded in the audit chain)")
	cmd.Flags().StringVar(&o.Lang, "lang", "en", "language of the report: en or nl")
	cmd.Flags().StringVar(&o.XLSX, "xlsx", "", "also write the tables to this XLSX file")
	cmd.Flags().StringVar(&o.Figures, "figures", "", "also write every figure as SVG, PNG and PDF into this directory")
	cmd.Flags().StringVar(&o.Date, "date", "", "date printed in the report (none by default)")
	cmd.Flags().IntVar(&o.Draws, "draws", 0, "randomization-inference draws (default: the protocol's ri_draws)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "overwrite existing files")
	return cmd
}

func runReport(ctx context.Context, f *factory, cmd *cobra.Command, o ReportOptions) error {
	for _, p := range []string{o.Out, o.XLSX} {
		if p != "" {
			if err := refuseOverwrite(p, o.Force); err != nil {
				return err
			}
		}
	}
	db, p, err := openTrial(ctx, f, cmd, "")
	if err != nil {
		return err
	}
	defer db.Close()
	dbSum, err := sheet.FileSHA256(db.Path) // before the analysis: an unblinded one appends to the chain
	if err != nil {
		return err
	}
	a, arms, err := analyzeTrial(ctx, f, db, p, o.Key, frame.AnalyzeOptions{Draws: o.Draws, Seed: 1})
	if err != nil {
		return err
	}
	in := &reports.Input{Lang: o.Lang, Date: o.Date, Version: version, Protocol: p, Analysis: a, DBSHA256: dbSum, Unblinded: arms != nil,
		GroupNames: map[string]string{}, Labels: map[string]string{}}
	if in.Status, err = db.Status(ctx); err != nil {
		return err
	}
	if in.Amendments, err = db.Amendments(ctx); err != nil {
		return err
	}
	if in.SeedCommitment, err = db.Meta(ctx, "seed_commitment"); err != nil {
		return err
	}
	if in.Links, err = linkage.Summarize(ctx, db); err != nil {
		return err
	}
	if in.Warnings, err = survey.Warnings(ctx, db); err != nil {
		return err
	}
	if in.FollowUp, err = survey.LastInterview(ctx, db); err != nil {
		return err
	}
	members, err := db.Members(ctx)
	if err != nil {
		return err
	}
	for _, m := range members {
		if d := m.RandomizedOn; d != "" {
			if in.Recruitment[0] == "" || d < in.Recruitment[0] {
				in.Recruitment[0] = d
			}
			in.Recruitment[1] = max(in.Recruitment[1], d)
		}
	}
	for code, arm := range arms {
		if a, ok := p.Arm(arm); ok {
			in.GroupNames[code] = a.Label
		}
	}
	if cb, _, err := survey.Current(ctx, db, p); err == nil {
		for _, v := range cb.Variables {
			in.Labels[v.Name] = v.Label.In(o.Lang, cb.Languages)
		}
	}
	for _, oc := range p.Outcomes {
		in.Labels[oc.ID] = oc.Label
	}
	rep, err := reports.Build(in)
	if err != nil {
		return err
	}
	if err := writeAtomic(o.Out, rep.HTML); err != nil {
		return err
	}
	f.IO.Printf("%s: %s report of %d families\n", o.Out, map[bool]string{true: "unblinded", false: "blinded"}[in.Unblinded], a.Families)
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
