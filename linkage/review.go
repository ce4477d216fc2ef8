package linkage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
	"github.com/xuri/excelize/v2"
)

// ReviewSheet is the sheet of the clerical-review workbook.
const ReviewSheet = "review"

// reviewHeader is the layout of the review workbook: the pair side by side
// and the reviewer's decision.
var reviewHeader = []string{"link", "register", "probability", "weight",
	"study_code", "role", "trial_first_name", "trial_last_name", "trial_birth_date", "trial_postcode",
	"register_first_name", "register_last_name", "register_birth_date", "register_postcode", "decision"}

// ReviewPair is a candidate link awaiting a decision.
type ReviewPair struct {
	Link        int64
	Register    string
	Probability float64
	Weight      float64
	StudyCode   string
	Role        string
	Trial       [4]string // first name, last name, birth date, postcode
	Extract     [4]string
}

// ReviewPairs returns the links under clerical review, most probable first.
func ReviewPairs(ctx context.Context, db *trial.DB) ([]ReviewPair, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT l.id, l.register, l.probability, coalesce(l.weight, 0), f.study_code, p.role,
		p.first_name, p.last_name, coalesce(p.birth_date, ''), coalesce(p.postcode, ''),
		coalesce(l.first_name, ''), coalesce(l.last_name, ''), coalesce(l.birth_date, ''), coalesce(l.postcode, '')
		FROM register_links l JOIN persons p ON p.id = l.person JOIN families f ON f.id = p.family
		WHERE l.status = 'review' ORDER BY l.probability DESC, l.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ReviewPair{}
	for rows.Next() {
		var r ReviewPair
		if err := rows.Scan(&r.Link, &r.Register, &r.Probability, &r.Weight, &r.StudyCode, &r.Role,
			&r.Trial[0], &r.Trial[1], &r.Trial[2], &r.Trial[3], &r.Extract[0], &r.Extract[1], &r.Extract[2], &r.Extract[3]); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// WriteReview writes the pairs under review as a workbook: each pair side
// by side, a drop-down decision column (match / no match), everything else
// locked. Names are written as text cells, never formulas.
func WriteReview(w io.Writer, pairs []ReviewPair) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", ReviewSheet); err != nil {
		return err
	}
	for i, h := range reviewHeader {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		f.SetCellStr(ReviewSheet, cell, h)
	}
	for r, p := range pairs {
		vals := []any{p.Link, p.Register, p.Probability, p.Weight, p.StudyCode, p.Role}
		for _, s := range append(p.Trial[:], p.Extract[:]...) {
			vals = append(vals, s)
		}
		for c, v := range vals {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+2)
			var err error
			if s, ok := v.(string); ok {
				err = f.SetCellStr(ReviewSheet, cell, s)
			} else {
				err = f.SetCellValue(ReviewSheet, cell, v)
			}
			if err != nil {
				return err
			}
		}
	}
	last := max(len(pairs)+1, 2)
	col, _ := excelize.ColumnNumberToName(len(reviewHeader))
	dv := excelize.NewDataValidation(true)
	dv.SetSqref(fmt.Sprintf("%s2:%s%d", col, col, last))
	if err := dv.SetDropList([]string{"match", "no match"}); err != nil {
		return err
	}
	dv.SetInput("decision", "match: the same person; no match: two people; blank: decide later")
	if err := f.AddDataValidation(ReviewSheet, dv); err != nil {
		return err
	}
	open, _ := f.NewStyle(&excelize.Style{Protection: &excelize.Protection{Locked: false}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFF2CC"}}})
	if err := f.SetColStyle(ReviewSheet, col, open); err != nil {
		return err
	}
	if err := f.SetColWidth(ReviewSheet, "E", col, 16); err != nil {
		return err
	}
	if err := f.ProtectSheet(ReviewSheet, &excelize.SheetProtectionOptions{SelectLockedCells: true, SelectUnlockedCells: true, FormatColumns: true, AutoFilter: true, Sort: true}); err != nil {
		return err
	}
	if err := sheet.SetDimensions(f); err != nil {
		return err
	}
	return f.Write(w)
}

// ReviewResult counts what applying a review did.
type ReviewResult struct {
	Linked    int `json:"linked"`
	Rejected  int `json:"rejected"`
	Undecided int `json:"undecided"`
	Unchanged int `json:"already_decided_the_same"`
}

// ApplyReview reads a filled review workbook (or CSV with the same
// columns) and records each decision, in one transaction: "match" links
// the pair, "no match" rejects it (its events no longer count), blank
// leaves it under review. A decision on a link that is not under review
// must agree with the one recorded; a link the trial does not have, or a
// decision other than match / no match, is an error naming the cell.
func ApplyReview(ctx context.Context, db *trial.DB, path string, a trial.Actor) (*ReviewResult, error) {
	t, err := sheet.Open(path, sheet.Options{Prefer: ReviewSheet})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	li, di := t.Col("link"), t.Col("decision")
	if li < 0 || di < 0 {
		return nil, &dataerr.Error{File: path, Sheet: t.Sheet, Row: t.HeaderRow, Err: errors.New(`the header needs the columns "link" and "decision" (write the workbook with rct link review export)`)}
	}
	type decision struct {
		link   int64
		status string
		row    int
	}
	var ds []decision
	var errs dataerr.List
	res := &ReviewResult{}
	for {
		row, err := t.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseInt(strings.TrimSuffix(row.Cells[li], ".0"), 10, 64)
		if err != nil {
			errs = append(errs, t.At(row.Num, li, "%q is not a link number", row.Cells[li]))
			continue
		}
		var status string
		switch strings.ToLower(strings.Join(strings.Fields(row.Cells[di]), " ")) {
		case "":
			res.Undecided++
			continue
		case "match", "yes", "ja", "1":
			status = "linked"
		case "no match", "nomatch", "no", "nee", "0":
			status = "rejected"
		default:
			errs = append(errs, t.At(row.Num, di, "decision %q: write match or no match (or leave it blank)", row.Cells[di]))
			continue
		}
		ds = append(ds, decision{id, status, row.Num})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	err = db.Write(ctx, func(tx *sql.Tx) error {
		var errs dataerr.List
		for _, d := range ds {
			var cur string
			err := tx.QueryRowContext(ctx, `SELECT status FROM register_links WHERE id = ?`, d.link).Scan(&cur)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				errs = append(errs, t.At(d.row, li, "link %d is not a link of this trial", d.link))
				continue
			case err != nil:
				return err
			case cur == d.status:
				res.Unchanged++
				continue
			case cur != "review":
				errs = append(errs, t.At(d.row, di, "link %d was decided before (%s): a decision is not changed by a later workbook", d.link, cur))
				continue
			}
			// Once decided, the register's identifying fields are not kept.
			if _, err := tx.ExecContext(ctx, `UPDATE register_links SET status = ?, decided_by = ?, decided_at = ?,
				first_name = NULL, last_name = NULL, birth_date = NULL, postcode = NULL WHERE id = ?`, d.status, a.Name, a.Stamp(), d.link); err != nil {
				return err
			}
			if d.status == "linked" {
				res.Linked++
			} else {
				// Not a trial person: the events are not kept either.
				if _, err := tx.ExecContext(ctx, `DELETE FROM register_events WHERE link = ?`, d.link); err != nil {
					return err
				}
				res.Rejected++
			}
		}
		return errs.Err()
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// PurgeResult says what a purge of the review queue did.
type PurgeResult struct {
	Purged int `json:"purged"` // pairs never decided, now rejected without their identifying fields
	Kept   int `json:"kept"`   // pairs under review imported after the cutoff
}

// PurgeReview ends the review of the pairs imported before cutoff (all of
// them with the zero time) that nobody decided: they are rejected as a
// "no match" would, their events deleted, and the register's names, birth
// date and postcode — of people who are almost all not in the trial — are
// no longer kept. It is recorded with who and when.
func PurgeReview(ctx context.Context, db *trial.DB, cutoff time.Time, a trial.Actor) (*PurgeResult, error) {
	res := &PurgeResult{}
	stamp := cutoff.UTC().Format(time.RFC3339)
	all := cutoff.IsZero()
	err := db.Write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT l.id, b.imported_at FROM register_links l JOIN import_batches b ON b.id = l.batch WHERE l.status = 'review'`)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			var at string
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return err
			}
			if all || at < stamp {
				ids = append(ids, id)
			} else {
				res.Kept++
			}
		}
		rows.Close()
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE register_links SET status = 'rejected', decided_by = ?, decided_at = ?,
				first_name = NULL, last_name = NULL, birth_date = NULL, postcode = NULL WHERE id = ?`, a.Name+" (purged undecided)", a.Stamp(), id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM register_events WHERE link = ?`, id); err != nil {
				return err
			}
		}
		res.Purged = len(ids)
		detail := fmt.Sprintf(`{"purged":%d,"kept":%d,"cutoff":%q}`, res.Purged, res.Kept, stamp)
		_, err = tx.ExecContext(ctx, `INSERT INTO events (at, actor, kind, detail) VALUES (?, ?, 'review_purge', ?)`, a.Stamp(), a.Name, detail)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
