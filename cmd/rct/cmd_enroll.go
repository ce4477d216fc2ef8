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
	// Randomize allocates every pending family after enrolling, with the
	// allocation key in Key: what `rct randomize --pending` does.
	Randomize bool
	Key       string
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
default: beside the database) and never stored.

--randomize --key trial.key then allocates every enrolled family not yet
randomized, as "rct randomize --pending" does: a list enrolled and randomized
the day it arrives, in one step. The key is checked before anything is
written; should the randomization fail, the enrolment stays and
"rct randomize --pending" finishes it.`,
		Example: "  rct enroll referrals.xlsx\n  rct enroll referrals-2017-03.xlsx --randomize --key trial.key",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.File = args[0]
			if o.Randomize && o.DryRun {
				return usagef("a dry run writes nothing, so it randomizes nothing: give --dry-run or --randomize, not both")
			}
			if o.Key != "" && !o.Randomize {
				return usagef("--key is for --randomize: enrolling needs no allocation key")
			}
			return runEnroll(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Sheet, "sheet", "", "worksheet to read (default: \"referrals\" or the first sheet)")
	cmd.Flags().StringVar(&o.PseudoKey, "pseudo-key", "", "pseudonymisation key file (default: beside the database, .pseudo.key)")
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "protocol file to check against the one in force (default: the file given at init)")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "check the file and report what would happen; write nothing")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the result as JSON")
	cmd.Flags().BoolVar(&o.Randomize, "randomize", false, "then randomize every pending family (needs --key)")
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file, for --randomize")
	return cmd
}

func runEnroll(ctx context.Context, f *factory, o EnrollOptions) error {
	n := need{protocol: o.Protocol, pseudoKey: true, pseudoKeyPath: o.PseudoKey}
	if o.Randomize {
		n.key, n.keyFor = o.Key, "--randomize"
	}
	s, err := f.open(ctx, n)
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
	var allocated []trial.AllocationResult
	if o.Randomize {
		if allocated, err = allocate(ctx, f, s, RandomizeOptions{Pending: true}); err != nil {
			return fmt.Errorf("enrolled %d families from %s; randomizing them: %w", res.Enrolled, o.File, err)
		}
	}
	if o.JSON {
		if o.Randomize {
			return f.IO.JSON(struct {
				Enrolment   *trial.EnrollResult      `json:"enrolment"`
				Allocations []trial.AllocationResult `json:"allocations"`
			}{res, allocated})
		}
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
	if o.Randomize {
		return printAllocations(f, allocated, false)
	}
	return nil
}
