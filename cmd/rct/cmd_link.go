package main

import (
	"strconv"

	"github.com/rct-trials/rct/linkage"
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
			db, p, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			reg, ok := p.Register(register)
			if !ok {
				var ids []string
				for _, r := range p.Registers {
					ids = append(ids, r.ID)
				}
				return usagef("no register %q in the protocol (registers: %v)", register, ids)
			}
			if pseudoKey == "" {
				pseudoKey = f.Getenv("RCT_PSEUDO_KEY")
			}
			if pseudoKey == "" {
				pseudoKey = siblingPath(db.Path, ".pseudo.key")
			}
			key, err := db.VerifyPseudoKey(ctx, pseudoKey)
			if err != nil {
				return err
			}
			sum, err := fileSHA256(args[0])
			if err != nil {
				return err
			}
			ex, err := linkage.ReadExtract(args[0], reg, linkage.ReadOptions{Key: key.Key[:], Pseudonymised: pseudonymised, Sheet: sheetName})
			if err != nil {
				return err
			}
			res, err := linkage.Link(ctx, db, ex, linkage.LinkOptions{Upper: upper, Lower: lower, SHA256: sum, Actor: f.actor(), Seed: 1})
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
			return t.Flush()
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
			rep, err := db.LinkReport(ctx)
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
			return nil
		},
	}
	report.Flags().BoolVar(&rjson, "json", false, "print as JSON")
	cmd.AddCommand(imp, report)
	return cmd
}
