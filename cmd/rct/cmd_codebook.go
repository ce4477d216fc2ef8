package main

import (
	"context"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/files"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// CodebookOptions are the inputs of `rct codebook check` and `rct codebook install`.
type CodebookOptions struct {
	File     string
	Protocol string // check: the protocol whose waves and outcomes the codebook must fit
	Reason   string // install: why the codebook changes
}

func newCodebookCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "codebook", Short: "Write, check and install the survey codebook"}
	var co CodebookOptions
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Report every problem in a codebook, with its line number",
		Long: `Report every problem in a codebook file, with its line number. The waves it
names are checked against the protocol (--protocol, else the trial's when a
trial database is found), and so are the survey variables the protocol names:
its survey outcomes, the balance table's baseline variables and the activity-
log variables of the complier effect and the dose.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			co.File = args[0]
			return runCodebookCheck(cmd.Context(), f, co)
		},
	}
	check.Flags().StringVar(&co.Protocol, "protocol", "", "protocol file whose waves and outcomes the codebook must fit")
	var inst CodebookOptions
	install := &cobra.Command{
		Use:   "install FILE [--reason TEXT]",
		Short: "Put a codebook in force for the trial (a new version; the old ones are kept)",
		Long: `Put a codebook in force for the trial. Each install is a numbered version with
who, when and why; templates carry the version, and the import refuses a
template of another version. Installing the codebook in force changes nothing.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inst.File = args[0]
			return runCodebookInstall(cmd.Context(), f, inst)
		},
	}
	install.Flags().StringVar(&inst.Reason, "reason", "", "why the codebook changes (required from the second version on)")
	cmd.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print a commented codebook matching the example protocol (MISSION)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := f.IO.Out.Write(survey.ExampleCodebook())
			return err
		},
	}, check, install)
	return cmd
}

func runCodebookCheck(ctx context.Context, f *factory, o CodebookOptions) error {
	var p *trial.Protocol
	if o.Protocol != "" || fileExists(f.dbPath()) {
		var err error
		if p, err = f.protocolOf(ctx, o.Protocol); err != nil {
			return err
		}
	}
	cb, err := readCodebook(o.File, p)
	if err != nil {
		return err
	}
	f.IO.Printf("%s: codebook %s version %s is valid (%d variables, %d lists; sha256 %s)\n",
		o.File, cb.Codebook.ID, cb.Codebook.Version, len(cb.Variables), len(cb.Lists), cb.SHA256())
	return nil
}

func runCodebookInstall(ctx context.Context, f *factory, o CodebookOptions) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	cb, err := readCodebook(o.File, s.Protocol)
	if err != nil {
		return err
	}
	v, changed, err := survey.Install(ctx, s.DB, s.Protocol, cb, o.File, o.Reason, s.Actor)
	if err != nil {
		return err
	}
	if !changed {
		f.IO.Printf("codebook version %d is already this file: nothing changed\n", v)
		return nil
	}
	f.IO.Printf("codebook %s (%s) installed as version %d\n", cb.Codebook.ID, cb.Codebook.Version, v)
	return nil
}

// readCodebook reads and checks a codebook file, against p when given.
func readCodebook(path string, p *trial.Protocol) (*survey.Codebook, error) {
	b, err := files.ReadBounded(path, trial.MaxProtocolFile)
	if err != nil {
		return nil, dataerr.File(path, err)
	}
	var waves []string
	if p != nil {
		waves = survey.Waves(p)
	}
	cb, err := survey.ParseCodebook(path, b, waves)
	if err != nil {
		return nil, err
	}
	if p != nil {
		if err := cb.CheckProtocol(path, p); err != nil {
			return nil, err
		}
	}
	return cb, nil
}

// checkLang checks a --lang flag against the codebook's languages.
func checkLang(cb *survey.Codebook, lang string) error {
	if lang == "" {
		return nil
	}
	for _, l := range cb.Languages {
		if l == lang {
			return nil
		}
	}
	return usagef("--lang %s: the codebook's languages are %v", lang, cb.Languages)
}
