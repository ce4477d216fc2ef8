// Package lazyre compiles a regular expression when it is first used, not
// when the program starts. rct is one binary of many commands, and every
// command would otherwise compile every package's patterns before doing
// anything: counted patterns such as [a-z0-9_]{0,31} cost about 2.5 ms of
// each start-up together (BENCHMARKS.md, "Eighth session").
package lazyre

import (
	"regexp"
	"sync"
)

// New returns a function that compiles pattern on its first call, and
// returns the compiled expression on every call; it panics there, as
// regexp.MustCompile does, when pattern does not compile.
func New(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
