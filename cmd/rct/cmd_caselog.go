package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

func newCaselogCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "caselog", Short: "The case managers' monthly activity log (contacts, hours, guidance accepted)"}
	var o TemplateOptions
	tmpl := &cobra.Command{
		Use:   "template --key trial.key [--month yyyy-mm] -o FILE.xlsx",
		Short: "Write the activity-log template of a month for the case managers",
		Long: `Write the activity-log template of a month: one row per family the case
managers guide (every arm but the reference arm, the control; or --arm),
randomized by the end of the month and not withdrawn. It needs the allocation key, and the listing is
recorded in the audit chain: the log is for case managers, who know the arm;
never give it to interviewers.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return usagef("give -o FILE.xlsx")
			}
			return runCaselogTemplate(cmd.Context(), f, o)
		},
	}
	tmpl.Flags().StringVar(&o.Key, "key", "", "allocation key file")
	tmpl.Flags().StringVar(&o.Arm, "arm", "", "the case managers' arms, comma-separated (default: every arm but the reference)")
	tmpl.Flags().StringVar(&o.Month, "month", "", "the month logged, yyyy-mm (default: the current month)")
	tmpl.Flags().StringVarP(&o.Out, "output", "o", "", "XLSX file to write")
	tmpl.Flags().StringVar(&o.Lang, "lang", "", "language of the labels (default: the codebook's first)")
	tmpl.Flags().BoolVar(&o.Force, "force", false, "overwrite an existing file")
	cmd.AddCommand(tmpl, newImportCmd(f, true))
	return cmd
}

func runCaselogTemplate(ctx context.Context, f *factory, o TemplateOptions) error {
	today := f.actor().Today()
	month := o.Month
	if month == "" {
		month = today.Format("2006-01")
	}
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return usagef("--month %q: write yyyy-mm", month)
	}
	if month > today.Format("2006-01") {
		return usagef("--month %s has not begun", month)
	}
	if err := f.outputs(o.Force, []string{o.Key}, o.Out); err != nil {
		return err
	}
	s, err := f.open(ctx, need{key: o.Key, keyFor: "the activity log (it concerns one arm)"})
	if err != nil {
		return err
	}
	defer s.Close()
	cb, version, err := survey.Current(ctx, s.DB, s.Protocol)
	if err != nil {
		return err
	}
	if err := checkLang(cb, o.Lang); err != nil {
		return err
	}
	load, err := caseload(ctx, s, o.Arm)
	if err != nil {
		return err
	}
	rows, err := survey.CaseLogRows(ctx, s.DB, load, m)
	if err != nil {
		return err
	}
	err = writeAtomic(o.Out, func(w io.Writer) error {
		return cb.WriteTemplate(w, survey.TemplateOptions{Form: survey.CaseLog, Lang: o.Lang, TrialID: s.Protocol.Trial.ID, CodebookVersion: version, Today: today, Rows: rows})
	})
	if err != nil {
		return err
	}
	f.IO.Printf("%s: activity log of %s for %d families (codebook version %d)\n", o.Out, month, len(rows), version)
	return nil
}

// caseload returns the study codes of the case managers' arms (given as
// a comma-separated list; by default every arm but the analysis'
// reference arm, the control), read with the session's key; the listing is
// recorded in the audit chain.
func caseload(ctx context.Context, s *session, arms string) (map[string]bool, error) {
	p := s.Protocol
	want := map[string]bool{}
	if arms == "" {
		for _, a := range p.Arms {
			want[a.ID] = a.ID != p.ReferenceArm().ID
		}
	}
	for _, a := range strings.Split(arms, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, ok := p.Arm(a); !ok {
			return nil, usagef("--arm: %v: %q (arms: %s)", trial.ErrUnknownArm, a, strings.Join(p.ArmIDs(), ", "))
		}
		want[a] = true
	}
	rows, err := s.DB.AllocationList(ctx, p, s.Key, "", s.Actor)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rows {
		if want[r.Arm] && !r.Withdrawn {
			out[r.StudyCode] = true
		}
	}
	return out, nil
}
