// Package reports renders analysis results: the self-contained HTML report
// with figures, XLSX tables and figure files. It computes no statistics.
//
// (Lands with the reports issue.)
package reports
