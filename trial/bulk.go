package trial

import (
	"context"
	"database/sql"
	"strings"
)

// Bulk inserts rows many at a time (INSERT ... VALUES (...), (...), ...):
// one statement per bulkRows rows instead of one per row. Packages that own
// tables (survey, linkage) use it inside DB.Write.
type Bulk struct {
	ctx  context.Context
	tx   *sql.Tx
	head string // INSERT INTO t (a, b, c)
	cols int
	args []any
	n    int
	full *sql.Stmt
}

const bulkRows = 200

// NewBulk prepares bulk inserts: head is "INSERT INTO t (a, b, c)" and
// cols the number of columns.
func NewBulk(ctx context.Context, tx *sql.Tx, head string, cols int) *Bulk {
	return &Bulk{ctx: ctx, tx: tx, head: head, cols: cols, args: make([]any, 0, cols*bulkRows)}
}

// Placeholders is n SQL parameters, "?, ?, ?", for an IN list or a row.
func Placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func (b *Bulk) statement(rows int) string {
	one := "(" + Placeholders(b.cols) + ")"
	return b.head + " VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// Add queues one row, writing the batch when it is full.
func (b *Bulk) Add(vals ...any) error {
	b.args = append(b.args, vals...)
	b.n++
	if b.n < bulkRows {
		return nil
	}
	if b.full == nil {
		st, err := b.tx.PrepareContext(b.ctx, b.statement(bulkRows))
		if err != nil {
			return err
		}
		b.full = st
	}
	_, err := b.full.ExecContext(b.ctx, b.args...)
	b.args, b.n = b.args[:0], 0
	return err
}

// Flush writes the queued rows and releases the statement.
func (b *Bulk) Flush() error {
	defer func() {
		if b.full != nil {
			b.full.Close()
			b.full = nil
		}
	}()
	if b.n == 0 {
		return nil
	}
	_, err := b.tx.ExecContext(b.ctx, b.statement(b.n), b.args...)
	b.args, b.n = b.args[:0], 0
	return err
}
