package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// StatusOptions are the inputs of `rct status`.
type StatusOptions struct {
	Protocol string
	JSON     bool
}

func newStatusCmd(f *factory) *cobra.Command {
	var o StatusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Count families at each stage of the trial, without revealing arms",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), f, o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "protocol file to check against the one in force (default: the file given at init)")
	return cmd
}

func runStatus(ctx context.Context, f *factory, o StatusOptions) error {
	s, err := f.open(ctx, need{protocol: o.Protocol})
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := s.DB.Status(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(st)
	}
	t := f.IO.NewTable("stage", "families")
	for _, r := range []struct {
		k string
		v int
	}{
		{"referred", st.Referred},
		{"duplicate referrals", st.Duplicates},
		{"assessed for eligibility", st.Assessed},
		{"excluded: not meeting criteria", st.NotEligible},
		{"excluded: declined", st.Declined},
		{"enrolled", st.Enrolled},
		{"randomized", st.Randomized},
		{"withdrawn after randomization", st.Withdrawn},
		{"unblinded", st.Unblinded},
	} {
		t.Row(r.k, fmt.Sprint(r.v))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	f.IO.Printf("Trial %s, protocol amendment %d.\n", st.TrialID, st.Amendment)
	if st.TrialUnblinded {
		f.IO.Printf("The trial has been unblinded.\n")
	}
	return nil
}
