package main

import (
	"encoding/csv"
	"io"
	"path/filepath"
	"strings"

	"github.com/rct-trials/rct/frame"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/spf13/cobra"
	"github.com/xuri/excelize/v2"
)

func newDataCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "The analysis data set, for analysts who continue in R or Stata"}
	var out, key string
	var force bool
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
			ext := strings.ToLower(filepath.Ext(out))
			if out == "" || ext != ".csv" && ext != ".xlsx" {
				return usagef("give -o FILE.csv or -o FILE.xlsx")
			}
			if err := refuseOverwrite(out, force); err != nil {
				return err
			}
			ctx := cmd.Context()
			db, p, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			k, err := optionalKey(ctx, db, key)
			if err != nil {
				return err
			}
			var arms map[string]string
			if k != nil {
				if arms, err = armsOf(ctx, f, db, p, k); err != nil {
					return err
				}
			}
			t, err := frame.Export(ctx, db, p, arms)
			if err != nil {
				return err
			}
			if ext == ".csv" {
				if err := writeCSV(out, t.Header, t.Rows); err != nil {
					return err
				}
				cbPath := strings.TrimSuffix(out, filepath.Ext(out)) + "_codebook.csv"
				if err := writeCSV(cbPath, frame.CodebookHeader, t.Codebook); err != nil {
					return err
				}
				f.IO.Printf("%s: %d families × %d columns; codebook in %s\n", out, len(t.Rows), len(t.Header), cbPath)
				return nil
			}
			if err := writeXLSX(out, t); err != nil {
				return err
			}
			f.IO.Printf("%s: %d families × %d columns (sheets data and codebook)\n", out, len(t.Rows), len(t.Header))
			return nil
		},
	}
	export.Flags().StringVarP(&out, "output", "o", "", "file to write (.csv or .xlsx)")
	export.Flags().StringVar(&key, "key", "", "allocation key: name the arms and include the case managers' log")
	export.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	cmd.AddCommand(export)
	return cmd
}

func writeCSV(path string, header []string, rows [][]string) error {
	return writeAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write(header)
		for _, r := range rows {
			safe := make([]string, len(r))
			for i, c := range r {
				safe[i] = sheet.Defuse(c)
			}
			cw.Write(safe)
		}
		cw.Flush()
		return cw.Error()
	})
}

func writeXLSX(path string, t *frame.Table) error {
	x := excelize.NewFile()
	defer x.Close()
	x.SetSheetName("Sheet1", "data")
	write := func(sh string, header []string, rows [][]string) error {
		sw, err := x.NewStreamWriter(sh)
		if err != nil {
			return err
		}
		row := func(n int, cells []string) error {
			vals := make([]any, len(cells))
			for i, c := range cells {
				vals[i] = c // string cells: never a formula
			}
			cell, _ := excelize.CoordinatesToCellName(1, n)
			return sw.SetRow(cell, vals)
		}
		if err := row(1, header); err != nil {
			return err
		}
		for i, r := range rows {
			if err := row(i+2, r); err != nil {
				return err
			}
		}
		return sw.Flush()
	}
	if err := write("data", t.Header, t.Rows); err != nil {
		return err
	}
	if _, err := x.NewSheet("codebook"); err != nil {
		return err
	}
	if err := write("codebook", frame.CodebookHeader, t.Codebook); err != nil {
		return err
	}
	return writeAtomic(path, func(w io.Writer) error { return x.Write(w) })
}
