package main

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/files"
	"github.com/rct-trials/rct/simulate"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// SimulateOptions are the inputs of `rct simulate`.
type SimulateOptions struct {
	Config     simulate.Config
	ConfigFile string
	Given      []string // the parameters given as flags: they win over the file
	Out        string
	JSON       bool
}

func newSimulateCmd(f *factory) *cobra.Command {
	o := SimulateOptions{Config: simulate.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "simulate -o DIR [--families N] [--seed S] [--config sim.yaml] [--PARAMETER VALUE...]",
		Short: "Write a synthetic trial as the files real users bring",
		Long: `Write a synthetic trial modelled on MISSION into DIR, as the files real
users bring, in two steps that follow the trial's own time.

rct simulate writes what exists before randomization:
  trial.yaml            the example protocol
  codebook.yaml         the example codebook
  simulation.yaml       every parameter used (read back by 'simulate fieldwork')
  referrals/DATE.xlsx   Kind en Gezin's referral workbook of each month, named
                        after the day it is sent: ~15% ineligible, ~5% declining,
                        a few referred twice

Enrol each month's workbook and randomize on its day (RCT_NOW=DATE), then

rct simulate fieldwork --key trial.key -o DIR writes what follows randomization
(see its help): the interviewers' filled workbooks, the case managers' log, the
OCMW and VDAB extracts, and truth.json with the true effects.

Every parameter can be given as a flag or in a YAML file (--config; flags win).
The same seed gives the same files. Existing files are never overwritten.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return usagef("give the output directory with -o")
			}
			cmd.Flags().Visit(func(fl *pflag.Flag) { o.Given = append(o.Given, fl.Name) })
			return runSimulate(cmd.Context(), f, o)
		},
	}
	configFlags(cmd.Flags(), &o.Config)
	cmd.Flags().StringVar(&o.ConfigFile, "config", "", "YAML file of parameters (names as in simulation.yaml)")
	cmd.Flags().StringVarP(&o.Out, "output", "o", "", "directory to write into")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "list the files written as JSON")
	cmd.AddCommand(newFieldworkCmd(f))
	return cmd
}

// configFlags declares a flag for every field of the simulation's
// configuration: its yaml name with dashes, its help tag as usage.
func configFlags(fs *pflag.FlagSet, c *simulate.Config) {
	v := reflect.ValueOf(c).Elem()
	for i := 0; i < v.NumField(); i++ {
		sf := v.Type().Field(i)
		name := flagName(sf)
		help := sf.Tag.Get("help")
		switch p := v.Field(i).Addr().Interface().(type) {
		case *int:
			fs.IntVar(p, name, *p, help)
		case *uint64:
			fs.Uint64Var(p, name, *p, help)
		case *float64:
			fs.Float64Var(p, name, *p, help)
		case *string:
			fs.StringVar(p, name, *p, help)
		}
	}
}

// flagName is a configuration field's flag: its yaml name with dashes.
func flagName(sf reflect.StructField) string {
	name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
	return strings.ReplaceAll(name, "_", "-")
}

// copyField copies the field whose flag is name from src to dst.
func copyField(dst, src *simulate.Config, name string) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := 0; i < d.NumField(); i++ {
		if flagName(d.Type().Field(i)) == name {
			d.Field(i).Set(s.Field(i))
		}
	}
}

func runSimulate(ctx context.Context, f *factory, o SimulateOptions) error {
	if o.ConfigFile != "" {
		cfg, err := readSimulation(o.ConfigFile)
		if err != nil {
			return err
		}
		for _, name := range o.Given { // flags given on the command line win over the file
			copyField(&cfg, &o.Config, name)
		}
		o.Config = cfg
	}
	if err := o.Config.Validate(); err != nil {
		return usagef("%v", err)
	}
	paths, err := simulate.Write(o.Out, o.Config, f.IO.Progress)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(map[string]any{"files": paths})
	}
	for _, p := range paths {
		fmt.Fprintln(f.IO.Out, p)
	}
	f.IO.Printf("Wrote %d files for a trial of %d families (seed %d) into %s; next: rct init --protocol %s\n",
		len(paths), o.Config.Families, o.Config.Seed, o.Out, filepath.Join(o.Out, "trial.yaml"))
	return nil
}

// FieldworkOptions are the inputs of `rct simulate fieldwork`.
type FieldworkOptions struct {
	Key  string
	Dir  string
	JSON bool
}

func newFieldworkCmd(f *factory) *cobra.Command {
	var o FieldworkOptions
	cmd := &cobra.Command{
		Use:   "fieldwork --key trial.key -o DIR",
		Short: "Write what follows randomization in a simulated trial: interviews, activity log, register extracts, truth",
		Long: `Play the world after randomization for the trial simulated into DIR (its
simulation.yaml), on the trial database whose families were enrolled from
DIR/referrals and randomized. It writes, as of today (RCT_NOW):

  m0-interviews.xlsx ...            each wave's template filled by the
                                    interviewers: answers, interview dates,
                                    families not reached left blank (~10%
                                    at 6 and ~20% at 12 months, a little more
                                    in control), and a few mistakes the import
                                    refuses: a letter O for a zero, an answer
                                    beyond its range, a required answer blank
  m0-interviews-corrected.xlsx ...  the workbook sent back with the mistakes
                                    mended (answers outside the soft ranges
                                    remain: imported with a warning)
  caselog.xlsx                      the case managers' log, a row per family
                                    of the intervention and month for a year
  ocmw.csv, vdab.csv                register extracts: the families' adults
                                    (numbers missing or mistyped and names
                                    spelled otherwise for some) among many
                                    unrelated persons
  truth.json                        the true effects, in the population and
                                    in this sample

The world knows who is guided, as the case managers do: it needs the
allocation key, and reading the arms is recorded in the audit chain.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Dir == "" {
				return usagef("give the simulation's directory with -o")
			}
			return runFieldwork(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file")
	cmd.Flags().StringVarP(&o.Dir, "output", "o", "", "the simulation's directory (holds simulation.yaml)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the files and the truth as JSON")
	return cmd
}

// readSimulation reads a simulation's parameters (YAML).
func readSimulation(path string) (simulate.Config, error) {
	b, err := files.ReadBounded(path, trial.MaxProtocolFile)
	if err != nil {
		return simulate.Config{}, dataerr.File(path, err)
	}
	cfg, err := simulate.ParseConfig(path, b)
	if err != nil {
		return cfg, dataerr.New(path, "%v", strings.TrimPrefix(err.Error(), path+": "))
	}
	return cfg, nil
}

func runFieldwork(ctx context.Context, f *factory, o FieldworkOptions) error {
	// About 1.1 GB is live at 100,000 families (two workbooks written at
	// once): twice that was 2.2-2.5 GB, 1.5 times 1.6 GB, a few seconds
	// more of 35-40.
	defer leanHeap()()
	cfg, err := readSimulation(filepath.Join(o.Dir, "simulation.yaml"))
	if err != nil {
		return err
	}
	s, err := f.open(ctx, need{key: o.Key, keyFor: "simulating the fieldwork (the world knows who is guided)"})
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := simulate.Fieldwork(ctx, simulate.FieldworkOptions{Config: cfg, DB: s.DB, Protocol: s.Protocol, Key: s.Key, Actor: s.Actor, Dir: o.Dir,
		Progress: f.IO.Progress})
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	for _, p := range res.Files {
		fmt.Fprintln(f.IO.Out, p)
	}
	t := res.Truth
	f.IO.Printf("Fieldwork for %d randomized families (%d guided, compliance %.2f). True intention-to-treat effects:\n", t.Families, t.Guided, t.Compliance)
	for _, oc := range t.Outcomes {
		f.IO.Printf("  %-18s %+.4g (this sample: %+.4g)\n", oc.Outcome, oc.Effect, oc.SampleEffect)
	}
	return nil
}
