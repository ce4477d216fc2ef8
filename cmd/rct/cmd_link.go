package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/linkage"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

func newLinkCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "link", Short: "Link register extracts (OCMW, VDAB) to the trial's persons"}
	cmd.AddCommand(newLinkImportCmd(f), newLinkReportCmd(f), newLinkReviewCmd(f), newLinkEvaluateCmd(f))
	return cmd
}

// LinkOptions are the inputs of `rct link import` and `rct link evaluate`.
type LinkOptions struct {
	Register      string
	File          string
	PseudoKey     string
	Sheet         string
	Pseudonymised bool
	Truth         string // evaluate: the column of true study codes
	Upper, Lower  float64
	Seed          uint64
	JSON          bool
}

// linkFlags declares the flags link import and link evaluate share.
func linkFlags(cmd *cobra.Command, o *LinkOptions) {
	cmd.Flags().StringVar(&o.Register, "register", "", "register id in the protocol")
	cmd.Flags().StringVar(&o.PseudoKey, "pseudo-key", "", "pseudonymisation key file (default: beside the database)")
	cmd.Flags().Float64Var(&o.Upper, "upper", 0.99, "posterior probability at or above which tier 1 links")
	cmd.Flags().Float64Var(&o.Lower, "lower", 0.5, "posterior probability from which a pair goes to clerical review")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "seed of the random pairs that estimate u")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
}

func newLinkImportCmd(f *factory) *cobra.Command {
	var o LinkOptions
	cmd := &cobra.Command{
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
			if o.Register == "" {
				return usagef("give the register with --register (one of the protocol's registers)")
			}
			o.File = args[0]
			return runLinkImport(cmd.Context(), f, o)
		},
	}
	linkFlags(cmd, &o)
	cmd.Flags().BoolVar(&o.Pseudonymised, "pseudonymised", false, "the extract's numbers are already keyed pseudonyms")
	cmd.Flags().StringVar(&o.Sheet, "sheet", "", "worksheet of an XLSX extract")
	return cmd
}

func runLinkImport(ctx context.Context, f *factory, o LinkOptions) error {
	sum, err := sheet.FileSHA256(o.File)
	if err != nil {
		return err
	}
	s, err := f.open(ctx, need{pseudoKey: true, pseudoKeyPath: o.PseudoKey})
	if err != nil {
		return err
	}
	defer s.Close()
	reg, ex, err := readExtract(ctx, f, s, o)
	if err != nil {
		return err
	}
	res, err := linkage.Link(ctx, s.DB, ex, linkage.LinkOptions{Upper: o.Upper, Lower: o.Lower, SHA256: sum, Actor: s.Actor, Seed: o.Seed, Fixed: reg.Linkage, Progress: f.IO.Progress})
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	if res.AlreadyImported {
		f.IO.Printf("%s was imported before for register %s: nothing changed.\n", o.File, o.Register)
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
	return printUnmapped(f, res.Unmapped)
}

// printUnmapped lists the rows left out per event code the protocol does
// not map, most frequent first.
func printUnmapped(f *factory, unmapped map[string]int) error {
	if len(unmapped) == 0 {
		return nil
	}
	codes := make([]string, 0, len(unmapped))
	rows := 0
	for c, n := range unmapped {
		codes = append(codes, c)
		rows += n
	}
	sort.Slice(codes, func(i, j int) bool {
		if unmapped[codes[i]] != unmapped[codes[j]] {
			return unmapped[codes[i]] > unmapped[codes[j]]
		}
		return codes[i] < codes[j]
	})
	f.IO.Printf("Left out: %d rows of %d event codes the protocol does not map:\n", rows, len(codes))
	t := f.IO.NewTable("event code", "rows")
	for _, c := range codes {
		t.Row(c, strconv.Itoa(unmapped[c]))
	}
	return t.Flush()
}

// readExtract reads a register extract through the protocol's mapping with
// the trial's pseudonymisation key, dropping on read the persons whose
// valid number is not a trial person's (not in a labelled sample, where a
// trial person under a foreign number is a false negative to count).
func readExtract(ctx context.Context, f *factory, s *session, o LinkOptions) (trial.Register, *linkage.Extract, error) {
	reg, ok := s.Protocol.Register(o.Register)
	if !ok {
		var ids []string
		for _, r := range s.Protocol.Registers {
			ids = append(ids, r.ID)
		}
		return reg, nil, usagef("no register %q in the protocol (registers: %v)", o.Register, ids)
	}
	known, err := linkage.TrialPseudonyms(ctx, s.DB)
	if err != nil {
		return reg, nil, err
	}
	ro := linkage.ReadOptions{Key: s.PseudoKey.Key[:], Pseudonymised: o.Pseudonymised, Sheet: o.Sheet, Truth: o.Truth, Progress: f.IO.Progress}
	if o.Truth == "" {
		ro.Keep = func(p string) bool { return known[p] }
	}
	ex, err := linkage.ReadExtract(o.File, reg, ro)
	return reg, ex, err
}

// LinkReportOptions are the inputs of `rct link report`.
type LinkReportOptions struct {
	JSON bool
}

func newLinkReportCmd(f *factory) *cobra.Command {
	var o LinkReportOptions
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Links per register and tier, and link rates per group code",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLinkReport(cmd.Context(), f, o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runLinkReport(ctx context.Context, f *factory, o LinkReportOptions) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := linkage.Summarize(ctx, s.DB)
	if err != nil {
		return err
	}
	if o.JSON {
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
}

func newLinkEvaluateCmd(f *factory) *cobra.Command {
	var o LinkOptions
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
			if o.Register == "" || o.Truth == "" {
				return usagef("give --register and --truth")
			}
			o.File = args[0]
			return runLinkEvaluate(cmd.Context(), f, o)
		},
	}
	linkFlags(cmd, &o)
	cmd.Flags().StringVar(&o.Truth, "truth", "", "column with each row's true study code (blank: not a trial person)")
	return cmd
}

