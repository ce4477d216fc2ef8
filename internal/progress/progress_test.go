package progress

import "testing"

// TestStart: a nil Func ticks and ends without doing anything; a Func is
// started with the step and total given.
func TestStart(t *testing.T) {
	tick, done := Func(nil).Start("nothing", 3)
	tick()
	done()
	var step string
	var total, ticks int
	f := Func(func(s string, n int) (func(), func()) {
		step, total = s, n
		return func() { ticks++ }, func() {}
	})
	tick, done = f.Start("reading", 7)
	tick()
	tick()
	done()
	if step != "reading" || total != 7 || ticks != 2 {
		t.Errorf("step %q total %d ticks %d", step, total, ticks)
	}
}
