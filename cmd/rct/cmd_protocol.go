package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

func newProtocolCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "protocol",
		Short: "Write, check and amend the protocol file",
	}
	var codebook string
	example := &cobra.Command{
		Use:   "example [--codebook FILE]",
		Short: "Print a commented protocol modelled on the MISSION trial",
		Long: `Print a commented protocol modelled on the MISSION trial. --codebook FILE
also writes the matching example codebook (the questionnaires of its waves
and the case managers' activity log); it is what 'rct codebook example' prints.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if codebook != "" {
				if err := refuseOverwrite(codebook, false); err != nil {
					return err
				}
				if err := os.WriteFile(codebook, survey.ExampleCodebook(), 0o644); err != nil {
					return err
				}
			}
			_, err := f.IO.Out.Write(trial.ExampleProtocol())
			return err
		},
	}
	example.Flags().StringVar(&codebook, "codebook", "", "also write the matching example codebook to this file")
	cmd.AddCommand(
		example,
		&cobra.Command{
			Use:   "check FILE",
			Short: "Report every problem in a protocol file, with its line number",
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				p, err := readProtocol(args[0])
				if err != nil {
					return err
				}
				f.IO.Printf("%s: protocol of trial %s is valid (%d arms, method %s, %d waves, %d outcomes; sha256 %s)\n",
					args[0], p.Trial.ID, len(p.Arms), p.Randomization.Method, len(p.Waves), len(p.Outcomes), p.SHA256())
				return nil
			},
		},
		newAmendCmd(f),
		newAmendmentsCmd(f),
	)
	return cmd
}

// AmendOptions are the inputs of `rct protocol amend`.
type AmendOptions struct {
	Protocol string
	Reason   string
	JSON     bool
}

func newAmendCmd(f *factory) *cobra.Command {
	var o AmendOptions
	cmd := &cobra.Command{
		Use:   "amend --protocol FILE --reason TEXT",
		Short: "Record a changed protocol file as the next numbered amendment",
		Long: `Record a changed protocol file as the next numbered amendment, with who,
when and why. Once randomization has started, arms, ratio, method and strata
cannot change; the trial id and study-code prefix never change.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Protocol == "" || o.Reason == "" {
				return usagef("give --protocol FILE and --reason TEXT")
			}
			return runAmend(cmd.Context(), f, cmd, o)
		},
	}
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "the changed protocol file")
	cmd.Flags().StringVar(&o.Reason, "reason", "", "why the protocol changes")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the result as JSON")
	return cmd
}

func runAmend(ctx context.Context, f *factory, cmd *cobra.Command, o AmendOptions) error {
	p, err := readProtocol(o.Protocol)
	if err != nil {
		return err
	}
	db, err := trial.Open(ctx, dbPath(f, cmd))
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Amend(ctx, o.Protocol, p, o.Reason, f.actor())
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(v)
	}
	fmt.Fprintf(f.IO.Out, "amendment %d\t%s\n", v.Amendment, v.SHA256)
	f.IO.Printf("Recorded amendment %d of the protocol.\n", v.Amendment)
	return nil
}

func newAmendmentsCmd(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List the protocol's recorded versions: the original and each amendment",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := trial.Open(cmd.Context(), dbPath(f, cmd))
			if err != nil {
				return err
			}
			defer db.Close()
			vs, err := db.Amendments(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return f.IO.JSON(vs)
			}
			t := f.IO.NewTable("amendment", "recorded_at", "recorded_by", "sha256", "reason")
			for _, v := range vs {
				t.Row(fmt.Sprint(v.Amendment), v.RecordedAt, v.RecordedBy, v.SHA256, v.Reason)
			}
			return t.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
