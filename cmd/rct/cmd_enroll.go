package main

import (
	"context"
	"fmt"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// EnrollOptions are the inputs of `rct enroll`.
type EnrollOptions struct {
	File      string
	Sheet     string
	PseudoKey string
	Protocol  string
	DryRun    bool
	JSON      bool
}

func newEnrollCmd(f *factory) *cobra.Command {
	var o EnrollOptions
	cmd := &cobra.Command{
		Use:   "enroll FILE",
		Short: "Enrol referred families from an XLSX or CSV referral file",
		Long: `Enrol referred families from an XLSX workbook or a CSV file, one row per
household member. Columns:

  referral_id, referral_date, role (mother, partner, child), national_number
  (optional), first_name, last_name, birth_date (optional), postcode
  (optional), consent, one column per eligibility domain (1 = weak, 0 = not
  weak) and one per stratification variable of the protocol.

referral_date, consent, domains and strata go on the first row of a referral;
its other rows leave them blank or repeat them. Dates are dd/mm/yyyy,
yyyy-mm-dd or date cells.

A family is enrolled, and gets a study code, when weak on at least min_weak
domains and consenting. Ineligible referrals are kept with their reason; a
family already enrolled (same national number, or same name and birth date)
is reported as a duplicate. Any error rejects the whole file: nothing is
written. Importing the same file again changes nothing.

National numbers are pseudonymised with the pseudonymisation key (--pseudo-key,
default: beside the database) and never stored.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.File = args[0]
			return runEnroll(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Sheet, "sheet", "", "worksheet to read (default: \"referrals\" or the first sheet)")
	cmd.Flags().StringVar(&o.PseudoKey, "pseudo-key", "", "pseudonymisation key file (default: beside the database, .pseudo.key)")
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "protocol file to check against the one in force (default: the file given at init)")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "check the file and report what would happen; write nothing")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the result as JSON")
	return cmd
}

func runEnroll(ctx context.Context, f *factory, o EnrollOptions) error {
	s, err := f.open(ctx, need{protocol: o.Protocol, pseudoKey: true, pseudoKeyPath: o.PseudoKey})
	if err != nil {
		return err
	}
	defer s.Close()
	sum, err := sheet.FileSHA256(o.File)
	if err != nil {
		return err
	}
	refs, rows, err := trial.ReadReferrals(o.File, s.Protocol, s.Actor.Today(), sheet.Options{Sheet: o.Sheet}, f.IO.Progress)
	if err != nil {
		return err
	}
	res, err := s.DB.Enroll(ctx, s.Protocol, trial.EnrollInput{File: o.File, SHA256: sum, RowsRead: rows, Referrals: refs, Key: s.PseudoKey, Actor: s.Actor, DryRun: o.DryRun,
		Progress: f.IO.Progress})
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	t := f.IO.NewTable("referral_id", "row", "outcome", "study_code", "reason")
	for _, r := range res.Results {
		if r.Outcome == trial.Unchanged {
			continue
		}
		reason := r.Reason
		if r.DuplicateOf != "" {
			reason = "duplicate of " + r.DuplicateOf + ": " + reason
		}
		t.Row(r.ReferralID, fmt.Sprint(r.Row), r.Outcome, r.StudyCode, reason)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	verb := "Enrolled"
	if o.DryRun {
		verb = "Dry run, nothing written: would enrol"
	}
	f.IO.Printf("%s %d of %d referrals from %s (%d rows): %d not eligible, %d declined, %d duplicates, %d already imported.\n",
		verb, res.Enrolled, res.Referrals, o.File, res.RowsRead, res.NotEligible, res.Declined, res.Duplicates, res.Unchanged)
	return nil
}
