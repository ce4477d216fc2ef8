// Package survey holds the codebook, the interviewer XLSX templates, the
// validated import of filled workbooks and the case-manager activity logs.
//
// (Lands with the survey-instruments issue.)
package survey
