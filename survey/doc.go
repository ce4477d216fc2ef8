// Package survey holds the survey instruments: the codebook (YAML:
// variables, types, choice lists, ranges, relevance and constraints in a
// small expression language, missing codes, waves, the case managers'
// activity log), interviewer XLSX templates (study codes only: no arm, no
// group), the validated import of filled workbooks and CSV files (every
// cell checked again; any error rejects the whole import; every change
// kept as a version), the wave schedule and status, and the answers as the
// analysis reads them.
package survey
