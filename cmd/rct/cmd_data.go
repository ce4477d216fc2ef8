package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/plan"
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
code, assignment z, strata, every survey variable at every wave, whether the
family was interviewed, register outcomes and their baseline windows), with a
codebook (a sheet of the XLSX, or FILE_codebook.csv beside a CSV). Identifier
variables are never exported. Without --key the groups are codes only and the
case managers' log is left out (it exists for one arm only); with --key the
arm is named, z = 1 for the protocol's first arm, the log is summarised, and
the export is recorded in the audit chain. Text that a spreadsheet would read
as a formula is written with a leading apostrophe in CSV.`,
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
	cbPath := strings.TrimSuffix(o.Out, filepath.Ext(o.Out)) + "_codebook.csv"
	if strings.EqualFold(filepath.Ext(o.Out), ".xlsx") {
		cbPath = ""
	}
	if err := f.outputs(o.Force, []string{o.Key}, o.Out, cbPath); err != nil {
		return err
	}
	s, err := f.open(ctx, need{key: o.Key})
	if err != nil {
		return err
	}
	defer s.Close()
	k, err := s.keyed(ctx, "data export with arms")
	if err != nil {
		return err
	}
	t, err := plan.Export(ctx, s.DB, s.Protocol, k)
	if err != nil {
		return err
	}
	data := sheet.Grid{Name: "data", Header: t.Header, Rows: t.Rows}
	codebook := sheet.Grid{Name: "codebook", Header: plan.CodebookHeader, Rows: t.Codebook}
	if strings.EqualFold(filepath.Ext(o.Out), ".xlsx") {
		if err := writeAtomic(o.Out, func(w io.Writer) error { return sheet.WriteXLSX(w, data, codebook) }); err != nil {
			return err
		}
		f.IO.Printf("%s: %d families × %d columns (sheets data and codebook)\n", o.Out, len(t.Rows), len(t.Header))
		return nil
	}
	for _, x := range []struct {
		path string
		grid sheet.Grid
	}{{o.Out, data}, {cbPath, codebook}} {
		if err := writeAtomic(x.path, func(w io.Writer) error { return sheet.WriteCSV(w, x.grid) }); err != nil {
			return err
		}
	}
	f.IO.Printf("%s: %d families × %d columns; codebook in %s\n", o.Out, len(t.Rows), len(t.Header), cbPath)
	return nil
}
