// Package progress is how a library tells a command of a long step's
// progress without printing: the command passes a Func (its terminal's
// progress line), the library starts a step and ticks.
package progress

// Func starts a long step of total units (0 when not known beforehand):
// tick after each unit done (safe from many goroutines), done at the end.
type Func func(step string, total int) (tick, done func())

// Start starts step with f, or does nothing at all when f is nil.
func (f Func) Start(step string, total int) (tick, done func()) {
	if f == nil {
		return func() {}, func() {}
	}
	return f(step, total)
}
