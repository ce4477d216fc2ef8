package trial

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/files"
)

// ProtocolVersion is one recorded version of the protocol: the original
// (amendment 0) or a numbered amendment.
type ProtocolVersion struct {
	Amendment  int    `json:"amendment"`
	SHA256     string `json:"sha256"`
	Reason     string `json:"reason"`
	RecordedBy string `json:"recorded_by"`
	RecordedAt string `json:"recorded_at"`
}

// Protocol returns the protocol in force (the latest amendment) and its version.
func (db *DB) Protocol(ctx context.Context) (*Protocol, ProtocolVersion, error) {
	v, text, err := db.protocolInForce(ctx)
	if err != nil {
		return nil, v, err
	}
	p, err := ParseProtocol(fmt.Sprintf("%s (protocol amendment %d)", db.Path, v.Amendment), text)
	if err != nil {
		return nil, v, err
	}
	return p, v, nil
}

// protocolInForce reads the latest protocol version and its text.
func (db *DB) protocolInForce(ctx context.Context) (ProtocolVersion, []byte, error) {
	var v ProtocolVersion
	var text []byte
	err := db.sql.QueryRowContext(ctx, `SELECT amendment, sha256, text, reason, recorded_by, recorded_at
		FROM protocol_versions ORDER BY amendment DESC LIMIT 1`).Scan(&v.Amendment, &v.SHA256, &text, &v.Reason, &v.RecordedBy, &v.RecordedAt)
	if err != nil {
		return v, nil, fmt.Errorf("%s: reading the protocol: %w", db.Path, err)
	}
	return v, text, nil
}

// Amendments lists every recorded protocol version, oldest first.
func (db *DB) Amendments(ctx context.Context) ([]ProtocolVersion, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT amendment, sha256, reason, recorded_by, recorded_at FROM protocol_versions ORDER BY amendment`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ProtocolVersion{}
	for rows.Next() {
		var v ProtocolVersion
		if err := rows.Scan(&v.Amendment, &v.SHA256, &v.Reason, &v.RecordedBy, &v.RecordedAt); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CheckProtocolFile refuses to go on when the protocol file differs from the
// protocol in force. path is the file named with --protocol; when it is
// empty, the file recorded at init is checked if it still exists.
func (db *DB) CheckProtocolFile(ctx context.Context, path string) error {
	explicit := path != ""
	if !explicit {
		var err error
		if path, err = db.Meta(ctx, "protocol_file"); err != nil || path == "" {
			return err
		}
	}
	text, err := files.ReadBounded(path, MaxProtocolFile)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil // the database travels without its protocol file: it holds the text
		}
		return dataerr.File(path, err)
	}
	v, cur, err := db.protocolInForce(ctx) // the text as recorded: no need to parse it
	if err != nil {
		return err
	}
	if bytes.Equal(text, cur) {
		return nil
	}
	return dataerr.New(path, "the protocol file differs from the protocol in force in %s (amendment %d, sha256 %s…): "+
		"record the change with `rct protocol amend --protocol %s --reason \"...\"`, or restore the file", db.Path, v.Amendment, v.SHA256[:12], path)
}

// RandomizationStarted reports whether any family has been allocated.
func RandomizationStarted(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'allocations'`).Scan(&n); err != nil || n == 0 {
		return false, err
	}
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM allocations`).Scan(&n)
	return n > 0, err
}

// Amend records p as the next numbered amendment of the protocol. Once
// randomization has started, arms, ratio, method and strata are fixed; the
// trial id and study-code prefix never change.
func (db *DB) Amend(ctx context.Context, name string, p *Protocol, reason string, a Actor) (ProtocolVersion, error) {
	var out ProtocolVersion
	if reason == "" {
		return out, errors.New("amend: give the reason for the amendment (--reason)")
	}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		var curText string
		if err := tx.QueryRowContext(ctx, `SELECT amendment, text FROM protocol_versions ORDER BY amendment DESC LIMIT 1`).Scan(&out.Amendment, &curText); err != nil {
			return err
		}
		if curText == string(p.Text()) {
			return dataerr.New(name, "nothing to amend: the file is the protocol in force (amendment %d)", out.Amendment)
		}
		cur, err := ParseProtocol("protocol in force", []byte(curText))
		if err != nil {
			return err
		}
		var problems dataerr.List
		refuse := func(path, format string, args ...any) {
			problems = append(problems, &dataerr.Error{File: name, Line: p.line(path), Err: fmt.Errorf(format, args...)})
		}
		if p.Trial.ID != cur.Trial.ID {
			refuse("trial.id", "the trial id cannot change (%s → %s)", cur.Trial.ID, p.Trial.ID)
		}
		if p.Trial.CodePrefix != cur.Trial.CodePrefix {
			refuse("trial.code_prefix", "the study-code prefix cannot change (%s → %s)", cur.Trial.CodePrefix, p.Trial.CodePrefix)
		}
		started, err := RandomizationStarted(ctx, tx)
		if err != nil {
			return err
		}
		if started {
			if !reflect.DeepEqual(p.Arms, cur.Arms) {
				refuse("arms", "randomization has started: the arms cannot change")
			}
			r, c := p.Randomization, cur.Randomization
			if r.Ratio != c.Ratio {
				refuse("randomization.ratio", "randomization has started: the ratio cannot change (%s → %s)", c.Ratio, r.Ratio)
			}
			if r.Method != c.Method || !reflect.DeepEqual(r.BlockSizes, c.BlockSizes) || r.P != c.P || r.Imbalance != c.Imbalance || r.MaxImbalance != c.MaxImbalance || r.SampleSize != c.SampleSize {
				refuse("randomization.method", "randomization has started: the method and its parameters cannot change")
			}
			if !reflect.DeepEqual(r.Strata, c.Strata) {
				refuse("randomization.strata", "randomization has started: the strata cannot change")
			}
		}
		if len(problems) > 0 {
			return problems
		}
		out = ProtocolVersion{Amendment: out.Amendment + 1, SHA256: p.SHA256(), Reason: reason, RecordedBy: a.Name, RecordedAt: a.Stamp()}
		if _, err := tx.ExecContext(ctx, `INSERT INTO protocol_versions VALUES (?, ?, ?, ?, ?, ?)`,
			out.Amendment, out.SHA256, string(p.Text()), reason, a.Name, out.RecordedAt); err != nil {
			return err
		}
		return logEvent(ctx, tx, a, "amend", nil, map[string]any{"amendment": out.Amendment, "sha256": out.SHA256, "reason": reason})
	})
	return out, err
}