func runLinkEvaluate(ctx context.Context, f *factory, o LinkOptions) error {
	s, err := f.open(ctx, need{pseudoKey: true, pseudoKeyPath: o.PseudoKey})
	if err != nil {
		return err
	}
	defer s.Close()
	reg, ex, err := readExtract(ctx, f, s, o)
	if err != nil {
		return err
	}
	res, err := linkage.Link(ctx, s.DB, ex, linkage.LinkOptions{Upper: o.Upper, Lower: o.Lower, Actor: s.Actor, Seed: o.Seed, DryRun: true, Fixed: reg.Linkage, Progress: f.IO.Progress})
	if err != nil {
		return err
	}
	ev, review := linkage.EvaluateLinks(res.Decisions)
	out := struct {
		linkage.Evaluation
		Review  int `json:"review"`
		Persons int `json:"register_persons"`
	}{ev, review, res.Persons}
	if o.JSON {
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
	f.IO.Printf("Thresholds: link at posterior ≥ %g, review from %g. Nothing was written.\n", o.Upper, o.Lower)
	return nil
}

// ReviewExportOptions are the inputs of `rct link review export`.
type ReviewExportOptions struct {
	Out   string
	Force bool
}

// ReviewImportOptions are the inputs of `rct link review import`.
type ReviewImportOptions struct {
	File string
	JSON bool
}

func newLinkReviewCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "review", Short: "Clerical review of the links between the two thresholds"}
	var eo ReviewExportOptions
	export := &cobra.Command{
		Use:   "export -o review.xlsx",
		Short: "Write the pairs under review side by side, with a decision column",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if eo.Out == "" {
				return usagef("give -o FILE.xlsx")
			}
			return runReviewExport(cmd.Context(), f, eo)
		},
	}
	export.Flags().StringVarP(&eo.Out, "output", "o", "", "XLSX file to write")
	export.Flags().BoolVar(&eo.Force, "force", false, "overwrite an existing file")
	var im ReviewImportOptions
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
			im.File = args[0]
			return runReviewImport(cmd.Context(), f, im)
		},
	}
	imp.Flags().BoolVar(&im.JSON, "json", false, "print as JSON")
	cmd.AddCommand(export, imp, newReviewPurgeCmd(f))
	return cmd
}

// ReviewPurgeOptions are the inputs of `rct link review purge`.
type ReviewPurgeOptions struct {
	OlderThan string
	JSON      bool
}

func newReviewPurgeCmd(f *factory) *cobra.Command {
	var o ReviewPurgeOptions
	cmd := &cobra.Command{
		Use:   "purge [--older-than 90d]",
		Short: "End the review of pairs nobody decided: rejected, their names and events deleted",
		Long: `Pairs under clerical review keep the register's names, birth date and
postcode — of people who are almost all not in the trial — until decided.
Purge ends the review of the pairs nobody decided (imported more than
--older-than ago; all of them without it): they are rejected as a "no match"
would be, their events deleted and the identifying fields no longer kept.
The purge is recorded with who and when.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReviewPurge(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.OlderThan, "older-than", "", "only pairs imported longer ago than this span (30d, 3m)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runReviewPurge(ctx context.Context, f *factory, o ReviewPurgeOptions) error {
	var cutoff time.Time
	if o.OlderThan != "" {
		span, err := spanFlag("older-than", o.OlderThan)
		if err != nil {
			return err
		}
		n, unit, _ := span.Parse()
		if n < 0 {
			return usagef("--older-than %s: give a span back in time as a positive number (90d)", o.OlderThan)
		}
		cutoff = trial.Span(fmt.Sprintf("-%d%c", n, unit)).AddTo(f.Now().UTC())
	}
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := linkage.PurgeReview(ctx, s.DB, cutoff, s.Actor)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	f.IO.Printf("%d pairs nobody decided were rejected and their identifying fields deleted; %d younger pairs are still under review\n", res.Purged, res.Kept)
	return nil
}

func runReviewExport(ctx context.Context, f *factory, o ReviewExportOptions) error {
	if err := f.outputs(o.Force, nil, o.Out); err != nil {
		return err
	}
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	pairs, err := linkage.ReviewPairs(ctx, s.DB)
	if err != nil {
		return err
	}
	if err := writeAtomic(o.Out, func(w io.Writer) error { return linkage.WriteReview(w, pairs) }); err != nil {
		return err
	}
	f.IO.Printf("%s: %d pairs to review (decision: match or no match)\n", o.Out, len(pairs))
	return nil
}

func runReviewImport(ctx context.Context, f *factory, o ReviewImportOptions) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := linkage.ApplyReview(ctx, s.DB, o.File, s.Actor)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	f.IO.Printf("%d linked, %d rejected, %d left under review, %d already decided the same way\n", res.Linked, res.Rejected, res.Undecided, res.Unchanged)
	return nil
}
