// Package linkage links register extracts (OCMW, VDAB) to the trial's
// persons and derives register outcomes.
//
// ReadExtract reads an extract through the protocol's column mapping,
// checks every row and pseudonymises national numbers on read (package
// ident); Link matches tier 0 on keyed pseudonyms and tier 1 by
// Fellegi-Sunter (names by Jaro-Winkler, birth dates, postcode; m by EM, u
// from random pairs, surname frequencies; one to one) and stores only what
// links; pairs between the thresholds go to clerical review (ReviewPairs,
// WriteReview, ApplyReview); EvaluateLinks scores a labelled sample.
// Derive aggregates the linked events of each family in windows after its
// randomization date (any, count, sum, days); Summarize reports links per
// tier and link rates per group code. The string comparators equal R's
// stringdist on testdata/reference/string_similarity.csv.
package linkage
