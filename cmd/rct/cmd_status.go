package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newStatusCmd(f *factory) *cobra.Command {
	var asJSON bool
	var protocol string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Count families at each stage of the trial, without revealing arms",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, _, err := openTrial(cmd.Context(), f, cmd, protocol)
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := db.Status(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return f.IO.JSON(s)
			}
			t := f.IO.NewTable("stage", "families")
			for _, r := range []struct {
				k string
				v int
			}{
				{"referred", s.Referred},
				{"duplicate referrals", s.Duplicates},
				{"assessed for eligibility", s.Assessed},
				{"excluded: not meeting criteria", s.NotEligible},
				{"excluded: declined", s.Declined},
				{"enrolled", s.Enrolled},
				{"randomized", s.Randomized},
				{"withdrawn after randomization", s.Withdrawn},
				{"unblinded", s.Unblinded},
			} {
				t.Row(r.k, fmt.Sprint(r.v))
			}
			if err := t.Flush(); err != nil {
				return err
			}
			f.IO.Printf("Trial %s, protocol amendment %d.\n", s.TrialID, s.Amendment)
			if s.TrialUnblinded {
				f.IO.Printf("The trial has been unblinded.\n")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.Flags().StringVar(&protocol, "protocol", "", "protocol file to check against the one in force (default: the file given at init)")
	return cmd
}
