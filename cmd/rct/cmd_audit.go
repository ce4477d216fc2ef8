package main

import (
	"context"
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
	cmd.AddCommand(newAuditVerifyCmd(f), newAuditLogCmd(f), newAuditRevealCmd(f), newAuditWitnessCmd(f))
	return cmd
}

// AuditVerifyOptions are the inputs of `rct audit verify`.
type AuditVerifyOptions struct {
	Key  string
	JSON bool
}

func newAuditVerifyCmd(f *factory) *cobra.Command {
	var o AuditVerifyOptions
	cmd := &cobra.Command{
		Use:   "verify [--key trial.key]",
		Short: "Check the hash chain; with the key, re-derive every allocation from the seed",
		Long: `Check the audit chain of the trial: that it begins with this trial's init
entry (instance, seed commitment, protocol), every entry's hash and link to
the one before, the allocations table against the chain, and each randomized
family's referral and persons and strata against what they were when it was
randomized.

Without the key this finds accidental damage and careless edits; someone who
rewrites the chain consistently (every hash recomputed) is found only with
the key. With --key, also check every entry's MAC, the head, the chain
against the witness beside the key (trial.witness: a database rolled back to
an older copy, or shortened, is found), the sealed arms, and re-derive every
allocation from the seed and the recorded order. The head (last entry and its
hash) is printed: publish it to anchor the chain outside rct.

Exit code 3 when the chain does not verify, with the first problem first.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditVerify(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file (optional)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runAuditVerify(ctx context.Context, f *factory, o AuditVerifyOptions) error {
	s, err := f.open(ctx, need{key: o.Key})
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := s.DB.VerifyChain(ctx, s.Protocol, s.Key)
	if err != nil {
		return err
	}
	if o.JSON {
		if err := f.IO.JSON(rep); err != nil {
			return err
		}
	} else {
		t := f.IO.NewTable("check", "result")
		t.Row("entries", strconv.Itoa(rep.Entries))
		t.Row("allocations", strconv.Itoa(rep.Allocations))
		t.Row("unblindings", strconv.Itoa(rep.Unblindings))
		t.Row("withdrawals", strconv.Itoa(rep.Withdrawals))
		t.Row("keyed (MACs, witness, re-derived from the seed)", strconv.FormatBool(rep.Keyed))
		t.Row("head", fmt.Sprintf("entry %d, sha256 %s", rep.HeadSeq, rep.HeadHash))
		if err := t.Flush(); err != nil {
			return err
		}
		for _, n := range rep.Notes {
			f.IO.Printf("Note: %s.\n", n)
		}
	}
	if len(rep.Problems) > 0 {
		return dataerr.New(s.DB.Path, "the audit chain does not verify:\n%s", strings.Join(rep.Problems, "\n"))
	}
	f.IO.Printf("The audit chain verifies.\n")
	return nil
}

// AuditLogOptions are the inputs of `rct audit log`.
type AuditLogOptions struct {
	Kind string
	JSON bool
}

func newAuditLogCmd(f *factory) *cobra.Command {
	var o AuditLogOptions
	cmd := &cobra.Command{
		Use:   "log [--kind unblind_family]",
		Short: "The audit chain as a list: who did what, to which family, when and why (no arms)",
		Long: `List the entries of the audit chain, oldest first: the trial's init, every
allocation (slot and group code), emergency and trial unblinding, withdrawal,
keyed export or analysis, seed reveal and activity-log import, with who, when,
why and which family. No entry names an arm. --kind keeps one kind (init,
allocate, unblind_family, unblind_trial, withdraw, export, reveal, caselog).
The list is the entries as stored: 'rct audit verify' says whether they are
whole.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditLog(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Kind, "kind", "", "only entries of this kind")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runAuditLog(ctx context.Context, f *factory, o AuditLogOptions) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	entries, err := s.DB.AuditLog(ctx, o.Kind)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(entries)
	}
	t := f.IO.NewTable("seq", "kind", "at", "by", "family", "slot", "group", "keyed", "reason")
	for _, e := range entries {
		slot := ""
		if e.Slot > 0 {
			slot = strconv.Itoa(e.Slot)
		}
		why := e.Reason
		if e.Action != "" {
			why = strings.TrimSuffix(e.Action+": "+e.Detail, ": ")
		}
		t.Row(strconv.Itoa(e.Seq), e.Kind, e.At, e.By, e.Family, slot, e.Group, strconv.FormatBool(e.Keyed), why)
	}
	return t.Flush()
}

