// Package reports renders the plan's results: the effect report as one
// self-contained HTML page in CONSORT order (summary, drawn flow diagram,
// baseline, attrition, effects, robustness, data quality,
// reproducibility), its tables as an XLSX workbook, and its figures
// (gonum/plot) as SVG, PNG and PDF, in English or Dutch. It computes no
// statistics and reads no database: it imports package plan, whose
// Analysis and Context carry every number and label it shows.
package reports
