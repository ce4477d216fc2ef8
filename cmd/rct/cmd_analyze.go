package main

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/rct-trials/rct/frame"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// AnalyzeOptions are the inputs of `rct analyze`.
type AnalyzeOptions struct {
	Key         string
	Draws       int
	Seed        uint64
	Studentized bool
	JSON        bool
}

func newAnalyzeCmd(f *factory) *cobra.Command {
	var o AnalyzeOptions
	cmd := &cobra.Command{
		Use:   "analyze [--key trial.key] [--draws 10000] [--json]",
		Short: "Effects on every protocol outcome at every wave (blinded by group code without the key)",
		Long: `Estimate every outcome of the protocol at every wave from the trial database:
N, mean and SD per group; the adjusted effect (OLS of the outcome on the
assignment, the strata and the outcome's baseline, with the protocol's
standard errors); the unadjusted difference in means; the randomization-
inference p-value from --draws re-runs of the trial's own design
(p = (c+1)/(B+1), two-sided); p-values adjusted within each outcome family
(the protocol's method) and sharpened q-values; risk ratios for binary
outcomes; Lee bounds for primary outcomes; attrition per wave and balance.

Without --key the groups are named by code (group A, group B): a blinded
analysis. With --key they are named by arm (the contrast is the protocol's
first arm minus its second), the complier effect is estimated (intervention
received = guidance accepted in the case managers' log), and the unblinded
analysis is recorded in the audit chain.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyze(cmd.Context(), f, cmd, o)
		},
	}
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key: name the groups by arm and estimate the complier effect")
	cmd.Flags().IntVar(&o.Draws, "draws", 0, "randomization-inference draws (default: the protocol's ri_draws)")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "seed of the draws")
	cmd.Flags().BoolVar(&o.Studentized, "studentized", false, "randomization inference on the Welch t statistic")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runAnalyze(ctx context.Context, f *factory, cmd *cobra.Command, o AnalyzeOptions) error {
	db, p, err := openTrial(ctx, f, cmd, "")
	if err != nil {
		return err
	}
	defer db.Close()
	a, _, err := analyzeTrial(ctx, f, db, p, o.Key, frame.AnalyzeOptions{Draws: o.Draws, Seed: o.Seed, Studentized: o.Studentized})
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(a)
	}
	printAnalysis(f, a)
	return nil
}

// analyzeTrial runs the analysis, unblinded when a key file is given
// (then it returns the arms by group code too).
func analyzeTrial(ctx context.Context, f *factory, db *trial.DB, p *trial.Protocol, keyPath string, opts frame.AnalyzeOptions) (*frame.Analysis, map[string]string, error) {
	key, err := optionalKey(ctx, db, keyPath)
	if err != nil {
		return nil, nil, err
	}
	if key != nil {
		if opts.Arms, err = armsOf(ctx, f, db, p, key); err != nil {
			return nil, nil, err
		}
	}
	a, err := frame.Analyze(ctx, db, p, opts)
	return a, opts.Arms, err
}

// armsOf unseals which group code is which arm; the unsealing is
// recorded in the audit chain (an export with arms).
func armsOf(ctx context.Context, f *factory, db *trial.DB, p *trial.Protocol, key *trial.AllocationKey) (map[string]string, error) {
	rows, err := db.AllocationList(ctx, p, key, "", f.actor())
	if err != nil {
		return nil, err
	}
	arms := map[string]string{}
	for _, r := range rows {
		arms[r.Group] = r.Arm
	}
	return arms, nil
}

func printAnalysis(f *factory, a *frame.Analysis) {
	g0, g1 := a.Groups[0], a.Groups[1]
	t := f.IO.NewTable("outcome", "wave", "family", "n "+g0, "mean "+g0, "n "+g1, "mean "+g1, "estimate", "std_error", "df", "conf_low", "conf_high", "p", "ri_p", "p_adjusted", "q", "risk_ratio", "note")
	num := func(v float64) string { return g(v) }
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return g(*v)
	}
	for _, r := range a.Outcomes {
		row := []string{r.Outcome, r.Wave, r.Family, fmt.Sprint(r.N[0]), num(r.Mean[0]), fmt.Sprint(r.N[1]), num(r.Mean[1])}
		if e := r.Estimate; e != nil {
			row = append(row, num(e.Estimate), num(e.StdError), num(e.DF), num(e.ConfLow), num(e.ConfHigh), num(e.PValue))
		} else {
			row = append(row, "", "", "", "", "", "")
		}
		rr := ""
		if r.RiskRatio != nil {
			rr = fmt.Sprintf("%s [%s, %s]", g(r.RiskRatio.Estimate), g(r.RiskRatio.ConfLow), g(r.RiskRatio.ConfHigh))
		}
		row = append(row, opt(r.RIP), opt(r.PAdjusted), opt(r.Q), rr, r.Note)
		t.Row(row...)
	}
	t.Flush()
	f.IO.Printf("Contrast: %s. %d randomized families.\n", a.Contrast, a.Families)
	f.IO.Printf("Model: %s.\n", a.Model)
	f.IO.Printf("Randomization inference: %s.\n", a.RIConvention)
	f.IO.Printf("Multiple testing: %s within each outcome family; q-values: Benjamini-Krieger-Yekutieli sharpened.\n", a.MultipleTesting)
	for _, w := range a.Attrition {
		worst, worstND := "", 0.0
		for _, r := range w.Balance {
			if worst == "" || math.Abs(r.NormDiff) > math.Abs(worstND) {
				worst, worstND = r.Variable, r.NormDiff
			}
		}
		f.IO.Printf("Attrition %s: responded %d of %d (%s) and %d of %d (%s); difference p = %s; among respondents the largest normalized baseline difference is %s (%s).\n", w.Wave,
			w.Test.Responded0, w.Test.N0, g0, w.Test.Responded1, w.Test.N1, g1, g(w.Test.Test.PValue), g(worstND), worst)
	}
	for _, r := range a.Outcomes {
		if r.Lee != nil {
			f.IO.Printf("Lee bounds %s %s: [%s, %s] (%s trimmed by %s)", r.Outcome, r.Wave, g(r.Lee.Lower), g(r.Lee.Upper), r.Lee.Trimmed, g(r.Lee.Trim))
			if r.ImbensManski != nil {
				f.IO.Printf("; Imbens-Manski %g%% interval [%s, %s]", 100*(1-a.Alpha), g(r.ImbensManski[0]), g(r.ImbensManski[1]))
			}
			f.IO.Printf(".\n")
		}
		for _, sg := range r.Subgroups {
			var parts []string
			for _, e := range sg.Result.Effects {
				parts = append(parts, fmt.Sprintf("%s %s [%s, %s] (n %d)", e.Subgroup, g(e.Estimate), g(e.ConfLow), g(e.ConfHigh), e.N))
			}
			f.IO.Printf("Subgroups %s %s by %s: %s; interaction F = %s, p = %s.\n", r.Outcome, r.Wave, sg.Variable, strings.Join(parts, "; "),
				g(sg.Result.Interaction.F), g(sg.Result.Interaction.PValue))
		}
		if r.Dose != nil {
			f.IO.Printf("Dose-response %s %s (non-experimental, within the intervention group): %s per contact [%s, %s], n %d.\n",
				r.Outcome, r.Wave, g(r.Dose.Estimate), g(r.Dose.ConfLow), g(r.Dose.ConfHigh), r.Dose.N)
		}
		if r.CACE != nil {
			f.IO.Printf("Complier effect %s %s: %s [%s, %s], compliance %s.\n", r.Outcome, r.Wave, g(r.CACE.Estimate), g(r.CACE.ConfLow), g(r.CACE.ConfHigh), opt(r.ComplianceRate))
		}
	}
	if a.Balance != nil && a.Balance.Joint != nil {
		f.IO.Printf("Balance: joint F = %s, p = %s.\n", g(a.Balance.Joint.F), g(a.Balance.Joint.PValue))
	}
}