// AuditRevealOptions are the inputs of `rct audit reveal`.
type AuditRevealOptions struct {
	Key string
}

func newAuditRevealCmd(f *factory) *cobra.Command {
	var o AuditRevealOptions
	cmd := &cobra.Command{
		Use:   "reveal --key trial.key",
		Short: "Print the seed, once the trial is unblinded, for anyone to re-derive the sequence",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditReveal(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file")
	return cmd
}

func runAuditReveal(ctx context.Context, f *factory, o AuditRevealOptions) error {
	s, err := f.open(ctx, need{key: o.Key, keyFor: "revealing the seed"})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.DB.Reveal(ctx, s.Protocol, s.Key, s.Actor); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "seed\t%s\ncommitment\t%s\n", hex.EncodeToString(s.Key.Seed[:]), s.Key.SeedCommitment())
	f.IO.Printf("SHA-256 of the seed equals the commitment stored at init; the reveal is recorded in the audit chain.\n")
	return nil
}

// AuditWitnessOptions are the inputs of `rct audit witness`.
type AuditWitnessOptions struct {
	Key string
}

func newAuditWitnessCmd(f *factory) *cobra.Command {
	var o AuditWitnessOptions
	cmd := &cobra.Command{
		Use:   "witness --key trial.key",
		Short: "Write the witness beside the key for a trial that has none (after a full check)",
		Long: `Write the audit chain's witness (trial.witness, beside the key) for a trial
begun by an rct that kept none, or whose witness was lost. The whole chain is
verified with the key first; the witness then records its head, and from
then on every keyed command keeps it up to date. A trial that has a witness
is left as it is.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditWitness(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file")
	return cmd
}

func runAuditWitness(ctx context.Context, f *factory, o AuditWitnessOptions) error {
	s, err := f.open(ctx, need{key: o.Key, keyFor: "writing the witness"})
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := s.DB.WriteWitness(ctx, s.Protocol, s.Key)
	if err != nil {
		return err
	}
	f.IO.Printf("%s: the witness holds entry %d (sha256 %s).\n", trial.WitnessPath(o.Key), rep.HeadSeq, rep.HeadHash)
	return nil
}

// UnblindOptions are the inputs of `rct unblind`.
type UnblindOptions struct {
	Family string
	Trial  bool
	Reason string
	Key    string
	JSON   bool
}

func newUnblindCmd(f *factory) *cobra.Command {
	var o UnblindOptions
	cmd := &cobra.Command{
		Use:   "unblind (--family CODE | --trial) --reason TEXT --key trial.key",
		Short: "Reveal one family's arm (emergency) or every group's arm (end of trial)",
		Long: `Reveal one family's arm (--family, in an emergency) or which group is which
arm (--trial, at the end of the trial). Needs the allocation key; each
unblinding is recorded in the audit chain with who, when and why, and
'rct status' counts the families unblinded.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (o.Family == "") == !o.Trial {
				return usagef("give --family CODE or --trial")
			}
			if o.Reason == "" {
				return usagef("give the reason with --reason")
			}
			return runUnblind(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Family, "family", "", "study code of the family to unblind")
	cmd.Flags().BoolVar(&o.Trial, "trial", false, "unblind the whole trial")
	cmd.Flags().StringVar(&o.Reason, "reason", "", "why")
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runUnblind(ctx context.Context, f *factory, o UnblindOptions) error {
	s, err := f.open(ctx, need{key: o.Key, keyFor: "unblinding"})
	if err != nil {
		return err
	}
	defer s.Close()
	u, err := s.DB.Unblind(ctx, s.Protocol, s.Key, o.Family, o.Reason, s.Actor)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(u)
	}
	if o.Trial {
		t := f.IO.NewTable("group", "arm", "label")
		for _, code := range sortedKeys(u.Groups) {
			a, _ := s.Protocol.Arm(u.Groups[code])
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
}

// WithdrawOptions are the inputs of `rct withdraw`.
type WithdrawOptions struct {
	Family string
	Reason string
	Key    string
}

func newWithdrawCmd(f *factory) *cobra.Command {
	var o WithdrawOptions
	cmd := &cobra.Command{
		Use:   "withdraw --family CODE --reason TEXT [--key trial.key]",
		Short: "Record that a randomized family withdrew (it stays in its arm)",
		Long: `Record that a randomized family withdrew, with who, when and why, as an
entry of the audit chain. The family stays in its arm: it is analysed as
randomized (intention to treat). No key is needed: recording a withdrawal
must not need the key that unblinds. Without --key the entry carries no MAC
and the next command that appends with the key covers it; with --key it is
keyed at once. A family withdrawn before is not recorded again.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Family == "" || o.Reason == "" {
				return usagef("give --family CODE and --reason TEXT")
			}
			return runWithdraw(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Family, "family", "", "study code")
	cmd.Flags().StringVar(&o.Reason, "reason", "", "why")
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file (optional)")
	return cmd
}

func runWithdraw(ctx context.Context, f *factory, o WithdrawOptions) error {
	s, err := f.open(ctx, need{key: o.Key})
	if err != nil {
		return err
	}
	defer s.Close()
	w, err := s.DB.Withdraw(ctx, s.Protocol, s.Key, strings.ToUpper(o.Family), o.Reason, s.Actor)
	if err != nil {
		return err
	}
	if w.Already {
		f.IO.Printf("%s withdrew before (audit chain entry %d): nothing recorded.\n", w.Family, w.Seq)
		return nil
	}
	f.IO.Printf("Withdrawal of %s recorded (audit chain entry %d); it is analysed in its arm.\n", w.Family, w.Seq)
	return nil
}

// AllocationExportOptions are the inputs of `rct allocation export`.
type AllocationExportOptions struct {
	Key  string
	Arm  string
	JSON bool
}

func newAllocationCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "allocation", Short: "The allocation list"}
	var o AllocationExportOptions
	export := &cobra.Command{
		Use:   "export [--key trial.key] [--arm ID]",
		Short: "List allocations; with the key, with arms (the caseload list with --arm)",
		Long: `List every allocation in order of randomization: slot, study code, group,
stratum, date, withdrawn. With the allocation key the arms are added, and the
export is recorded in the audit chain; --arm keeps one arm (e.g. the
case managers' caseload: --arm intervention).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAllocationExport(cmd.Context(), f, o)
		},
	}
	export.Flags().StringVar(&o.Key, "key", "", "allocation key file (adds arms; recorded)")
	export.Flags().StringVar(&o.Arm, "arm", "", "keep only this arm (needs --key)")
	export.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	cmd.AddCommand(export)
	return cmd
}

func runAllocationExport(ctx context.Context, f *factory, o AllocationExportOptions) error {
	n := need{key: o.Key}
	if o.Arm != "" {
		n.keyFor = "--arm"
	}
	s, err := f.open(ctx, n)
	if err != nil {
		return err
	}
	defer s.Close()
	rows, err := s.DB.AllocationList(ctx, s.Protocol, s.Key, o.Arm, s.Actor)
	if errors.Is(err, trial.ErrUnknownArm) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(rows)
	}
	head := []string{"slot", "study_code", "group", "stratum", "date", "withdrawn"}
	if s.Key != nil {
		head = append(head, "arm", "arm_label")
	}
	t := f.IO.NewTable(head...)
	for _, r := range rows {
		cells := []string{strconv.Itoa(r.Slot), r.StudyCode, r.Group, r.Stratum, r.Date, strconv.FormatBool(r.Withdrawn)}
		if s.Key != nil {
			cells = append(cells, r.Arm, r.ArmLabel)
		}
		t.Row(cells...)
	}
	return t.Flush()
}
