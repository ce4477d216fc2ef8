package main

import (
	"fmt"
	"strings"

	"github.com/rct-trials/rct/analysis"
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
			rows, err := analysis.Balance(b.Z, b.Covs)
			if err != nil {
				return err
			}
			// The joint test: covariates that vary, without the count of
			// weak domains (the sum of the flags).
			var joint []analysis.Column
			for _, c := range b.Covs {
				if c.Name != "weak_domains" && varies(c.Values) {
					joint = append(joint, c)
				}
			}
			type result struct {
				Groups    [2]string             `json:"groups"` // z = 0, z = 1
				Rows      []analysis.BalanceRow `json:"rows"`
				Joint     *analysis.WaldTest    `json:"joint"`
				JointRI   *float64              `json:"joint_ri_p_value"`
				JointNote string                `json:"joint_note,omitempty"`
				Draws     int                   `json:"draws"`
				Variables []string              `json:"joint_variables"`
			}
			res := result{Groups: [2]string{b.Groups[0].Code, b.Groups[1].Code}, Rows: rows, Draws: draws}
			for _, c := range joint {
				res.Variables = append(res.Variables, c.Name)
			}
			if w, err := analysis.JointBalance(b.Z, joint, analysis.HC2); err != nil {
				// Too few families for the covariates, or collinear ones: the
				// table stands, the joint test cannot be computed.
				res.JointNote = "no joint test: " + err.Error()
			} else {
				ri, err := analysis.RandomizationTest(len(b.Z), analysis.JointBalanceStatistic(joint, analysis.HC2), b.Draw, b.Z, analysis.RIOptions{Draws: draws, Seed: seed})
				if err != nil {
					res.JointNote = "no randomization-inference p-value: " + err.Error()
				} else {
					res.JointRI = &ri.PValue
				}
				res.Joint = &w
			}
			if asJSON {
				return f.IO.JSON(res)
			}
			g0, g1 := res.Groups[0], res.Groups[1]
			t := f.IO.NewTable("variable", "n_"+g0, "mean_"+g0, "sd_"+g0, "n_"+g1, "mean_"+g1, "sd_"+g1, "difference", "normalized", "p_value")
			for _, r := range rows {
				t.Row(r.Variable, fmt.Sprint(r.N0), fmt.Sprintf("%.3f", r.Mean0), fmt.Sprintf("%.3f", r.SD0), fmt.Sprint(r.N1),
					fmt.Sprintf("%.3f", r.Mean1), fmt.Sprintf("%.3f", r.SD1), fmt.Sprintf("%.3f", r.Diff), fmt.Sprintf("%.3f", r.NormDiff), fmt.Sprintf("%.3f", r.PValue))
			}
			if err := t.Flush(); err != nil {
				return err
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

func varies(x []float64) bool {
	for _, v := range x {
		if v != x[0] {
			return true
		}
	}
	return false
}
