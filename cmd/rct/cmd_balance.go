package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rct-trials/rct/plan"
	"github.com/spf13/cobra"
)

// BalanceOptions are the inputs of `rct balance`.
type BalanceOptions struct {
	Settings plan.Overrides
	JSON     bool
}

func newBalanceCmd(f *factory) *cobra.Command {
	var o BalanceOptions
	var draws int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "balance [--draws 10000] [--seed 1]",
		Short: "Baseline balance of the randomized groups (by group code: blinded)",
		Long: `Compare the randomized groups on the baseline variables of the protocol's
balance table (analysis.balance; by default weak on each domain of the index,
the number of weak domains and the strata): mean and SD per group,
difference, normalized difference, Welch p-value; and a joint test (the
group regressed on the variables, HC2 Wald F) with its randomization-
inference p-value from --draws re-runs of the trial's own design. The draws
and the seed are the protocol's unless given, as in 'rct analyze': both give
the same p-value. Groups are named by code: no key, no arms. With three
groups or more each is compared with group A, and a joint test across every
group (the indicators of the groups regressed on the variables, HC2 Wald
across the equations, as lm_robust with several outcomes) is added.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Settings.Draws, o.Settings.Seed = changed(cmd, "draws", draws), changed(cmd, "seed", seed)
			return runBalance(cmd.Context(), f, o)
		},
	}
	cmd.Flags().IntVar(&draws, "draws", 0, "randomization-inference draws (default: the protocol's ri_draws)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of the draws (default: the protocol's seed)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runBalance(ctx context.Context, f *factory, o BalanceOptions) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := plan.Load(ctx, s.DB, s.Protocol, nil)
	if errors.Is(err, plan.ErrNotRandomized) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	res, err := plan.Balance(d, f.settings(s.Protocol, o.Settings))
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	for _, b := range res.Contrasts {
		if err := printBalance(f, b, len(res.Contrasts) > 1); err != nil {
			return err
		}
	}
	if j := res.Across; j != nil {
		switch {
		case j.Test == nil:
			f.IO.Printf("%s.\n", j.Note)
		default:
			f.IO.Printf("Joint test across the %d groups (the indicators of every group but A on %s; HC2 Wald across the equations): F = %.3f on %g and %g df, p = %.3f",
				len(res.Groups), strings.Join(j.Variables, ", "), j.Test.F, j.Test.DF1, j.Test.DF2, j.Test.PValue)
			if j.RI != nil {
				f.IO.Printf("; randomization inference p = %.4f (%d draws of the design, seed %d, p = (c+1)/(B+1)).\n", *j.RI, res.Draws, res.Seed)
			} else {
				f.IO.Printf("; %s.\n", j.Note)
			}
		}
	}
	return nil
}

// printBalance prints one contrast's balance table and joint test; with
// several contrasts a line names the contrast first.
func printBalance(f *factory, res *plan.BalanceReport, several bool) error {
	g0, g1 := res.Groups[0], res.Groups[1]
	if several {
		fmt.Fprintf(f.IO.Out, "# contrast %s: group %s against group %s\n", res.Contrast, g1, g0)
	}
	t := f.IO.NewTable("variable", "n_"+g0, "mean_"+g0, "sd_"+g0, "n_"+g1, "mean_"+g1, "sd_"+g1, "difference", "normalized", "p_value")
	for _, r := range res.Rows {
		t.Row(r.Variable, fmt.Sprint(r.N0), fmt.Sprintf("%.3f", r.Mean0), fmt.Sprintf("%.3f", r.SD0), fmt.Sprint(r.N1),
			fmt.Sprintf("%.3f", r.Mean1), fmt.Sprintf("%.3f", r.SD1), fmt.Sprintf("%.3f", r.Diff), fmt.Sprintf("%.3f", r.NormDiff), fmt.Sprintf("%.3f", r.PValue))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if res.RowsNote != "" {
		f.IO.Printf("%s.\n", res.RowsNote)
	}
	switch {
	case res.Joint == nil:
		f.IO.Printf("%s.\n", res.JointNote)
	case res.JointRI == nil:
		f.IO.Printf("Joint test (group %s on %s; HC2 Wald): F = %.3f on %g and %g df, p = %.3f; %s.\n",
			g1, strings.Join(res.Variables, ", "), res.Joint.F, res.Joint.DF1, res.Joint.DF2, res.Joint.PValue, res.JointNote)
	default:
		f.IO.Printf("Joint test (group %s on %s; HC2 Wald): F = %.3f on %g and %g df, p = %.3f; randomization inference p = %.4f (%d draws of the design, seed %d, p = (c+1)/(B+1)).\n",
			g1, strings.Join(res.Variables, ", "), res.Joint.F, res.Joint.DF1, res.Joint.DF2, res.Joint.PValue, *res.JointRI, res.Draws, res.Seed)
	}
	if len(res.LeftOut) > 0 {
		f.IO.Printf("Left out of the joint test: %s.\n", strings.Join(res.LeftOut, "; "))
	}
	return nil
}
