package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

func newProtocolCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "protocol",
		Short: "Write, check and amend the protocol file",
	}
	cmd.AddCommand(newProtocolExampleCmd(f), newProtocolCheckCmd(f), newAmendCmd(f), newAmendmentsCmd(f))
	return cmd
}

// ProtocolExampleOptions are the inputs of `rct protocol example`.
type ProtocolExampleOptions struct {
	Codebook string
}

func newProtocolExampleCmd(f *factory) *cobra.Command {
	var o ProtocolExampleOptions
	cmd := &cobra.Command{
		Use:   "example [--codebook FILE]",
		Short: "Print a commented protocol modelled on the MISSION trial",
		Long: `Print a commented protocol modelled on the MISSION trial. --codebook FILE
also writes the matching example codebook (the questionnaires of its waves
and the case managers' activity log); it is what 'rct codebook example' prints.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProtocolExample(f, o)
		},
	}
	cmd.Flags().StringVar(&o.Codebook, "codebook", "", "also write the matching example codebook to this file")
	return cmd
}

func runProtocolExample(f *factory, o ProtocolExampleOptions) error {
	if o.Codebook != "" {
		if err := f.outputs(false, nil, o.Codebook); err != nil {
			return err
		}
		err := writeAtomic(o.Codebook, func(w io.Writer) error {
			_, err := w.Write(survey.ExampleCodebook())
			return err
		})
		if err != nil {
			return err
		}
	}
	_, err := f.IO.Out.Write(trial.ExampleProtocol())
	return err
}

// ProtocolCheckOptions are the inputs of `rct protocol check`.
type ProtocolCheckOptions struct {
	File     string
	Codebook string
}

func newProtocolCheckCmd(f *factory) *cobra.Command {
	var o ProtocolCheckOptions
	cmd := &cobra.Command{
		Use:   "check FILE [--codebook FILE]",
		Short: "Report every problem in a protocol file, with its line number",
		Long: `Report every problem in a protocol file, with its line number. With
--codebook, also check that the survey variables the protocol names (survey
outcomes, the balance table's baseline variables, the activity-log variables
of the complier effect and the dose) are in the codebook, asked where the
protocol reads them.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.File = args[0]
			return runProtocolCheck(f, o)
		},
	}
	cmd.Flags().StringVar(&o.Codebook, "codebook", "", "codebook whose variables the protocol names")
	return cmd
}

func runProtocolCheck(f *factory, o ProtocolCheckOptions) error {
	p, err := readProtocol(o.File)
	if err != nil {
		return err
	}
	if o.Codebook != "" {
		cb, err := readCodebook(o.Codebook, p)
		if err != nil {
			return err
		}
		f.IO.Printf("%s: the protocol's survey variables are in codebook %s version %s\n", o.Codebook, cb.Codebook.ID, cb.Codebook.Version)
	}
	f.IO.Printf("%s: protocol of trial %s is valid (%d arms, method %s, %d waves, %d outcomes; sha256 %s)\n",
		o.File, p.Trial.ID, len(p.Arms), p.Randomization.Method, len(p.Waves), len(p.Outcomes), p.SHA256())
	for _, w := range p.Warnings() {
		f.IO.Printf("warning: %s\n", w)
	}
	return nil
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
			return runAmend(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "the changed protocol file")
	cmd.Flags().StringVar(&o.Reason, "reason", "", "why the protocol changes")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the result as JSON")
	return cmd
}

func runAmend(ctx context.Context, f *factory, o AmendOptions) error {
	p, err := readProtocol(o.Protocol)
	if err != nil {
		return err
	}
	s, err := f.open(ctx, need{amend: true})
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := s.DB.Amend(ctx, o.Protocol, p, o.Reason, s.Actor)
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

// HistoryOptions are the inputs of `rct protocol history`.
type HistoryOptions struct {
	JSON bool
}

func newAmendmentsCmd(f *factory) *cobra.Command {
	var o HistoryOptions
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List the protocol's recorded versions: the original and each amendment",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProtocolHistory(cmd.Context(), f, o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runProtocolHistory(ctx context.Context, f *factory, o HistoryOptions) error {
	s, err := f.open(ctx, need{amend: true})
	if err != nil {
		return err
	}
	defer s.Close()
	vs, err := s.DB.Amendments(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(vs)
	}
	t := f.IO.NewTable("amendment", "recorded_at", "recorded_by", "sha256", "reason")
	for _, v := range vs {
		t.Row(fmt.Sprint(v.Amendment), v.RecordedAt, v.RecordedBy, v.SHA256, v.Reason)
	}
	return t.Flush()
}
