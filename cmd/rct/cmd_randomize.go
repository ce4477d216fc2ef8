package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/randomize"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// RandomizeOptions are the inputs of `rct randomize`.
type RandomizeOptions struct {
	Families []string
	Pending  bool
	Key      string
	ShowArm  bool
	Protocol string
	JSON     bool
}

func newRandomizeCmd(f *factory) *cobra.Command {
	var o RandomizeOptions
	cmd := &cobra.Command{
		Use:   "randomize (CODE... | --family CODE,... | --pending) --key trial.key",
		Short: "Allocate enrolled families, concealed and reproducibly",
		Long: `Allocate enrolled families to groups, each the moment it is ready, never
again. The allocation key (--key) holds the seed of the sequence: without it
nobody can predict or re-create an allocation. Before allocating, the audit
chain is verified and every earlier allocation re-derived from the seed.

The output names group codes (A, B, ...). --show-arm also names the arms; that
showing is recorded in the audit chain. When the protocol says after_baseline,
--pending allocates only families whose baseline survey is in.

Families are named by study code, as arguments or with --family (repeated or
comma-separated); k-0001 is K-0001.`,
		Example: "  rct randomize K-0007 K-0008 --key trial.key\n  rct randomize --pending --key trial.key",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Families = trial.NormalizeCodes(append(o.Families, args...)) // blanks dropped
			if len(o.Families) == 0 && !o.Pending {
				return usagef("name the families with --family CODE, or give --pending")
			}
			if len(o.Families) > 0 && o.Pending {
				return usagef("give --family or --pending, not both")
			}
			return runRandomize(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringSliceVar(&o.Families, "family", nil, "study code(s) to randomize, in this order")
	cmd.Flags().BoolVar(&o.Pending, "pending", false, "randomize every enrolled family not yet randomized, in order of enrolment")
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file")
	cmd.Flags().BoolVar(&o.ShowArm, "show-arm", false, "also print the arms (recorded in the audit chain)")
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "protocol file to check against the one in force")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	cmd.AddCommand(newRandomizeCheckCmd(f), newRandomizeSimulateCmd(f))
	return cmd
}

func runRandomize(ctx context.Context, f *factory, o RandomizeOptions) error {
	s, err := f.open(ctx, need{protocol: o.Protocol, key: o.Key, keyFor: "randomizing"})
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := allocate(ctx, f, s, o)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	return printAllocations(f, res, o.ShowArm)
}

// allocate randomizes the families o names (or the pending ones) in a
// session holding the key, and says on stderr how many pending families
// wait for their baseline survey: what `rct randomize` and `rct enroll
// --randomize` do.
func allocate(ctx context.Context, f *factory, s *session, o RandomizeOptions) ([]trial.AllocationResult, error) {
	db, p := s.DB, s.Protocol
	res, err := db.Randomize(ctx, p, trial.RandomizeInput{Families: o.Families, Pending: o.Pending, Key: s.Key, Actor: s.Actor, ShowArms: o.ShowArm, Rand: f.Rand})
	if err != nil {
		return nil, err
	}
	if o.Pending {
		waiting, err := db.AwaitingBaseline(ctx, p)
		if err != nil {
			return nil, err
		}
		if waiting > 0 {
			f.IO.Printf("%d enrolled families wait for their baseline survey (%s): the protocol randomizes after baseline.\n", waiting, p.Waves[0].ID)
		}
	}
	if res == nil {
		res = []trial.AllocationResult{}
	}
	return res, nil
}

// printAllocations writes the allocations as a table, then how many.
func printAllocations(f *factory, res []trial.AllocationResult, showArm bool) error {
	head := []string{"slot", "study_code", "group", "stratum", "date"}
	if showArm {
		head = append(head, "arm")
	}
	t := f.IO.NewTable(head...)
	for _, r := range res {
		row := []string{strconv.Itoa(r.Slot), r.StudyCode, r.Group, r.Stratum, r.Date}
		if showArm {
			row = append(row, r.Arm)
		}
		t.Row(row...)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	f.IO.Printf("Randomized %d families.\n", len(res))
	return nil
}

// RandomizeCheckOptions are the inputs of `rct randomize check`.
type RandomizeCheckOptions struct {
	Protocol string
	JSON     bool
}

func newRandomizeCheckCmd(f *factory) *cobra.Command {
	var o RandomizeCheckOptions
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Counts by group overall, per stratum and per factor margin; the largest imbalance",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRandomizeCheck(cmd.Context(), f, o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "protocol file to check against the one in force")
	return cmd
}

func runRandomizeCheck(ctx context.Context, f *factory, o RandomizeCheckOptions) error {
	s, err := f.open(ctx, need{protocol: o.Protocol})
	if err != nil {
		return err
	}
	defer s.Close()
	b, err := s.DB.RandomizationBalance(ctx, s.Protocol)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(b)
	}
	t := f.IO.NewTable(append([]string{"level", "where"}, b.Groups...)...)
	row := func(level, where string, m map[string]int) {
		cells := []string{level, where}
		for _, g := range b.Groups {
			cells = append(cells, strconv.Itoa(m[g]))
		}
		t.Row(cells...)
	}
	row("overall", "all", b.Overall)
	for _, k := range sortedKeys(b.Margins) {
		row("margin", k, b.Margins[k])
	}
	for _, k := range sortedKeys(b.Strata) {
		row("stratum", k, b.Strata[k])
	}
	if err := t.Flush(); err != nil {
		return err
	}
	f.IO.Printf("Largest imbalance: %s (%s).\n", twoDecimals(b.MaxImbalance), b.Where)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SimulateDesignOptions are the inputs of `rct randomize simulate`.
type SimulateDesignOptions struct {
	Method   string
	N        int
	Reps     int
	Seed     uint64
	Protocol string
	JSON     bool
}

func newRandomizeSimulateCmd(f *factory) *cobra.Command {
	var o SimulateDesignOptions
	cmd := &cobra.Command{
		Use:   "simulate [--method M|all] [--n 112] [--reps 10000]",
		Short: "Before launch: how each method balances, and how guessable it is",
		Long: `Simulate the protocol's design (or --method, or all methods) over --reps trials
of --n families whose strata are drawn uniformly, and report the final
imbalance (mean, median, 95th percentile, maximum), the largest imbalance
within a stratum, the expected share of allocations guessed right by someone
who knows the past allocations (convergence strategy), and the share of
deterministic allocations. Parameters a method needs and the protocol lacks
take defaults: blocks of 1, 2 and 3 times the ratio's sum; minimization with
p = 0.8 and the range; big stick with a bound of 3. Needs no key and no
database when --protocol is given.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.N < 1 || o.Reps < 1 {
				return usagef("--n and --reps must be positive")
			}
			return runRandomizeSimulate(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Method, "method", "", "method to simulate (default: the protocol's), or all")
	cmd.Flags().IntVar(&o.N, "n", 112, "families per simulated trial")
	cmd.Flags().IntVar(&o.Reps, "reps", 10000, "simulated trials")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "seed of the simulation (not the trial's)")
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "protocol file (default: the trial database's)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runRandomizeSimulate(ctx context.Context, f *factory, o SimulateDesignOptions) error {
	p, err := f.protocolOf(ctx, o.Protocol)
	if err != nil {
		return err
	}
	groups := p.PlannedGroups()
	base := p.Design(groups)
	methods := []string{base.Method}
	switch o.Method {
	case "":
	case "all":
		methods = randomize.Methods
	default:
		methods = []string{o.Method}
	}
	seed := sha256.Sum256([]byte("rct randomize simulate\x00" + strconv.FormatUint(o.Seed, 10)))
	var out []randomize.Summary
	for _, m := range methods {
		d := base.WithMethod(m, o.N)
		if err := d.Validate(); err != nil {
			if o.Method == "all" {
				f.IO.Printf("%s: skipped (%v)\n", m, strings.TrimPrefix(err.Error(), "randomize: "))
				continue
			}
			return usagef("%s: %v", m, strings.TrimPrefix(err.Error(), "randomize: "))
		}
		s, err := randomize.Simulate(d, o.N, o.Reps, seed)
		if err != nil {
			return err
		}
		out = append(out, s)
	}
	if o.JSON {
		return f.IO.JSON(out)
	}
	t := f.IO.NewTable("method", "imbalance_mean", "p50", "p95", "max", "stratum_imbalance_mean", "stratum_max", "correct_guess", "deterministic")
	for _, s := range out {
		t.Row(s.Method, fmt.Sprintf("%.2f", s.ImbalanceMean), twoDecimals(s.ImbalanceP50), twoDecimals(s.ImbalanceP95),
			twoDecimals(s.ImbalanceMax), fmt.Sprintf("%.2f", s.StratumImbalanceMean), twoDecimals(s.StratumImbalanceMax),
			fmt.Sprintf("%.3f", s.CorrectGuess), fmt.Sprintf("%.3f", s.Deterministic))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	f.IO.Printf("%d simulated trials of %d families each; strata drawn uniformly.\n", o.Reps, o.N)
	return nil
}
