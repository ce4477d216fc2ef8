package main

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// PowerOptions are the inputs of `rct power`.
type PowerOptions struct {
	Query    plan.PowerQuery
	Protocol string
	JSON     bool
}

func newPowerCmd(f *factory) *cobra.Command {
	var o PowerOptions
	var n, delta, sd, power, p1, p2 float64
	var ratio string
	cmd := &cobra.Command{
		Use:   "power [--n N] [--delta D --sd S | --p1 P --p2 Q] [--power P] [--simulate]",
		Short: "Power, sample size or minimum detectable effect, analytic or by simulating the design",
		Long: `Leave one of --n, --delta and --power out and rct computes it:

  continuous outcomes (--delta, --sd): the two-sided two-sample t test, as R's
    power.t.test; --n is per group
  binary outcomes (--p1, --p2): power.prop.test and pwr.2p.test (Cohen's h);
    leave --power out for power, --n out for the sample size per group

With --ratio 2:1 (or 2:1:1, a part per arm, the reference arm last) or
--protocol FILE (its ratio, arms and analysis.reference), the groups are
unequal: --n is the families in all, and each arm is compared with the
reference arm in groups of n·part/sum (pwr.t2n.test, pwr.2p2n.test; --p1 is
the arm's proportion, --p2 the reference's). Leaving --n out gives the
families in all each contrast needs, and the largest of them.

--simulate re-runs the protocol's own randomization design (strata drawn
uniformly) for --reps trials of --n families in all, with outcomes normal
(--delta, --sd) and each family lost with probability --attrition, and
reports the share of trials where the difference in means rejects.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := &o.Query
			q.N, q.Delta, q.SD = changed(cmd, "n", n), changed(cmd, "delta", delta), changed(cmd, "sd", sd)
			q.Power, q.P1, q.P2 = changed(cmd, "power", power), changed(cmd, "p1", p1), changed(cmd, "p2", p2)
			if ratio != "" {
				parts := strings.Split(ratio, ":")
				for _, x := range parts {
					v, err := strconv.Atoi(strings.TrimSpace(x))
					if err != nil || v < 1 || len(parts) < 2 {
						return usagef("--ratio %q: a whole number of at least 1 per arm, as 2:1 or 2:1:1", ratio)
					}
					q.Ratio = append(q.Ratio, v)
				}
				q.Reference = len(q.Ratio) - 1
			}
			return runPower(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&n, "n", 0, "families per group (analytic) or in all (--simulate)")
	fl.Float64Var(&delta, "delta", 0, "true difference in means")
	fl.Float64Var(&sd, "sd", 0, "standard deviation of the outcome")
	fl.Float64Var(&power, "power", 0, "target power")
	fl.Float64Var(&p1, "p1", 0, "proportion in one group")
	fl.Float64Var(&p2, "p2", 0, "proportion in the other")
	fl.Float64Var(&o.Query.Alpha, "alpha", 0.05, "significance level")
	fl.BoolVar(&o.Query.Simulate, "simulate", false, "simulate the protocol's design")
	fl.Float64Var(&o.Query.Attrition, "attrition", 0, "--simulate: share of families lost")
	fl.IntVar(&o.Query.Reps, "reps", 2000, "--simulate: simulated trials")
	fl.Uint64Var(&o.Query.Seed, "seed", 1, "--simulate: seed")
	fl.StringVar(&ratio, "ratio", "", "unequal groups: a part per arm, the reference last (2:1, 2:1:1); --n is then in all")
	fl.StringVar(&o.Protocol, "protocol", "", "protocol file: its ratio and arms (analytic); its design (--simulate, default: the trial database's)")
	fl.BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runPower(ctx context.Context, f *factory, o PowerOptions) error {
	if o.Protocol != "" && !o.Query.Simulate && len(o.Query.Ratio) == 0 {
		p, err := f.protocolOf(ctx, o.Protocol)
		if err != nil {
			return err
		}
		o.Query.Ratio, o.Query.Arms = p.Ratio(), p.ArmIDs()
		for i, a := range p.Arms {
			if a.ID == p.ReferenceArm().ID {
				o.Query.Reference = i
			}
		}
	}
	out, err := plan.Power(o.Query, func() (*trial.Protocol, error) { return f.protocolOf(ctx, o.Protocol) })
	if errors.Is(err, plan.ErrPowerQuery) {
		return usageError{err}
	}
	if err != nil {
		return err
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
}
