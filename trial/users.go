package trial

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rct-trials/rct/internal/lazyre"
)

// Roles of rct serve's accounts: what each may see and do is decided by
// package serve; the store keeps the account.
const (
	RoleResearcher  = "researcher"   // enrols, randomizes (blind to arms), withdraws, verifies, analyses blinded
	RoleRandomizer  = "randomizer"   // as a researcher, sees the arm on the receipt, unblinds in an emergency
	RoleInterviewer = "interviewer"  // their families' templates and imports; never a group or an arm
	RoleCaseManager = "case_manager" // the caseload and the activity log (the server holds the key)
	RoleAnalyst     = "analyst"      // blinded analysis, report and data export
)

// Roles lists every role.
var Roles = []string{RoleResearcher, RoleRandomizer, RoleInterviewer, RoleCaseManager, RoleAnalyst}

// MaxFailedLogins locks an account after this many failed logins in a row,
// until it gets a new password.
const MaxFailedLogins = 10

// User is an account of rct serve.
type User struct {
	ID        int64  `json:"-"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Hash      string `json:"-"`
	Disabled  bool   `json:"disabled"`
	Failed    int    `json:"failed_logins"`
	Locked    bool   `json:"locked"`
	CreatedAt string `json:"created_at"`
	CreatedBy string `json:"created_by"`
	Families  int    `json:"families_assigned"`
}

// ErrNoUser is returned for a name that has no account.
var ErrNoUser = errors.New("no such user")

// ErrAccount marks an account change the store refuses for what it was
// given (a bad name or role, a name taken, a family unknown): the caller's
// mistake.
var ErrAccount = errors.New("account refused")

// accountError is an ErrAccount with its own message.
type accountError struct{ msg string }

func (e accountError) Error() string        { return e.msg }
func (e accountError) Is(target error) bool { return target == ErrAccount }

func accountErr(format string, args ...any) error { return accountError{fmt.Sprintf(format, args...)} }

var userRE = lazyre.New(`^[a-z0-9][a-z0-9._@-]{1,63}$`)

// CheckUserName refuses names that are not 2–64 lower-case letters,
// digits and . _ @ -.
func CheckUserName(name string) error {
	if !userRE().MatchString(name) {
		return accountErr("user name %q: 2 to 64 lower-case letters, digits and . _ @ -, starting with a letter or digit", name)
	}
	return nil
}

// AddUser creates an account with a password hash (see
// internal/passwords).
func (db *DB) AddUser(ctx context.Context, name, role, hash string, a Actor) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	if !slices.Contains(Roles, role) {
		return accountErr("role %q is not one of %s", role, strings.Join(Roles, ", "))
	}
	return db.Write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return accountErr("user %s exists (change the password with `rct user passwd`)", name)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users (name, role, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)`, name, role, hash, a.Stamp(), a.Name)
		return err
	})
}

const userCols = `u.id, u.name, u.role, u.hash, u.disabled, u.failed, u.created_at, u.created_by,
	(SELECT count(*) FROM user_families uf WHERE uf.user = u.id)`

func scanUser(s interface{ Scan(...any) error }) (*User, error) {
	u := &User{}
	if err := s.Scan(&u.ID, &u.Name, &u.Role, &u.Hash, &u.Disabled, &u.Failed, &u.CreatedAt, &u.CreatedBy, &u.Families); err != nil {
		return nil, err
	}
	u.Locked = u.Failed >= MaxFailedLogins
	return u, nil
}

// UserByName returns the account, ErrNoUser when there is none.
func (db *DB) UserByName(ctx context.Context, name string) (*User, error) {
	u, err := scanUser(db.sql.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.name = ?`, name))
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("%w: %s", ErrNoUser, name)
	}
	return u, err
}

// Users lists every account in order of name.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+userCols+` FROM users u ORDER BY u.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// updateUser changes one account, ErrNoUser when there is none.
func (db *DB) updateUser(ctx context.Context, name, set string, args ...any) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE users SET `+set+` WHERE name = ?`, append(args, name)...)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrNoUser, name)
		}
		return nil
	})
}

// SetPassword gives an account a new password hash and unlocks it.
func (db *DB) SetPassword(ctx context.Context, name, hash string) error {
	return db.updateUser(ctx, name, `hash = ?, failed = 0`, hash)
}

// SetDisabled disables an account (no login) or enables it again.
func (db *DB) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return db.updateUser(ctx, name, `disabled = ?`, disabled)
}

// LoginFailed counts a failed login of an existing account.
func (db *DB) LoginFailed(ctx context.Context, name string) error {
	return db.updateUser(ctx, name, `failed = failed + 1`)
}

// LoginSucceeded resets the count of failed logins.
func (db *DB) LoginSucceeded(ctx context.Context, name string) error {
	return db.updateUser(ctx, name, `failed = 0`)
}

// Assign gives an interviewer the families they visit (study codes),
// replacing the families assigned before.
func (db *DB) Assign(ctx context.Context, name string, codes []string) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		var id int64
		var role string
		err := tx.QueryRowContext(ctx, `SELECT id, role FROM users WHERE name = ?`, name).Scan(&id, &role)
		if err == sql.ErrNoRows {
			return fmt.Errorf("%w: %s", ErrNoUser, name)
		}
		if err != nil {
			return err
		}
		if role != RoleInterviewer {
			return accountErr("user %s is a %s: families are assigned to interviewers", name, role)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_families WHERE user = ?`, id); err != nil {
			return err
		}
		for _, c := range NormalizeCodes(codes) {
			var fam int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM families WHERE study_code = ?`, c).Scan(&fam)
			if err == sql.ErrNoRows {
				return accountErr("family %s: no such study code", c)
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO user_families (user, family) VALUES (?, ?)`, id, fam); err != nil {
				return err
			}
		}
		return nil
	})
}

// Assigned returns the study codes of the families assigned to a user.
func (db *DB) Assigned(ctx context.Context, name string) (map[string]bool, error) {
	return ColumnSet[string](ctx, db.sql, `SELECT f.study_code FROM user_families uf JOIN users u ON u.id = uf.user
		JOIN families f ON f.id = uf.family WHERE u.name = ?`, name)
}

// RecordAccess appends an access entry to the audit chain, without the
// key: who did what through rct serve (logged in, downloaded, uploaded),
// never an identifying detail. It is hash-linked like every entry and
// covered by the MAC of the next entry appended with the key.
func (db *DB) RecordAccess(ctx context.Context, a Actor, action, detail string) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		_, err := appendChain(ctx, tx, nil, nil, ChainBody{Kind: KindAccess, Action: action, Detail: detail, At: a.Stamp(), By: a.Name})
		return err
	})
}
