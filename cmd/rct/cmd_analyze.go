package main

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/rct-trials/rct/plan"
	"github.com/spf13/cobra"
)

// AnalyzeOptions are the inputs of `rct analyze`.
type AnalyzeOptions struct {
	Key      string
	Settings plan.Overrides
	JSON     bool
}

func newAnalyzeCmd(f *factory) *cobra.Command {
	var o AnalyzeOptions
	var draws int
	var seed uint64
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
Whatever cannot be estimated is said in the outcome's notes.

The draws, the seed and the other settings are the protocol's (analysis:)
unless a flag is given; 'rct balance' and 'rct report' take the same, so
they agree.

Without --key the groups are named by code (group A, group B, …): a blinded
analysis, each group compared with group A. With --key they are named by arm:
each arm minus the protocol's reference arm (analysis.reference, default the
last arm; every pair with analysis.contrasts: pairs), the complier effect and
the dose-response are estimated from the case managers' log (the protocol's
analysis.compliance), and the unblinded analysis is recorded in the audit
chain. With three arms or more each contrast gets its own table; the
p-values are adjusted over the contrasts as analysis.multiple_testing_contrasts
says.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Settings.Draws, o.Settings.Seed = changed(cmd, "draws", draws), changed(cmd, "seed", seed)
			return runAnalyze(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key: name the groups by arm and estimate the complier effect")
	cmd.Flags().IntVar(&draws, "draws", 0, "randomization-inference draws (default: the protocol's ri_draws)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of the draws and the bootstrap (default: the protocol's seed)")
	cmd.Flags().BoolVar(&o.Settings.Studentized, "studentized", false, "randomization inference on the Welch t statistic")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runAnalyze(ctx context.Context, f *factory, o AnalyzeOptions) error {
	s, err := f.open(ctx, need{key: o.Key, whole: true})
	if err != nil {
		return err
	}
	defer s.Close()
	k, err := s.keyed(ctx, "unblinded analysis")
	if err != nil {
		return err
	}
	a, err := plan.Analyze(ctx, s.DB, s.Protocol, f.settings(s.Protocol, o.Settings), k)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(a)
	}
	printAnalysis(f, a)
	return nil
}

func printAnalysis(f *factory, a *plan.Analysis) {
	printOutcomes(f, a)
	for _, c := range a.Contrasts {
		printContrast(f, a, c)
	}
	f.IO.Printf("%d randomized families.\n", a.Families)
	f.IO.Printf("Model: %s.\n", a.Model)
	f.IO.Printf("Randomization inference: %s.\n", a.RIConvention)
	scope := "within each outcome family"
	if len(a.Contrasts) > 1 {
		scope = "within each outcome family, over every contrast"
		if a.MultipleScope == "separate" {
			scope = "within each outcome family and contrast"
		}
	}
	f.IO.Printf("Multiple testing: %s %s; q-values: Benjamini-Krieger-Yekutieli sharpened.\n", a.MultipleTesting, scope)
	if j := a.Across; j != nil {
		if j.Test != nil {
			f.IO.Printf("Balance across the %d groups: joint F = %s on %g and %g df, p = %s", len(a.Groups), g(j.Test.F), j.Test.DF1, j.Test.DF2, g(j.Test.PValue))
			if j.RI != nil {
				f.IO.Printf(", randomization inference p = %s", g(*j.RI))
			}
			f.IO.Printf(".\n")
		}
		if j.Note != "" {
			f.IO.Printf("Balance across the groups: %s.\n", j.Note)
		}
	}
	for _, n := range a.Notes {
		f.IO.Printf("Note: %s.\n", n)
	}
}

// printOutcomes prints the table of every outcome: with two groups the
// columns name them; with more, a row per contrast and outcome, the
// contrast's id first, its reference and arm in the columns.
func printOutcomes(f *factory, a *plan.Analysis) {
	several := len(a.Contrasts) > 1
	g0, g1 := "reference", "arm"
	if !several {
		g0, g1 = a.Contrasts[0].Names[0], a.Contrasts[0].Names[1]
	}
	head := []string{"outcome", "wave", "family", "n " + g0, "mean " + g0, "n " + g1, "mean " + g1, "estimate", "std_error", "df", "conf_low", "conf_high", "p", "ri_p", "p_adjusted", "q", "risk_ratio", "note"}
	if several {
		head = append([]string{"contrast"}, head...)
	}
	t := f.IO.NewTable(head...)
	num := func(v float64) string { return g(v) }
	for _, c := range a.Contrasts {
		for _, r := range c.Outcomes {
			row := []string{r.Outcome, r.Wave, r.Family, fmt.Sprint(r.N[0]), num(r.Mean[0]), fmt.Sprint(r.N[1]), num(r.Mean[1])}
			if several {
				row = append([]string{c.ID}, row...)
			}
			if e := r.Estimate; e != nil {
				row = append(row, num(e.Estimate), num(e.StdError), num(e.DF), num(e.ConfLow), num(e.ConfHigh), num(e.PValue))
			} else {
				row = append(row, "", "", "", "", "", "")
			}
			rr := ""
			if r.RiskRatio != nil {
				rr = fmt.Sprintf("%s [%s, %s]", g(r.RiskRatio.Estimate), g(r.RiskRatio.ConfLow), g(r.RiskRatio.ConfHigh))
			}
			row = append(row, optG(r.RIP), optG(r.PAdjusted), optG(r.Q), rr, r.Note())
			t.Row(row...)
		}
	}
	t.Flush()
}

func optG(v *float64) string {
	if v == nil {
		return ""
	}
	return g(*v)
}

// printContrast prints, on stderr, what one contrast says besides its
// table: attrition, Lee bounds, subgroups, the complier effect, the
// dose-response and balance.
func printContrast(f *factory, a *plan.Analysis, c *plan.ContrastResult) {
	g0, g1 := c.Names[0], c.Names[1]
	opt := optG
	f.IO.Printf("Contrast: %s. %d families in its two groups.\n", c.Label, c.Families)
	for _, w := range c.Attrition {
		worst, worstND := "", 0.0
		for _, r := range w.Balance {
			if worst == "" || math.Abs(r.NormDiff) > math.Abs(worstND) {
				worst, worstND = r.Variable, r.NormDiff
			}
		}
		f.IO.Printf("Attrition %s: responded %d of %d (%s) and %d of %d (%s); difference p = %s; among respondents the largest normalized baseline difference is %s (%s).\n", w.Wave,
			w.Test.Responded0, w.Test.N0, g0, w.Test.Responded1, w.Test.N1, g1, g(w.Test.Test.PValue), g(worstND), worst)
	}
	for _, r := range c.Outcomes {
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
	if b := c.Balance; b != nil && b.Joint != nil {
		f.IO.Printf("Balance: joint F = %s, p = %s", g(b.Joint.F), g(b.Joint.PValue))
		if b.JointRI != nil {
			f.IO.Printf(", randomization inference p = %s", g(*b.JointRI))
		}
		f.IO.Printf(".\n")
	}
}
