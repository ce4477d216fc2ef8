// Package ident checks and pseudonymises the identifiers that link a trial
// person to registers: Belgian national register (RRN) and BIS numbers, and
// names normalised for comparison.
//
// It is a leaf package: enrolment (package trial) and register linkage
// (package linkage) both use it, so the same number always gives the same
// pseudonym.
package ident
