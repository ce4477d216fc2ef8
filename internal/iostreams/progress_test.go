package iostreams

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProgress: at a terminal a long step shows its progress and ends its
// line; piped, or shorter than ProgressAfter, nothing is written.
func TestProgress(t *testing.T) {
	run := func(tty bool, after time.Duration) string {
		ProgressAfter = after
		defer func() { ProgressAfter = 2 * time.Second }()
		var b bytes.Buffer
		io := &IO{ErrOut: &b, ErrTTY: tty}
		tick, done := io.Progress("randomization inference", 10_000)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 2500; i++ {
					tick()
					if i%500 == 0 {
						time.Sleep(60 * time.Millisecond)
					}
				}
			}()
		}
		wg.Wait()
		done()
		return b.String()
	}
	out := run(true, 0)
	if !strings.Contains(out, "randomization inference: 100% (10,000 of 10,000)") || !strings.HasSuffix(out, "\n") {
		t.Errorf("at a terminal: %q", out)
	}
	if strings.Count(out, "\r") < 2 {
		t.Errorf("progress drawn %d times", strings.Count(out, "\r"))
	}
	if out := run(false, 0); out != "" {
		t.Errorf("piped: %q", out)
	}
	if out := run(true, time.Hour); out != "" {
		t.Errorf("a short step: %q", out)
	}
	// No total known: the count so far.
	ProgressAfter = 0
	defer func() { ProgressAfter = 2 * time.Second }()
	var b bytes.Buffer
	io := &IO{ErrOut: &b, ErrTTY: true}
	tick, done := io.Progress("survey import, rows read", 0)
	for i := 0; i < 4500; i++ {
		tick()
		if i%1000 == 0 {
			time.Sleep(250 * time.Millisecond)
		}
	}
	done()
	if out := b.String(); !strings.Contains(out, "survey import, rows read: 4,500 (") || !strings.HasSuffix(out, "\n") || strings.Contains(out, "%") {
		t.Errorf("no total: %q", out)
	}
}

// TestProgressFewUnits: a step of a few long units (files written) is
// redrawn at each one, not only at its end.
func TestProgressFewUnits(t *testing.T) {
	ProgressAfter, ProgressEvery = 0, 0
	defer func() { ProgressAfter, ProgressEvery = 2*time.Second, 200*time.Millisecond }()
	var b bytes.Buffer
	io := &IO{ErrOut: &b, ErrTTY: true}
	tick, done := io.Progress("files written", 6)
	for range 6 {
		tick()
	}
	done()
	for k := 1; k <= 6; k++ {
		if want := fmt.Sprintf("files written: %d%% (%d of 6)", 100*k/6, k); !strings.Contains(b.String(), want) {
			t.Errorf("no %q in %q", want, b.String())
		}
	}
}
