package main

import (
	"context"
	"io"

	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// ReferralsTemplateOptions are the inputs of `rct referrals template`.
type ReferralsTemplateOptions struct {
	Out      string
	Protocol string
	Force    bool
}

func newReferralsCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "referrals", Short: "The referral file the referring service fills in"}
	var o ReferralsTemplateOptions
	tmpl := &cobra.Command{
		Use:   "template -o referrals.xlsx [--protocol trial.yaml]",
		Short: "Write an empty referral workbook with the columns the protocol expects",
		Long: `Write an empty referral workbook for the referring service (Kind en Gezin):
one row per person, the columns 'rct enroll' reads for this protocol (the fixed
ones, the eligibility domains, the stratification variables), dates as dates,
national numbers as text, drop-down lists for roles, consent, domain flags and
stratum values, and an instructions sheet. The protocol is the trial's, or
--protocol FILE before the trial exists.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return usagef("give -o FILE.xlsx")
			}
			return runReferralsTemplate(cmd.Context(), f, o)
		},
	}
	tmpl.Flags().StringVarP(&o.Out, "output", "o", "", "XLSX file to write")
	tmpl.Flags().StringVar(&o.Protocol, "protocol", "", "protocol file (default: the trial's)")
	tmpl.Flags().BoolVar(&o.Force, "force", false, "overwrite an existing file")
	cmd.AddCommand(tmpl)
	return cmd
}

func runReferralsTemplate(ctx context.Context, f *factory, o ReferralsTemplateOptions) error {
	if err := f.outputs(o.Force, nil, o.Out); err != nil {
		return err
	}
	p, err := f.protocolOf(ctx, o.Protocol)
	if err != nil {
		return err
	}
	today := f.actor().Today()
	if err := writeAtomic(o.Out, func(w io.Writer) error { return trial.WriteReferralTemplate(w, p, today) }); err != nil {
		return err
	}
	f.IO.Printf("%s: referral template of %s, %d columns\n", o.Out, p.Trial.ID, len(p.ReferralColumns()))
	return nil
}
