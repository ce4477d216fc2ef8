// Package frame assembles analysis data sets: it reads a table (a CSV or
// XLSX file an analyst brings; later, the trial database) into columns,
// applies listwise deletion, and turns a model specification (outcome,
// treatment, covariates, strata, clusters) into the plain slices and
// matrices package analysis takes. It is the "analysis frame" step of the
// data flow: no statistics are computed here.
package frame
