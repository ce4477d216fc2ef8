package main

import (
	"fmt"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/frame"
	"github.com/spf13/cobra"
)

// PowerOptions are the inputs of `rct power`.
type PowerOptions struct {
	N, Delta, SD, Power, P1, P2, Alpha, Attrition float64
	Simulate                                      bool
	Reps                                          int
	Seed                                          uint64
	Protocol                                      string
	JSON                                          bool
}

func newPowerCmd(f *factory) *cobra.Command {
	var o PowerOptions
	cmd := &cobra.Command{
		Use:   "power [--n N] [--delta D --sd S | --p1 P --p2 Q] [--power P] [--simulate]",
		Short: "Power, sample size or minimum detectable effect, analytic or by simulating the design",
		Long: `Leave one of --n, --delta and --power out and rct computes it:

  continuous outcomes (--delta, --sd): the two-sided two-sample t test, as R's
    power.t.test; --n is per group
  binary outcomes (--p1, --p2): power.prop.test and pwr.2p.test (Cohen's h);
    leave --power out for power, --n out for the sample size per group

--simulate re-runs the protocol's own randomization design (strata drawn
uniformly) for --reps trials of --n families in all, with outcomes normal
(--delta, --sd) and each family lost with probability --attrition, and
reports the share of trials where the difference in means rejects.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			set := func(name string) bool { return cmd.Flags().Changed(name) }
			type row struct {
				Quantity string  `json:"quantity"`
				Method   string  `json:"method"`
				Value    float64 `json:"value"`
				MCError  float64 `json:"mc_error,omitempty"`
			}
			var out []row
			switch {
			case o.Simulate:
				if !set("n") || !set("delta") || !set("sd") {
					return usagef("--simulate needs --n (all families), --delta and --sd")
				}
				p, closeDB, err := protocolFor(cmd.Context(), f, cmd, o.Protocol)
				if err != nil {
					return err
				}
				defer closeDB()
				d := p.Design(p.PlannedGroups()).WithMethod(p.Randomization.Method, int(o.N))
				draw, err := frame.PlannedDraw(d, int(o.N), o.Seed)
				if err != nil {
					return usageError{err}
				}
				n := int(o.N)
				pw, se, err := analysis.SimulatePower(draw, analysis.PowerSimOptions{N: n, Effect: o.Delta, SD: o.SD, Attrition: o.Attrition, Alpha: o.Alpha, Reps: o.Reps, Seed: o.Seed})
				if err != nil {
					return err
				}
				out = append(out, row{"power", fmt.Sprintf("simulated %s design, %d trials of %d families, attrition %g", d.Method, o.Reps, n, o.Attrition), pw, se})
			case set("p1") || set("p2"):
				if !set("p1") || !set("p2") {
					return usagef("give both --p1 and --p2")
				}
				h := analysis.CohenH(o.P1, o.P2)
				switch {
				case set("n") && !set("power"):
					out = append(out, row{"power", "power.prop.test", analysis.PowerProp(o.N, o.P1, o.P2, o.Alpha), 0},
						row{"power", "pwr.2p.test (Cohen's h)", analysis.Power2P(h, o.N, o.Alpha), 0})
				case set("power") && !set("n"):
					out = append(out, row{"n per group", "pwr.2p.test (Cohen's h)", analysis.SampleSize2P(h, o.Power, o.Alpha), 0})
				default:
					return usagef("for proportions give --n (for power) or --power (for n)")
				}
			default:
				if !set("sd") {
					return usagef("give --sd (continuous outcome) or --p1 and --p2 (binary outcome)")
				}
				switch {
				case set("n") && set("delta") && !set("power"):
					out = append(out, row{"power", "power.t.test", analysis.PowerT(o.N, o.Delta, o.SD, o.Alpha), 0})
				case set("power") && set("delta") && !set("n"):
					n, err := analysis.SampleSizeT(o.Power, o.Delta, o.SD, o.Alpha)
					if err != nil {
						return usagef("%v", err)
					}
					out = append(out, row{"n per group", "power.t.test", n, 0})
				case set("n") && set("power") && !set("delta"):
					d, err := analysis.MDET(o.N, o.Power, o.SD, o.Alpha)
					if err != nil {
						return usagef("%v", err)
					}
					out = append(out, row{"minimum detectable difference", "power.t.test", d, 0})
				default:
					return usagef("give two of --n, --delta, --power (with --sd)")
				}
			}
			if o.JSON {
				return f.IO.JSON(out)
			}
			t := f.IO.NewTable("quantity", "method", "value", "mc_error")
			for _, r := range out {
				mc := ""
				if r.MCError > 0 {
					mc = g(r.MCError)
				}
				t.Row(r.Quantity, r.Method, g(r.Value), mc)
			}
			return t.Flush()
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&o.N, "n", 0, "families per group (analytic) or in all (--simulate)")
	fl.Float64Var(&o.Delta, "delta", 0, "true difference in means")
	fl.Float64Var(&o.SD, "sd", 0, "standard deviation of the outcome")
	fl.Float64Var(&o.Power, "power", 0, "target power")
	fl.Float64Var(&o.P1, "p1", 0, "proportion in one group")
	fl.Float64Var(&o.P2, "p2", 0, "proportion in the other")
	fl.Float64Var(&o.Alpha, "alpha", 0.05, "significance level")
	fl.BoolVar(&o.Simulate, "simulate", false, "simulate the protocol's design")
	fl.Float64Var(&o.Attrition, "attrition", 0, "--simulate: share of families lost")
	fl.IntVar(&o.Reps, "reps", 2000, "--simulate: simulated trials")
	fl.Uint64Var(&o.Seed, "seed", 1, "--simulate: seed")
	fl.StringVar(&o.Protocol, "protocol", "", "--simulate: protocol file (default: the trial database's)")
	fl.BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}
