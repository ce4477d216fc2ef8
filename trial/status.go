package trial

import (
	"context"
)

// Status counts families at each stage of the trial, in CONSORT order. It
// never reveals an arm or a group code.
type Status struct {
	TrialID        string `json:"trial_id"`
	Title          string `json:"title"`
	Amendment      int    `json:"protocol_amendment"`
	ProtocolSHA256 string `json:"protocol_sha256"`
	Referred       int    `json:"referred"`
	Duplicates     int    `json:"duplicates"`
	Assessed       int    `json:"assessed"` // referred, less duplicates
	NotEligible    int    `json:"excluded_not_eligible"`
	Declined       int    `json:"excluded_declined"`
	Eligible       int    `json:"eligible"` // meeting the criteria, consenting or not
	Enrolled       int    `json:"enrolled"`
	Randomized     int    `json:"randomized"`
	Withdrawn      int    `json:"withdrawn"`
	Unblinded      int    `json:"unblinded"`       // families whose arm was revealed
	TrialUnblinded bool   `json:"trial_unblinded"` // the whole trial was unblinded
}

// Status returns the trial's counts.
func (db *DB) Status(ctx context.Context) (*Status, error) {
	p, v, err := db.Protocol(ctx)
	if err != nil {
		return nil, err
	}
	s := &Status{TrialID: p.Trial.ID, Title: p.Trial.Title, Amendment: v.Amendment, ProtocolSHA256: v.SHA256}
	rows, err := db.sql.QueryContext(ctx, `SELECT outcome, count(*) FROM referrals GROUP BY outcome`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		var n int
		if err := rows.Scan(&o, &n); err != nil {
			return nil, err
		}
		s.Referred += n
		switch o {
		case Enrolled:
			s.Enrolled = n
		case NotEligible:
			s.NotEligible = n
		case Declined:
			s.Declined = n
		case Duplicate:
			s.Duplicates = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.Assessed = s.Referred - s.Duplicates
	s.Eligible = s.Enrolled + s.Declined
	if started, err := RandomizationStarted(ctx, db.sql); err != nil {
		return nil, err
	} else if started {
		err := db.sql.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM allocations),
			(SELECT count(DISTINCT family) FROM chain WHERE kind = 'withdraw'),
			(SELECT count(DISTINCT family) FROM chain WHERE kind = 'unblind_family'),
			(SELECT count(*) FROM chain WHERE kind = 'unblind_trial') > 0`).Scan(&s.Randomized, &s.Withdrawn, &s.Unblinded, &s.TrialUnblinded)
		if err != nil {
			return nil, err
		}
		if s.TrialUnblinded {
			s.Unblinded = s.Randomized
		}
	}
	return s, nil
}
