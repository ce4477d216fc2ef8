// Package trial is the trial itself: the protocol file (parse, validate,
// amend), the trial database (one SQLite file: schema migrations embedded
// in the binary, every command's writes in one transaction), the two key
// files (allocation key, pseudonymisation key), and enrolment of referred
// families.
//
// Families are known by study codes (K-0042) only; national numbers are
// stored as keyed pseudonyms (see package ident); nothing here reveals an
// arm.
package trial
