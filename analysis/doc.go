// Package analysis computes treatment effects and their inference:
// difference in means (Welch, blocked), OLS with classical and
// heteroskedasticity-robust (HC0-HC3) standard errors, cluster-robust
// CR0, Stata's CR1 and CR2 (Bell-McCaffrey, Satterthwaite degrees of
// freedom per coefficient), strata as fixed effects, Lin's (2013)
// interacted estimator, two-stage least squares for the effect on
// compliers, and p-value adjustments for multiple testing.
//
// Every estimator matches R estimatr 1.0.0 (and stats) to 1e-8 relative on
// the reference data sets in testdata/reference/estimatr; the tests cite each
// call. Plain slices and gonum matrices in, result structs out: it imports
// no project package, does no I/O, and returns errors (never panics) on
// bad input — mismatched lengths, NaN, no variance, collinear columns,
// empty strata.
package analysis
