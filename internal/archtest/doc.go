// Package archtest holds the tests that keep the house's shape (see
// CONTRIBUTING.md): the import boundaries — data flows one way, files →
// trial/survey/linkage → plan → analysis, reports rendering plan's
// results, analysis and randomize importing no project package — and no
// function longer than 150 lines.
package archtest
