package main

import (
	"context"

	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// InitOptions are the inputs of `rct init`.
type InitOptions struct {
	Protocol  string
	DB        string
	Key       string
	PseudoKey string
	JSON      bool
}

func newInitCmd(f *factory) *cobra.Command {
	var o InitOptions
	cmd := &cobra.Command{
		Use:   "init --protocol FILE [--db trial.db]",
		Short: "Create the trial database and its two key files",
		Long: `Create a trial from a protocol file: the database (--db) and two secrets
in separate files, readable only by you (mode 0600):

  trial.key         the allocation key: the randomization seed and the key that
                    seals the arms. Whoever holds it can unblind. Keep it apart.
  trial.pseudo.key  the pseudonymisation key: turns national numbers into
                    pseudonyms; needed to enrol and to import registers.

The key files are named after the database unless --key / --pseudo-key say
otherwise. rct init never overwrites any of the three files.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.DB = f.dbPath()
			if o.Protocol == "" {
				return usagef("give the protocol file with --protocol (write one with 'rct protocol example > trial.yaml')")
			}
			if o.Key == "" {
				o.Key = siblingPath(o.DB, ".key")
			}
			if o.PseudoKey == "" {
				o.PseudoKey = siblingPath(o.DB, ".pseudo.key")
			}
			return runInit(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "protocol file (YAML)")
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file to create (default: beside the database, .key)")
	cmd.Flags().StringVar(&o.PseudoKey, "pseudo-key", "", "pseudonymisation key file to create (default: beside the database, .pseudo.key)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the result as JSON")
	return cmd
}

func runInit(ctx context.Context, f *factory, o InitOptions) error {
	p, err := readProtocol(o.Protocol)
	if err != nil {
		return err
	}
	res, err := trial.Init(ctx, trial.InitOptions{
		Protocol: p, ProtocolPath: o.Protocol, DBPath: o.DB, KeyPath: o.Key, PseudoKeyPath: o.PseudoKey, Actor: f.actor(), Rand: f.Rand,
	})
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	t := f.IO.NewTable("item", "value")
	t.Row("trial", res.TrialID)
	t.Row("database", res.DB)
	t.Row("allocation key", res.Key)
	t.Row("pseudonymisation key", res.PseudoKey)
	t.Row("protocol sha256", res.ProtocolSHA256)
	t.Row("seed commitment", res.SeedCommitment)
	if err := t.Flush(); err != nil {
		return err
	}
	f.IO.Printf("Created trial %s. Publish the seed commitment with the trial registration.\n", res.TrialID)
	f.IO.Printf("Keep %s away from the database and from blinded staff: it unblinds the trial.\n", res.Key)
	for _, w := range p.Warnings() {
		f.IO.Printf("warning: %s\n", w)
	}
	return nil
}
