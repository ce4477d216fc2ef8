// Package plan is the trial's pre-specified analysis: what the protocol
// says to estimate, run step by step on the trial database.
//
// Load assembles the analysis set from the store (the one step that reads
// it): the randomized families with their group and strata, the baseline
// variables of the balance table, each outcome at each wave as a column,
// the response to each wave and, for an unblinded analysis, what the case
// managers' log says of compliance and dose. Run then works on those plain
// columns alone, in named steps: describe, impute (missing baselines),
// adjust (the covariates of the adjusted model), estimate, infer
// (randomization inference and multiple testing) and robustness (Lee
// bounds, subgroups, complier effect, dose-response). Every default is
// resolved once, by Resolve, from the protocol and the command's flags; a
// step that cannot estimate says why in the outcome's notes.
//
// plan also gathers what the effect report shows besides the analysis
// (Gather), the data set for analysts who continue in R or Stata (Export),
// and solves power questions, analytic or by simulating the trial's own
// design (Power). Statistics are package analysis'; rendering is package
// reports'.
package plan
