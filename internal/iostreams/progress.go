package iostreams

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ProgressAfter is how long a step runs before its progress shows: steps
// shorter than that print nothing.
var ProgressAfter = 2 * time.Second

// ProgressEvery is how often a step's line is redrawn at most.
var ProgressEvery = 200 * time.Millisecond

// Progress shows a long step's progress on stderr, only when stderr is a
// terminal: "randomization inference: 45% (4,500 of 10,000), 3s left",
// redrawn at most five times a second from whichever goroutine ticks; with
// no total known (total ≤ 0), the count so far and the time taken:
// "survey import, rows read: 45,000 (12s)". tick counts one unit done
// (safe from many goroutines); done ends the line. When stderr is not a
// terminal both do nothing.
func (s *IO) Progress(step string, total int) (tick func(), done func()) {
	if !s.ErrTTY {
		return func() {}, func() {}
	}
	start := time.Now()
	var n atomic.Int64
	var mu sync.Mutex
	last, shown := start, false
	draw := func(k int64, final bool) {
		elapsed := time.Since(start)
		if elapsed < ProgressAfter && !(final && shown) {
			return
		}
		if total <= 0 {
			fmt.Fprintf(s.ErrOut, "\r%s: %s (%s)\x1b[K", step, thousands(k), elapsed.Round(time.Second))
			shown = true
			return
		}
		left := ""
		if k > 0 && !final {
			rest := time.Duration(float64(elapsed) * float64(int64(total)-k) / float64(k))
			left = fmt.Sprintf(", %s left", rest.Round(time.Second))
		}
		fmt.Fprintf(s.ErrOut, "\r%s: %d%% (%s of %s)%s\x1b[K", step, int(100*k/int64(total)), thousands(k), thousands(int64(total)), left)
		shown = true
	}
	tick = func() {
		k := n.Add(1)
		// A step of many small units draws every 64th (no lock per
		// unit); one of few long units (files, chunks) every one.
		if k%64 != 0 && (total <= 0 || total > 4096) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= ProgressEvery {
			last = now
			draw(k, false)
		}
	}
	done = func() {
		mu.Lock()
		defer mu.Unlock()
		if shown {
			draw(n.Load(), true)
			fmt.Fprintln(s.ErrOut)
		}
	}
	return tick, done
}

// thousands writes n with thousands separated by commas.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
