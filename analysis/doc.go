// Package analysis computes treatment effects: estimators checked against R
// estimatr, randomization inference, multiple testing, balance, attrition
// and power. Plain slices and gonum matrices in, result structs out; it
// imports no project package and does no I/O.
//
// (Lands with the analysis-engine issue.)
package analysis
