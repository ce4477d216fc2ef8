package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

func newAuditCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify the audit chain; reveal the seed at the end of the trial"}
	var key string
	var asJSON bool
	verify := &cobra.Command{
		Use:   "verify [--key trial.key]",
		Short: "Check the hash chain; with the key, re-derive every allocation from the seed",
		Long: `Check the audit chain of allocations, unblindings, withdrawals and exports:
every entry's hash and link to the one before, and the allocations table
against the chain. Any edit, deletion, insertion or reordering made with an
outside SQLite tool is found. With --key, also check every entry's MAC and
re-derive every allocation from the seed and the recorded order, and report
the first mismatch. Exit code 3 when the chain does not verify.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			rep, err := db.VerifyChain(ctx, p, k)
			if err != nil {
				return err
			}
			if asJSON {
				if err := f.IO.JSON(rep); err != nil {
					return err
				}
			} else {
				t := f.IO.NewTable("check", "result")
				t.Row("entries", strconv.Itoa(rep.Entries))
				t.Row("allocations", strconv.Itoa(rep.Allocations))
				t.Row("unblindings", strconv.Itoa(rep.Unblindings))
				t.Row("withdrawals", strconv.Itoa(rep.Withdrawals))
				t.Row("keyed (MACs, re-derived from the seed)", strconv.FormatBool(rep.Keyed))
				if err := t.Flush(); err != nil {
					return err
				}
			}
			if len(rep.Problems) > 0 {
				return dataerr.New(db.Path, "the audit chain does not verify:\n%s", strings.Join(rep.Problems, "\n"))
			}
			f.IO.Printf("The audit chain verifies.\n")
			return nil
		},
	}
	verify.Flags().StringVar(&key, "key", "", "allocation key file (optional)")
	verify.Flags().BoolVar(&asJSON, "json", false, "print as JSON")

	var rkey string
	reveal := &cobra.Command{
		Use:   "reveal --key trial.key",
		Short: "Print the seed, once the trial is unblinded, for anyone to re-derive the sequence",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, p, k, err := openWithKey(ctx, f, cmd, rkey, "revealing the seed")
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.Reveal(ctx, p, k, f.actor()); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "seed\t%s\ncommitment\t%s\n", hex.EncodeToString(k.Seed[:]), k.SeedCommitment())
			f.IO.Printf("SHA-256 of the seed equals the commitment stored at init; the reveal is recorded in the audit chain.\n")
			return nil
		},
	}
	reveal.Flags().StringVar(&rkey, "key", "", "allocation key file")
	cmd.AddCommand(verify, reveal)
	return cmd
}

func newUnblindCmd(f *factory) *cobra.Command {
	var family, reason, key string
	var whole, asJSON bool
	cmd := &cobra.Command{
		Use:   "unblind (--family CODE | --trial) --reason TEXT --key trial.key",
		Short: "Reveal one family's arm (emergency) or every group's arm (end of trial)",
		Long: `Reveal one family's arm (--family, in an emergency) or which group is which
arm (--trial, at the end of the trial). Needs the allocation key; each
unblinding is recorded in the audit chain with who, when and why, and
'rct status' counts the families unblinded.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (family == "") == !whole {
				return usagef("give --family CODE or --trial")
			}
			if reason == "" {
				return usagef("give the reason with --reason")
			}
			ctx := cmd.Context()
			db, p, k, err := openWithKey(ctx, f, cmd, key, "unblinding")
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := db.Unblind(ctx, p, k, family, reason, f.actor())
			if err != nil {
				return err
			}
			if asJSON {
				return f.IO.JSON(u)
			}
			if whole {
				t := f.IO.NewTable("group", "arm", "label")
				for _, code := range sortedKeys(u.Groups) {
					a, _ := p.Arm(u.Groups[code])
					t.Row(code, u.Groups[code], a.Label)
				}
				if err := t.Flush(); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(f.IO.Out, "%s\t%s\t%s\t%s\n", u.Family, u.Group, u.Arm, u.Label)
			}
			f.IO.Printf("Unblinding recorded in the audit chain (entry %d).\n", u.Seq)
			return nil
		},
	}
	cmd.Flags().StringVar(&family, "family", "", "study code of the family to unblind")
	cmd.Flags().BoolVar(&whole, "trial", false, "unblind the whole trial")
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	cmd.Flags().StringVar(&key, "key", "", "allocation key file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newWithdrawCmd(f *factory) *cobra.Command {
	var family, reason, key string
	cmd := &cobra.Command{
		Use:   "withdraw --family CODE --reason TEXT --key trial.key",
		Short: "Record that a randomized family withdrew (it stays in its arm)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if family == "" || reason == "" {
				return usagef("give --family CODE and --reason TEXT")
			}
			ctx := cmd.Context()
			db, p, k, err := openWithKey(ctx, f, cmd, key, "recording a withdrawal in the audit chain")
			if err != nil {
				return err
			}
			defer db.Close()
			seq, err := db.Withdraw(ctx, p, k, family, reason, f.actor())
			if err != nil {
				return err
			}
			f.IO.Printf("Withdrawal of %s recorded (audit chain entry %d); it is analysed in its arm.\n", family, seq)
			return nil
		},
	}
	cmd.Flags().StringVar(&family, "family", "", "study code")
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	cmd.Flags().StringVar(&key, "key", "", "allocation key file")
	return cmd
}

func newAllocationCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "allocation", Short: "The allocation list"}
	var key, arm string
	var asJSON bool
	export := &cobra.Command{
		Use:   "export [--key trial.key] [--arm ID]",
		Short: "List allocations; with the key, with arms (the caseload list with --arm)",
		Long: `List every allocation in order of randomization: slot, study code, group,
stratum, date, withdrawn. With the allocation key the arms are added, and the
export is recorded in the audit chain; --arm keeps one arm (e.g. the
case managers' caseload: --arm intervention).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, p, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			if arm != "" && key == "" {
				return &trial.KeyError{File: "--key", Err: fmt.Errorf("--arm needs the allocation key")}
			}
			k, err := optionalKey(ctx, db, key)
			if err != nil {
				return err
			}
			rows, err := db.AllocationList(ctx, p, k, arm, f.actor())
			if errors.Is(err, trial.ErrUnknownArm) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if asJSON {
				return f.IO.JSON(rows)
			}
			head := []string{"slot", "study_code", "group", "stratum", "date", "withdrawn"}
			if k != nil {
				head = append(head, "arm", "arm_label")
			}
			t := f.IO.NewTable(head...)
			for _, r := range rows {
				cells := []string{strconv.Itoa(r.Slot), r.StudyCode, r.Group, r.Stratum, r.Date, strconv.FormatBool(r.Withdrawn)}
				if k != nil {
					cells = append(cells, r.Arm, r.ArmLabel)
				}
				t.Row(cells...)
			}
			return t.Flush()
		},
	}
	export.Flags().StringVar(&key, "key", "", "allocation key file (adds arms; recorded)")
	export.Flags().StringVar(&arm, "arm", "", "keep only this arm (needs --key)")
	export.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.AddCommand(export)
	return cmd
}
