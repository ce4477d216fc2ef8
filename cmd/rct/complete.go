package main

import (
	"context"
	"strings"

	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/reports"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// completer gives shell completion its values: a flag's or an argument's
// candidates, read from the protocol and the database in force.
type completer = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// fromTrial completes from the trial: the database is opened read-only (a
// completion never migrates or writes), nothing when there is none.
func (f *factory) fromTrial(list func(ctx context.Context, db *trial.DB, p *trial.Protocol) []string) completer {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		db, err := trial.OpenReadOnly(ctx, f.dbPath())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer db.Close()
		p, _, err := db.Protocol(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return withPrefix(list(ctx, db, p), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// fixed completes from a fixed list.
func fixed(values ...string) completer {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return withPrefix(values, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// withPrefix keeps the values that start with what is typed (in any case:
// k-00 finds K-0001); after a comma, the last item.
func withPrefix(values []string, typed string) []string {
	done, last := "", typed
	if i := strings.LastIndex(typed, ","); i >= 0 {
		done, last = typed[:i+1], typed[i+1:]
	}
	var out []string
	for _, v := range values {
		if strings.HasPrefix(strings.ToUpper(v), strings.ToUpper(last)) {
			out = append(out, done+v)
		}
	}
	return out
}

func waves(_ context.Context, _ *trial.DB, p *trial.Protocol) []string {
	var out []string
	for _, w := range p.Waves {
		out = append(out, w.ID)
	}
	return append(out, survey.CaseLog)
}

func arms(_ context.Context, _ *trial.DB, p *trial.Protocol) []string {
	var out []string
	for _, a := range p.Arms {
		out = append(out, a.ID)
	}
	return out
}

func registers(_ context.Context, _ *trial.DB, p *trial.Protocol) []string {
	var out []string
	for _, r := range p.Registers {
		out = append(out, r.ID)
	}
	return out
}

// families lists study codes: every enrolled family, or only those not
// yet randomized (randomize) or randomized (withdraw, unblind).
func families(randomized *bool) func(ctx context.Context, db *trial.DB, _ *trial.Protocol) []string {
	return func(ctx context.Context, db *trial.DB, _ *trial.Protocol) []string {
		ms, _ := db.Members(ctx)
		var out []string
		for _, m := range ms {
			if randomized == nil || *randomized == (m.RandomizedOn != "") {
				out = append(out, m.StudyCode)
			}
		}
		return out
	}
}

func labelLanguages(ctx context.Context, db *trial.DB, p *trial.Protocol) []string {
	cb, _, err := survey.Current(ctx, db, p)
	if err != nil {
		return nil
	}
	return cb.Languages
}

// complete gives every command's flags (and randomize's arguments) their
// values for shell completion: waves, families, arms, registers, label
// languages from the trial; the report's languages, SE types and
// estimators from rct itself.
func (f *factory) complete(root *cobra.Command) {
	yes, no := true, false
	byFlag := map[string]completer{
		"wave": f.fromTrial(waves), "arm": f.fromTrial(arms), "register": f.fromTrial(registers),
		"family": f.fromTrial(families(&yes)), "families": f.fromTrial(families(nil)),
		"lang": f.fromTrial(labelLanguages), "se": fixed(analysis.SETypes...), "estimator": fixed("dim", "ols", "lin", "iv"),
	}
	special := map[string]map[string]completer{
		"rct report":         {"lang": fixed(reports.Languages...)},
		"rct randomize":      {"family": f.fromTrial(families(&no))},
		"rct survey history": {"family": f.fromTrial(families(nil))},
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, fn := range byFlag {
			if c.LocalFlags().Lookup(name) == nil {
				continue
			}
			if s, ok := special[c.CommandPath()][name]; ok {
				fn = s
			}
			_ = c.RegisterFlagCompletionFunc(name, fn)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if r, _, err := root.Find([]string{"randomize"}); err == nil {
		r.ValidArgsFunction = f.fromTrial(families(&no))
	}
}
