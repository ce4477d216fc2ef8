package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/internal/passwords"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

// UserOptions are the inputs of `rct user ...`.
type UserOptions struct {
	Name     string
	Role     string
	Families []string
	JSON     bool
}

func newUserCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Accounts of rct serve: add, list, disable, enable, passwd, assign"}
	var o UserOptions
	add := &cobra.Command{
		Use:   "add NAME --role ROLE --password-stdin",
		Short: "Create an account; the password is read from standard input",
		Long: `Create an account of rct serve. Roles:
  researcher    enrols, randomizes (the receipt shows no arm), withdraws,
                verifies the audit chain, analyses blinded
  randomizer    as a researcher, and sees the arm on the receipt and may
                unblind a family in an emergency (with the server's key)
  interviewer   the families assigned to them (rct user assign): due lists,
                templates, uploads; never a group or an arm
  case_manager  the caseload and the monthly activity log (with the key)
  analyst       the blinded analysis, report and data export
The password (at least 12 characters) is read from standard input, never
from a flag (flags show in the process list); it is stored as an argon2id
hash.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return runUserAdd(cmd.Context(), f, o)
		},
	}
	add.Flags().StringVar(&o.Role, "role", "", "researcher, randomizer, interviewer, case_manager or analyst")
	add.Flags().Bool("password-stdin", true, "read the password from standard input (the only way)")
	list := &cobra.Command{Use: "list", Short: "List the accounts", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return runUserList(cmd.Context(), f, o) }}
	list.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	passwd := &cobra.Command{Use: "passwd NAME --password-stdin", Short: "Give an account a new password (read from standard input); unlocks it", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return runUserPasswd(cmd.Context(), f, o)
		}}
	passwd.Flags().Bool("password-stdin", true, "read the password from standard input (the only way)")
	disable := &cobra.Command{Use: "disable NAME", Short: "Disable an account: it can no longer log in", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runUserDisable(cmd.Context(), f, args[0], true) }}
	enable := &cobra.Command{Use: "enable NAME", Short: "Enable a disabled account", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runUserDisable(cmd.Context(), f, args[0], false) }}
	assign := &cobra.Command{Use: "assign NAME --families K-0001,K-0002", Short: "Give an interviewer the families they visit (replaces the earlier list)", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return runUserAssign(cmd.Context(), f, o)
		}}
	assign.Flags().StringSliceVar(&o.Families, "families", nil, "study codes, comma-separated")
	cmd.AddCommand(add, list, passwd, disable, enable, assign)
	return cmd
}

// passwordHash reads one line from standard input as the password and
// returns its argon2id hash.
func passwordHash(in io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	hash, err := passwords.Hash(strings.TrimRight(line, "\r\n"))
	if err != nil {
		return "", usagef("password on standard input: %v", err)
	}
	return hash, nil
}

// userError makes what the store refuses of an account change a usage
// error.
func userError(err error) error {
	if errors.Is(err, trial.ErrNoUser) || errors.Is(err, trial.ErrAccount) {
		return usageError{err}
	}
	return err
}

func runUserAdd(ctx context.Context, f *factory, o UserOptions) error {
	if err := trial.CheckUserName(o.Name); err != nil {
		return usageError{err}
	}
	if o.Role == "" {
		return usagef("give --role (%s)", strings.Join(trial.Roles, ", "))
	}
	hash, err := passwordHash(f.IO.In)
	if err != nil {
		return err
	}
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.DB.AddUser(ctx, o.Name, o.Role, hash, s.Actor); err != nil {
		return userError(err)
	}
	f.IO.Printf("user %s (%s) added\n", o.Name, o.Role)
	return nil
}

func runUserList(ctx context.Context, f *factory, o UserOptions) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	users, err := s.DB.Users(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(users)
	}
	t := f.IO.NewTable("name", "role", "disabled", "locked", "failed_logins", "families_assigned", "created_at", "created_by")
	for _, u := range users {
		t.Row(u.Name, u.Role, strconv.FormatBool(u.Disabled), strconv.FormatBool(u.Locked), strconv.Itoa(u.Failed), strconv.Itoa(u.Families), u.CreatedAt, u.CreatedBy)
	}
	return t.Flush()
}

func runUserPasswd(ctx context.Context, f *factory, o UserOptions) error {
	hash, err := passwordHash(f.IO.In)
	if err != nil {
		return err
	}
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.DB.SetPassword(ctx, o.Name, hash); err != nil {
		return userError(err)
	}
	f.IO.Printf("user %s has a new password (and is unlocked); a running rct serve ends their sessions at their next request\n", o.Name)
	return nil
}

func runUserDisable(ctx context.Context, f *factory, name string, disabled bool) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.DB.SetDisabled(ctx, name, disabled); err != nil {
		return userError(err)
	}
	verb := map[bool]string{true: "disabled", false: "enabled"}[disabled]
	f.IO.Printf("user %s %s\n", name, verb)
	return nil
}

func runUserAssign(ctx context.Context, f *factory, o UserOptions) error {
	codes := trial.NormalizeCodes(o.Families)
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.DB.Assign(ctx, o.Name, codes); err != nil {
		return userError(err)
	}
	f.IO.Printf("%d families assigned to %s\n", len(codes), o.Name)
	return nil
}
