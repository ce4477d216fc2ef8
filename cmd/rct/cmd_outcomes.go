package main

import (
	"context"
	"strconv"

	"github.com/rct-trials/rct/linkage"
	"github.com/spf13/cobra"
)

// DeriveOptions are the inputs of `rct outcomes derive`.
type DeriveOptions struct {
	JSON bool
}

func newOutcomesCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "outcomes", Short: "Derive outcomes from linked register events"}
	var o DeriveOptions
	derive := &cobra.Command{
		Use:   "derive",
		Short: "Compute every register outcome in its window after each family's randomization date",
		Long: `For every randomized family and every register outcome of the protocol,
aggregate the linked events of any household member in the outcome's window
relative to the family's randomization date — (from, to], e.g. (0d, 6m] — as
the protocol says: any, count, sum (of amounts) or days (covered by spells).
The baseline windows (e.g. (-12m, 0d]) give the baseline covariates, stored as
OUTCOME_baseline. Families with no linked member get 0, flagged as unlinked.
An outcome whose register has no import yet is missing for every family (not
zero events) and said so. Re-deriving replaces the values.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDerive(cmd.Context(), f, o)
		},
	}
	derive.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	cmd.AddCommand(derive)
	return cmd
}

func runDerive(ctx context.Context, f *factory, o DeriveOptions) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := linkage.Derive(ctx, s.DB, s.Protocol, s.Actor, f.IO.Progress)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	t := f.IO.NewTable("outcome", "families", "families_linked", "non_zero")
	var missing []string
	for _, r := range res {
		nonZero := strconv.Itoa(r.NonZero)
		if r.Missing != "" {
			nonZero = "missing"
			missing = append(missing, r.Outcome+": "+r.Missing)
		}
		t.Row(r.Outcome, strconv.Itoa(r.Families), strconv.Itoa(r.Linked), nonZero)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	for _, m := range missing {
		f.IO.Printf("note: %s\n", m)
	}
	return nil
}
