package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/reports"
	"github.com/spf13/cobra"
)

// DataExportOptions are the inputs of `rct data export`.
type DataExportOptions struct {
	Out   string
	Key   string
	Force bool
}

func newDataCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "The analysis data set, for analysts who continue in R or Stata"}
	var o DataExportOptions
	export := &cobra.Command{
		Use:   "export -o FILE.csv|FILE.xlsx [--key trial.key]",
		Short: "Write the analysis data set: one row per randomized family, with a codebook",
		Long: `Write the analysis data set: one row per randomized family (study code, group
code, assignment z, randomization date, stratum cell, strata, the eligibility
domains, every survey variable at every wave, whether the family was
interviewed, register outcomes and their baseline windows), with a codebook
(label, type, source, wave, unit, value labels, declared missing codes, the
window of each register outcome): a sheet of the XLSX, or FILE_codebook.csv
beside a CSV. Beside a CSV come FILE.R (base R: reads it with its types, NA
for missing, a labelled factor beside each coded variable) and FILE.do
(Stata: import delimited, variable and value labels, declared missing codes
as extended missing values .a, .b, ...).

Declared missing codes (-99 refused, -98 don't know) are written as empty
cells, so a mean is never taken over them; the scripts mark them again.
Identifier variables are never exported. Without --key the groups are codes
only (z = 1 for group B; with three groups or more z_B, z_C against group A)
and the case managers' log is left out (it exists only for the arms they
guide); with --key the arm is named, z = 1 for the arm compared with the
reference arm (z_ARM for each with more arms), the log is summarised, and the
export is recorded in the audit chain. Text that a spreadsheet would read as
a formula is written with a leading apostrophe in CSV.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ext := strings.ToLower(filepath.Ext(o.Out))
			if o.Out == "" || ext != ".csv" && ext != ".xlsx" {
				return usagef("give -o FILE.csv or -o FILE.xlsx")
			}
			return runDataExport(cmd.Context(), f, o)
		},
	}
	export.Flags().StringVarP(&o.Out, "output", "o", "", "file to write (.csv or .xlsx)")
	export.Flags().StringVar(&o.Key, "key", "", "allocation key: name the arms and include the case managers' log")
	export.Flags().BoolVar(&o.Force, "force", false, "overwrite an existing file")
	cmd.AddCommand(export)
	return cmd
}

func runDataExport(ctx context.Context, f *factory, o DataExportOptions) error {
	stem := strings.TrimSuffix(o.Out, filepath.Ext(o.Out))
	xlsx := strings.EqualFold(filepath.Ext(o.Out), ".xlsx")
	side := []string{stem + "_codebook.csv", stem + ".R", stem + ".do"}
	if xlsx {
		side = nil
	}
	if err := f.outputs(o.Force, []string{o.Key}, append([]string{o.Out}, side...)...); err != nil {
		return err
	}
	s, err := f.open(ctx, need{key: o.Key, whole: true})
	if err != nil {
		return err
	}
	defer s.Close()
	k, err := s.keyed(ctx, "data export with arms")
	if err != nil {
		return err
	}
	t, err := plan.Export(ctx, s.DB, s.Protocol, k, f.IO.Progress)
	if err != nil {
		return err
	}
	data, codebook := t.Grid(), t.CodebookGrid()
	if xlsx {
		if err := writeAtomic(o.Out, func(w io.Writer) error { return sheet.WriteXLSX(w, data, codebook) }); err != nil {
			return err
		}
		f.IO.Printf("%s: %d families × %d columns (sheets data and codebook); %d declared missing codes left blank\n", o.Out, len(t.Rows), len(t.Columns), len(t.Missing))
		return nil
	}
	csvName := filepath.Base(o.Out)
	for _, x := range []struct {
		path  string
		write func(w io.Writer) error
	}{
		{o.Out, func(w io.Writer) error { return sheet.WriteCSV(w, data) }},
		{side[0], func(w io.Writer) error { return sheet.WriteCSV(w, codebook) }},
		{side[1], func(w io.Writer) error { _, err := w.Write(reports.RScript(t, csvName)); return err }},
		{side[2], func(w io.Writer) error { _, err := w.Write(reports.StataScript(t, csvName)); return err }},
	} {
		if err := writeAtomic(x.path, x.write); err != nil {
			return err
		}
	}
	f.IO.Printf("%s: %d families × %d columns; %d declared missing codes left empty; codebook in %s; R: source(%q); Stata: do %s\n",
		o.Out, len(t.Rows), len(t.Columns), len(t.Missing), side[0], filepath.Base(side[1]), filepath.Base(side[2]))
	return nil
}
