package main

import (
	"fmt"
	"strings"

	"github.com/rct-trials/rct/frame"
	"github.com/spf13/cobra"
)

func newBalanceCmd(f *factory) *cobra.Command {
	var draws int
	var seed uint64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "balance [--draws 10000]",
		Short: "Baseline balance of the randomized groups (by group code: blinded)",
		Long: `Compare the randomized groups on what is known at enrolment (weak on each
domain of the index, the number of weak domains, the strata): mean and SD per
group, difference, normalized difference, Welch p-value; and a joint test (the
group regressed on the covariates, HC2 Wald F) with its randomization-inference
p-value from --draws re-runs of the trial's own design. Groups are named by
code: no key, no arms.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, p, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			b, err := frame.LoadBaseline(ctx, db, p)
			if err != nil {
				return usageError{err}
			}
			res, err := b.Balance(draws, seed)
			if err != nil {
				return err
			}
			if asJSON {
				return f.IO.JSON(res)
			}
			g0, g1 := res.Groups[0], res.Groups[1]
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
				f.IO.Printf("Joint test (group %s on %s; HC2 Wald): F = %.3f on %g and %g df, p = %.3f; randomization inference p = %.4f (%d draws of the design, p = (c+1)/(B+1)).\n",
					g1, strings.Join(res.Variables, ", "), res.Joint.F, res.Joint.DF1, res.Joint.DF2, res.Joint.PValue, *res.JointRI, draws)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&draws, "draws", 10000, "randomization-inference draws")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the draws")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
