// Package trial is the trial itself: the protocol file (parse, validate,
// amend), the trial database (one SQLite file: schema migrations embedded
// in the binary, every command's writes in one transaction), the two key
// files (keys.go: allocation key, pseudonymisation key), randomization
// with the sealed group ↔ arm mapping, the audit chain and its
// verification, enrolment of referred families from referral files, and
// the counts of status.
//
// Families are known by study codes (K-0042) only; national numbers are
// stored as keyed pseudonyms (package ident); nothing here reveals an arm
// without the key.
package trial
