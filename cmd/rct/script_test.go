package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	if os.Getenv("RCT_TEST_MAIN") == "1" {
		// The kill tests and benchmarks run the test binary as rct.
		code := Main()
		if os.Getenv("RCT_REPORT_RSS") == "1" {
			reportPeakRSS()
		}
		os.Exit(code)
	}
	testscript.Main(m, map[string]func(){"rct": func() { os.Exit(Main()) }})
}

// TestScripts runs the user journeys in testdata/script/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("RCT_NOW", "2019-06-30T12:00:00Z")
			e.Setenv("RCT_USER", "tester")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// exits CODE PROG ARGS...: run PROG and require exit code CODE;
			// stdout and stderr are kept for the next commands.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits CODE PROG ARGS...")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("exits: %v", err)
				}
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("exits: %v", err)
				}
				if got != want {
					ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
				}
			},
		},
	})
}

// reportPeakRSS writes this process's peak resident memory (VmHWM) to
// stderr for the benchmarks. wait4's ru_maxrss cannot be used: Go starts
// children with vfork, and Linux carries the parent's high-water mark
// over the exec, so a child would report the benchmark's own peak.
func reportPeakRSS() {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Fprintf(os.Stderr, "rct-peak-rss-kb %s\n", strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), " kB"))
		}
	}
}

// peakRSS reads what reportPeakRSS wrote, in MB (0 if absent).
func peakRSS(out []byte) float64 {
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, "rct-peak-rss-kb "); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
			return kb / 1024
		}
	}
	return 0
}
