package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/iostreams"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// Exit codes, the same for every command.
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitInvalid   = 3
	exitKey       = 4
	exitInterrupt = 130
)

const exitHelp = `
Exit codes:
  0    ok
  1    failure
  2    usage error
  3    invalid input data (nothing was written)
  4    key or blinding refused
  130  interrupted`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// factory gives commands what they need from the outside world, so tests
// can pin it.
type factory struct {
	IO     *iostreams.IO
	Getenv func(string) string
	Now    func() time.Time
	// Rand is the source of the trial's secrets (keys, the group ↔ arm
	// mapping): nil is crypto/rand. Only in-process tests set it, to make a
	// whole trial reproducible; no flag or variable reaches it.
	Rand io.Reader
	// db is the --db flag as given; dbPath resolves it.
	db string
}

// actor is who runs the command: $RCT_USER, else the login name.
func (f *factory) actor() trial.Actor {
	name := f.Getenv("RCT_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		} else {
			name = "unknown"
		}
	}
	return trial.Actor{Name: name, Now: f.Now}
}

// usageError marks a mistake in how a command was called (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs rct with the process's arguments and environment and returns
// its exit code. It is the only place where errors become exit codes.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := &factory{IO: iostreams.System(), Getenv: os.Getenv, Now: time.Now}
	if s := os.Getenv("RCT_NOW"); s != "" {
		// A fixed clock, for tests and reproducible examples.
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "rct: RCT_NOW=%q is not an RFC 3339 time (2019-06-30T12:00:00Z)\n", s)
			return exitUsage
		}
		f.Now = func() time.Time { return t }
	}
	if p := os.Getenv("RCT_CPUPROFILE"); p != "" {
		// A CPU profile of the whole command, for BENCHMARKS.md's profiles.
		stopProfile, err := startCPUProfile(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "rct: RCT_CPUPROFILE: %v\n", err)
			return exitFailure
		}
		defer stopProfile()
	}
	return run(ctx, f, os.Args[1:])
}

func startCPUProfile(path string) (func(), error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); out.Close() }, nil
}

// leanHeap lets the heap grow to 1.5 times what is live rather than twice,
// for a command whose live heap is large, unless GOGC decides; it returns
// the undo.
func leanHeap() (undo func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(50)
	return func() { debug.SetGCPercent(old) }
}

func run(ctx context.Context, f *factory, args []string) int {
	cmd := newRootCmd(f)
	cmd.SetArgs(args)
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	msg := err.Error()
	if code == exitInvalid && strings.Contains(msg, "\n") {
		fmt.Fprintf(f.IO.ErrOut, "rct: invalid input:\n%s\n", indent(msg))
	} else {
		fmt.Fprintf(f.IO.ErrOut, "rct: %s\n", msg)
	}
	if code == exitUsage {
		fmt.Fprintf(f.IO.ErrOut, "Run 'rct help' or add --help for usage.\n")
	}
	return code
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func exitCode(ctx context.Context, err error) int {
	var ue usageError
	switch {
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return exitInterrupt
	case errors.Is(err, trial.ErrKeyRefused):
		return exitKey
	case dataerr.Is(err):
		return exitInvalid
	case errors.As(err, &ue), survey.IsUsage(err):
		return exitUsage
	case strings.HasPrefix(err.Error(), "unknown command"), strings.HasPrefix(err.Error(), "unknown flag"),
		strings.HasPrefix(err.Error(), "unknown shorthand flag"):
		return exitUsage
	}
	return exitFailure
}

func newRootCmd(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "rct",
		Short: "Run and analyse randomized controlled trials of social interventions",
		Long: `rct runs a randomized controlled trial from protocol to report: enrolment of
referred families, concealed and reproducible randomization, blinded survey
workbooks, register linkage and effect estimation.

Start with 'rct protocol example > trial.yaml', then 'rct init --protocol trial.yaml'.

The trial database is --db, else $RCT_DB, else trial.db in the working directory.` + exitHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&f.db, "db", "", "trial database (default $RCT_DB or trial.db)")
	root.AddCommand(newInitCmd(f), newProtocolCmd(f), newEnrollCmd(f), newStatusCmd(f), newRandomizeCmd(f),
		newAuditCmd(f), newUnblindCmd(f), newWithdrawCmd(f), newAllocationCmd(f), newEstimateCmd(f), newBalanceCmd(f), newPowerCmd(f),
		newLinkCmd(f), newOutcomesCmd(f), newSimulateCmd(f), newCodebookCmd(f), newSurveyCmd(f), newCaselogCmd(f), newAnalyzeCmd(f),
		newDataCmd(f), newReportCmd(f), newUserCmd(f), newServeCmd(f), newReferralsCmd(f))
	for _, c := range root.Commands() {
		addExitHelp(c)
	}
	f.complete(root)
	return root
}

func addExitHelp(c *cobra.Command) {
	if !strings.Contains(c.Long, "Exit codes:") {
		if c.Long == "" {
			c.Long = c.Short + "."
		}
		c.Long += "\n" + exitHelp
	}
	for _, s := range c.Commands() {
		addExitHelp(s)
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s needs at least %d argument(s)", cmd.CommandPath(), n)
		}
		return nil
	}
}

// changed returns the flag's value when the user gave it, else nil: the
// protocol's setting stands.
func changed[T any](cmd *cobra.Command, name string, v T) *T {
	if !cmd.Flags().Changed(name) {
		return nil
	}
	return &v
}
