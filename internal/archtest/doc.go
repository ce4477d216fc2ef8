// Package archtest holds the test that keeps the house's import boundaries
// (see CONVENTIONS.md): data flows one way, files → survey/linkage/trial →
// analysis → reports, and analysis imports no project package.
package archtest
