// Package frame reads an analyst's own table — a CSV or XLSX file with a
// header row — into columns, applies listwise deletion, and turns a model
// specification (outcome, treatment, covariates, strata, clusters, the
// estimator) into the plain slices and matrices package analysis takes:
// what `rct estimate` runs on. It computes no statistics itself, and
// knows nothing of the trial database: the trial's own analysis is
// package plan's.
package frame
