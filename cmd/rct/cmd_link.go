package main

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/linkage"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

func newLinkCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "link", Short: "Link register extracts (OCMW, VDAB) to the trial's persons"}
	var register, pseudoKey, sheetName string
	var pseudonymised, asJSON bool
	var upper, lower float64
	imp := &cobra.Command{
		Use:   "import --register ID FILE",
		Short: "Import a register extract: keep only what links to trial persons",
		Long: `Read a register extract (CSV or XLSX) through the protocol's column mapping,
check every row, pseudonymise national numbers on read, and link:

  tier 0  the keyed pseudonym of a valid national number equals a trial person's
  tier 1  persons without a valid number: Fellegi-Sunter on names, birth date and
          postcode (m by EM, u from random pairs, surname frequencies), one to one;
          a posterior ≥ --upper links, between --lower and --upper goes to review

Only linked persons and those under review are kept, with their events; the
rest of the extract is discarded and counted. --pseudonymised: the number
column already holds HMAC-SHA256 pseudonyms made with this trial's key.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if register == "" {
				return usagef("give the register with --register (one of the protocol's registers)")
			}
			ctx := cmd.Context()
			sum, err := sheet.FileSHA256(args[0])
			if err != nil {
				return err
			}
			db, reg, ex, err := openExtract(ctx, f, cmd, register, pseudoKey, args[0], linkage.ReadOptions{Pseudonymised: pseudonymised, Sheet: sheetName})
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := linkage.Link(ctx, db, ex, linkage.LinkOptions{Upper: upper, Lower: lower, SHA256: sum, Actor: f.actor(), Seed: 1, Fixed: reg.Linkage})
			if err != nil {
				return err
			}
			if asJSON {
				return f.IO.JSON(res)
			}
			if res.AlreadyImported {
				f.IO.Printf("%s was imported before for register %s: nothing changed.\n", args[0], register)
				return nil
			}
			t := f.IO.NewTable("count", "value")
			for _, r := range []struct {
				k string
				v int
			}{{"rows read", res.RowsRead}, {"register persons", res.Persons}, {"linked on national number (tier 0)", res.Tier0},
				{"linked on names and birth date (tier 1)", res.Tier1}, {"to clerical review", res.Review}, {"ambiguous (two trial persons), not linked", res.Ambiguous},
				{"discarded (not trial persons)", res.Discarded}, {"rows with a bad national number", res.BadNumbers}, {"rows without a national number", res.NoNumber},
				{"events stored", res.Events}, {"duplicate events skipped", res.Duplicates}} {
				t.Row(r.k, strconv.Itoa(r.v))
			}
			if err := t.Flush(); err != nil {
				return err
			}
			if len(res.Fixed) > 0 {
				f.IO.Printf("Fixed in the protocol (not estimated): %s.\n", strings.Join(res.Fixed, ", "))
			}
			return nil
		},
	}
	imp.Flags().StringVar(&register, "register", "", "register id in the protocol")
	imp.Flags().StringVar(&pseudoKey, "pseudo-key", "", "pseudonymisation key file (default: beside the database)")
	imp.Flags().BoolVar(&pseudonymised, "pseudonymised", false, "the extract's numbers are already keyed pseudonyms")
	imp.Flags().StringVar(&sheetName, "sheet", "", "worksheet of an XLSX extract")
	imp.Flags().Float64Var(&upper, "upper", 0.99, "posterior probability at or above which tier 1 links")
	imp.Flags().Float64Var(&lower, "lower", 0.5, "posterior probability from which a pair goes to clerical review")
	imp.Flags().BoolVar(&asJSON, "json", false, "print as JSON")

	var rjson bool
	report := &cobra.Command{
		Use:   "report",
		Short: "Links per register and tier, and link rates per group code",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, _, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := linkage.Summarize(ctx, db)
			if err != nil {
				return err
			}
			if rjson {
				return f.IO.JSON(rep)
			}
			t := f.IO.NewTable("register", "tier", "status", "links", "events")
			for _, r := range rep.Links {
				t.Row(r.Register, strconv.Itoa(r.Tier), r.Status, strconv.Itoa(r.Links), strconv.Itoa(r.Events))
			}
			if err := t.Flush(); err != nil {
				return err
			}
			for _, r := range rep.Rates {
				f.IO.Printf("%s: group %s: %d of %d randomized families with a linked person (%.1f%%)\n", r.Register, r.Group, r.Linked, r.Families, 100*r.Rate)
			}
			if len(rep.Weights) > 0 {
				f.IO.Printf("Tier-1 match weights (bits): ")
				for _, w := range rep.Weights {
					f.IO.Printf("[%g, %g) %d linked, %d review, %d rejected; ", w.From, w.From+2, w.Linked, w.Review, w.Rejected)
				}
				f.IO.Printf("\n")
			}
			for _, b := range rep.Blocking {
				f.IO.Printf("Blocking of the last import: %s\n", b)
			}
			return nil
		},
	}
	report.Flags().BoolVar(&rjson, "json", false, "print as JSON")
	cmd.AddCommand(imp, report, newLinkReviewCmd(f), newLinkEvaluateCmd(f))
	return cmd
}

// registerOf returns the protocol's register called id.
func registerOf(p *trial.Protocol, id string) (trial.Register, error) {
	reg, ok := p.Register(id)
	if !ok {
		var ids []string
		for _, r := range p.Registers {
			ids = append(ids, r.ID)
		}
		return reg, usagef("no register %q in the protocol (registers: %v)", id, ids)
	}
	return reg, nil
}

// openExtract opens the trial and reads a register extract through the
// protocol's mapping with the trial's pseudonymisation key, dropping on read
// the persons whose valid number is not a trial person's (not in a labelled
// sample). The caller closes the database.
func openExtract(ctx context.Context, f *factory, cmd *cobra.Command, register, pseudoKey, path string, o linkage.ReadOptions) (*trial.DB, trial.Register, *linkage.Extract, error) {
	var reg trial.Register
	db, p, err := openTrial(ctx, f, cmd, "")
	if err != nil {
		return nil, reg, nil, err
	}
	ex, err := func() (*linkage.Extract, error) {
		if reg, err = registerOf(p, register); err != nil {
			return nil, err
		}
		key, err := pseudoKeyFor(ctx, f, db, pseudoKey)
		if err != nil {
			return nil, err
		}
		known, err := linkage.TrialPseudonyms(ctx, db)
		if err != nil {
			return nil, err
		}
		o.Key = key.Key[:]
		if o.Truth == "" {
			// A labelled sample keeps everyone: a trial person under a
			// number that is not the trial's is a false negative to count.
			o.Keep = func(s string) bool { return known[s] }
		}
		return linkage.ReadExtract(path, reg, o)
	}()
	if err != nil {
		db.Close()
		return nil, reg, nil, err
	}
	return db, reg, ex, nil
}

// pseudoKeyFor reads the pseudonymisation key: --pseudo-key, $RCT_PSEUDO_KEY,
// or the file beside the database.
func pseudoKeyFor(ctx context.Context, f *factory, db *trial.DB, path string) (*trial.PseudoKey, error) {
	if path == "" {
		path = f.Getenv("RCT_PSEUDO_KEY")
	}
	if path == "" {
		path = siblingPath(db.Path, ".pseudo.key")
	}
	return db.VerifyPseudoKey(ctx, path)
}

func newLinkEvaluateCmd(f *factory) *cobra.Command {
	var register, truth, pseudoKey string
	var upper, lower float64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "evaluate --register ID --truth COLUMN FILE",
		Short: "Precision, recall and F1 of the linkage on a labelled sample (writes nothing)",
		Long: `Link a labelled sample of a register extract exactly as 'rct link import'
would, without writing anything, and score it against the sample's labels:
the column --truth gives, for each row, the study code of the family the
person belongs to (blank: not a trial person). A link is right when the
trial person linked belongs to that family. Pairs that would go to clerical
review count as not linked and are reported apart.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if register == "" || truth == "" {
				return usagef("give --register and --truth")
			}
			ctx := cmd.Context()
			db, reg, ex, err := openExtract(ctx, f, cmd, register, pseudoKey, args[0], linkage.ReadOptions{Truth: truth})
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := linkage.Link(ctx, db, ex, linkage.LinkOptions{Upper: upper, Lower: lower, Actor: f.actor(), Seed: 1, DryRun: true, Fixed: reg.Linkage})
			if err != nil {
				return err
			}
			ev, review := linkage.EvaluateLinks(res.Decisions)
			out := struct {
				linkage.Evaluation
				Review       int     `json:"review"`
				Persons      int     `json:"register_persons"`
				Upper, Lower float64 `json:"-"`
			}{ev, review, res.Persons, upper, lower}
			if asJSON {
				return f.IO.JSON(out)
			}
			t := f.IO.NewTable("measure", "value")
			t.Row("register persons", strconv.Itoa(res.Persons))
			t.Row("true positives", strconv.Itoa(ev.TruePositives))
			t.Row("false positives", strconv.Itoa(ev.FalsePositives))
			t.Row("false negatives", strconv.Itoa(ev.FalseNegatives))
			t.Row("to clerical review", strconv.Itoa(review))
			t.Row("precision", g(ev.Precision))
			t.Row("recall", g(ev.Recall))
			t.Row("F1", g(ev.F1))
			if err := t.Flush(); err != nil {
				return err
			}
			f.IO.Printf("Thresholds: link at posterior ≥ %g, review from %g. Nothing was written.\n", upper, lower)
			return nil
		},
	}
	cmd.Flags().StringVar(&register, "register", "", "register id in the protocol")
	cmd.Flags().StringVar(&truth, "truth", "", "column with each row's true study code (blank: not a trial person)")
	cmd.Flags().StringVar(&pseudoKey, "pseudo-key", "", "pseudonymisation key file (default: beside the database)")
	cmd.Flags().Float64Var(&upper, "upper", 0.99, "posterior probability at or above which tier 1 links")
	cmd.Flags().Float64Var(&lower, "lower", 0.5, "posterior probability from which a pair goes to clerical review")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newLinkReviewCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "review", Short: "Clerical review of the links between the two thresholds"}
	var out string
	var force bool
	export := &cobra.Command{
		Use:   "export -o review.xlsx",
		Short: "Write the pairs under review side by side, with a decision column",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("give -o FILE.xlsx")
			}
			if err := refuseOverwrite(out, force); err != nil {
				return err
			}
			ctx := cmd.Context()
			db, _, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			pairs, err := linkage.ReviewPairs(ctx, db)
			if err != nil {
				return err
			}
			if err := writeAtomic(out, func(w io.Writer) error { return linkage.WriteReview(w, pairs) }); err != nil {
				return err
			}
			f.IO.Printf("%s: %d pairs to review (decision: match or no match)\n", out, len(pairs))
			return nil
		},
	}
	export.Flags().StringVarP(&out, "output", "o", "", "XLSX file to write")
	export.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	var asJSON bool
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Apply the decisions of a filled review workbook (match links, no match rejects)",
		Long: `Apply the decisions of a filled review workbook in one transaction: match links
the pair, no match rejects it and deletes its events (not a trial person),
blank leaves it under review. Once decided, the register's names, birth date
and postcode are no longer kept. A decided link cannot be changed by a later
workbook.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, _, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := linkage.ApplyReview(ctx, db, args[0], f.actor())
			if err != nil {
				return err
			}
			if asJSON {
				return f.IO.JSON(res)
			}
			f.IO.Printf("%d linked, %d rejected, %d left under review, %d already decided the same way\n", res.Linked, res.Rejected, res.Undecided, res.Unchanged)
			return nil
		},
	}
	imp.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.AddCommand(export, imp)
	return cmd
}
