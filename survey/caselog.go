package survey

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rct-trials/rct/trial"
)

// The case managers' activity log exists for the intervention arm only:
// which families have rows would tell anyone holding the database which
// group is which arm. It is therefore never stored in the survey tables.
// Each month is one blob in table sealed_log, sealed with a key derived
// from the allocation key and padded to a size set by the number of
// randomized families (both arms), so that neither its content, nor which
// families it holds, nor how many, can be read without the key. Each
// import appends a caselog entry to the audit chain with the digest of
// the sealed log, so that a month deleted, edited or rolled back is found.

// logPurpose names the sealing key of the activity log.
const logPurpose = "activity log"

// logBudget is the padded size of a month, per randomized family, in the
// compact form (logcodec.go). A family's month of contacts takes ~30 bytes
// there (nine answers; measured in the 100,000-family demo), and only the
// intervention families have any.
const logBudget = 64

// ActivityLog is the case managers' activity log, opened with the key.
type ActivityLog struct {
	months map[string]*logMonth // by period (yyyy-mm)
	codes  map[int64]string     // family id → study code
	// legacy: an older rct stored the log in the survey tables; the next
	// import seals it and deletes those rows.
	legacy bool
	// touched are the months an import changed: only they are sealed again.
	touched map[string]bool
}

// logMonth is one month of the log, as sealed.
type logMonth struct {
	Responses map[int64]int64 // family → the batch of its first answer
	Values    []logValue
	Warnings  []logWarning
	// names are the variables and text the values' bytes, which a value
	// holds an index and an offset into: no value holds a pointer, so the
	// 7 million of a 100,000-family trial are neither scanned by the
	// collector nor two headers each (280 MB, not 504). text only grows,
	// and what a Builder has written stays as it is.
	names []string
	index map[string]uint32 // of names, made when a value is added
	text  strings.Builder
}

// logValue is one version of one answer.
type logValue struct {
	Family, Batch int64
	off           int64 // the value is text[off : off+n]
	Version, Row  int32
	variable      uint32 // names[variable]
	n             int32  // the value's length; -1: blanked
}

// name is v's variable.
func (m *logMonth) name(v *logValue) string { return m.names[v.variable] }

// value is v's value; false when blanked.
func (m *logMonth) value(v *logValue) (string, bool) {
	if v.n < 0 {
		return "", false
	}
	return m.text.String()[v.off : v.off+int64(v.n)], true
}

// add appends a version of an answer (value nil: blanked).
func (m *logMonth) add(family int64, variable string, version int, value *string, batch int64, row int) error {
	size := 0
	if value != nil {
		size = len(*value)
	}
	if version != int(int32(version)) || row != int(int32(row)) || size > math.MaxInt32 {
		return fmt.Errorf("the activity log: version %d, row %d or a value of %d bytes out of range", version, row, size)
	}
	if m.index == nil {
		m.index = make(map[string]uint32, len(m.names))
		for i, s := range m.names {
			m.index[s] = uint32(i)
		}
	}
	k, ok := m.index[variable]
	if !ok {
		k = uint32(len(m.names))
		m.index[variable] = k
		m.names = append(m.names, variable)
	}
	v := logValue{Family: family, Batch: batch, Version: int32(version), Row: int32(row), variable: k, n: -1}
	if value != nil {
		v.off, v.n = int64(m.text.Len()), int32(len(*value))
		m.text.WriteString(*value)
	}
	m.Values = append(m.Values, v)
	return nil
}

// logWarning is a warning raised by an import of the log.
type logWarning struct {
	Batch    int64  `json:"b"`
	Family   int64  `json:"f"`
	Variable string `json:"v"`
	Sheet    string `json:"s"`
	Row      int    `json:"r"`
	Col      string `json:"c"`
	Value    string `json:"x"`
	Rule     string `json:"u"`
	Message  string `json:"m"`
}

type queryer interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// OpenActivityLog opens the activity log with the allocation key.
func OpenActivityLog(ctx context.Context, db *trial.DB, key *trial.AllocationKey) (*ActivityLog, error) {
	return openLog(ctx, db.SQL(), key, func(fn func(period string, blob []byte) error) error {
		return db.SealedLog(ctx, fn)
	})
}

// openLog opens the months that each gives (their blobs valid until fn
// returns) and the log an older rct left in q's survey tables.
func openLog(ctx context.Context, q queryer, key *trial.AllocationKey, each func(fn func(period string, blob []byte) error) error) (*ActivityLog, error) {
	codes, err := trial.StudyCodes(ctx, q)
	if err != nil {
		return nil, err
	}
	l := &ActivityLog{months: map[string]*logMonth{}, codes: codes, touched: map[string]bool{}}
	// A month is opened here as each reads it, and decoded meanwhile on
	// another goroutine, through one reader: the reading (SQLite, the
	// blob's digest, its opening) and the decoding each took about a
	// second at 80,000 families, one after the other on one core. Two
	// buffers take turns; a month is read, not kept.
	type opened struct {
		period     string
		buf, plain []byte // plain is the month, in buf
	}
	months, free := make(chan opened), make(chan []byte, 2)
	free <- nil
	free <- nil
	var decodeErr error
	var failed atomic.Bool
	var decoding sync.WaitGroup
	decoding.Go(func() {
		var r monthReader
		for o := range months {
			if decodeErr == nil {
				if m, err := r.decode(o.plain); err != nil {
					decodeErr = fmt.Errorf("the activity log of %s: %w", o.period, err)
					failed.Store(true)
				} else {
					l.months[o.period] = m
					if legacyMonth(o.plain) {
						l.touched[o.period] = true // sealed by an older rct: the next import reseals it compact
					}
				}
			}
			free <- o.buf
		}
	})
	err = each(func(period string, blob []byte) error {
		if failed.Load() {
			return errDecoding // an earlier month's error is the one returned
		}
		buf := <-free
		plain, err := key.OpenBlob(logPurpose+" "+period, blob, &buf)
		if err != nil {
			free <- buf
			return fmt.Errorf("the activity log of %s: %w", period, err)
		}
		months <- opened{period, buf, plain}
		return nil
	})
	close(months)
	decoding.Wait()
	if decodeErr != nil { // of a month before any the reading failed on
		return nil, decodeErr
	}
	if err != nil {
		return nil, err
	}
	return l, l.readLegacy(ctx, q)
}

// errDecoding stops the reading of the activity log once a month does not
// decode.
var errDecoding = errors.New("survey: a month of the activity log does not decode")

// eachFamily calls fn with the indices of values grouped by family, each
// group in stored order, the groups in order of first appearance; fn
// must not keep run. Values sorted by family, as an import stores a
// month, are grouped in one pass: grouped through a map and a slice per
// family, 80,000 families a month took 0.45 s over 35 months.
func eachFamily(values []logValue, fn func(run []int32)) {
	if !slices.IsSortedFunc(values, func(a, b logValue) int { return cmp.Compare(a.Family, b.Family) }) {
		for _, run := range byFamily(values) {
			fn(run)
		}
		return
	}
	var run []int32
	for i := range values {
		if len(run) > 0 && values[i].Family != values[run[0]].Family {
			fn(run)
			run = run[:0]
		}
		run = append(run, int32(i))
	}
	if len(run) > 0 {
		fn(run)
	}
}

// byFamily returns the indices of values grouped by family, each group in
// stored order, the groups in order of first appearance.
func byFamily(values []logValue) [][]int32 {
	first := map[int64]int{}
	var groups [][]int32
	for i, v := range values {
		g, ok := first[v.Family]
		if !ok {
			g = len(groups)
			first[v.Family] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], int32(i))
	}
	return groups
}

// readLegacy adds the log an older rct stored readable in the survey tables.
func (l *ActivityLog) readLegacy(ctx context.Context, q queryer) error {
	// The values are read with their responses (the join below): with
	// none, there is nothing to read, and the values' table, all the
	// survey answers, is not scanned (1.7 s at 80,000 families).
	some, err := q.QueryContext(ctx, `SELECT 1 FROM survey_responses WHERE wave = ? LIMIT 1`, CaseLog)
	if err != nil {
		return err
	}
	found := some.Next()
	some.Close()
	if err := some.Err(); err != nil || !found {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT v.family, v.period, v.variable, v.version, v.value, v.batch, v.source_row, r.first_batch
		FROM survey_values v JOIN survey_responses r ON r.family = v.family AND r.wave = v.wave AND r.period = v.period
		WHERE v.wave = ? ORDER BY v.period, v.family, v.variable, v.version`, CaseLog)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var family, batch, first int64
		var period, variable string
		var version, row int
		var value sql.NullString
		if err := rows.Scan(&family, &period, &variable, &version, &value, &batch, &row, &first); err != nil {
			return err
		}
		var p *string
		if value.Valid {
			p = &value.String
		}
		m := l.month(period) // touched: sealed at the next import
		m.Responses[family] = first
		if err := m.add(family, variable, version, p, batch, row); err != nil {
			return err
		}
		l.legacy = true
	}
	return rows.Err()
}

func (l *ActivityLog) month(period string) *logMonth {
	l.touched[period] = true
	m, ok := l.months[period]
	if !ok {
		m = &logMonth{Responses: map[int64]int64{}}
		l.months[period] = m
	}
	if m.Responses == nil {
		m.Responses = map[int64]int64{}
	}
	return m
}

// stored is the log as the importer compares a file with it.
func (l *ActivityLog) stored() *storedForm {
	out := &storedForm{values: map[string]map[string]string{}, versions: map[string]map[string]int{}}
	for period, m := range l.months {
		for fam := range m.Responses {
			k := responseKey(fam, period)
			out.values[k], out.versions[k] = map[string]string{}, map[string]int{}
		}
		for i := range m.Values { // in version order within each variable
			v := &m.Values[i]
			k := responseKey(v.Family, period)
			if out.values[k] == nil {
				out.values[k], out.versions[k] = map[string]string{}, map[string]int{}
			}
			value, ok := m.value(v)
			keepCurrent(out.values[k], out.versions[k], m.name(v), int(v.Version), value, !ok)
		}
	}
	return out
}

// add records a changed value of an import.
func (l *ActivityLog) add(c change, batch int64) error {
	m := l.month(c.rec.period)
	if _, ok := m.Responses[c.rec.family]; !ok {
		m.Responses[c.rec.family] = batch
	}
	return m.add(c.rec.family, c.variable, c.version, c.value, batch, c.rec.row)
}

// seal writes the months an import touched sealed, deletes what an older
// rct left readable, and returns the caselog chain entry with the digest
// of the sealed log.
func (l *ActivityLog) seal(ctx context.Context, tx *sql.Tx, key *trial.AllocationKey, a trial.Actor) (*trial.ChainBody, error) {
	var randomized int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM allocations`).Scan(&randomized); err != nil {
		return nil, err
	}
	periods := make([]string, 0, len(l.touched))
	for p := range l.touched {
		periods = append(periods, p)
	}
	sort.Strings(periods)
	for _, period := range periods {
		plain, err := encodeMonth(l.months[period])
		if err != nil {
			return nil, err
		}
		blob, err := key.SealBlob(logPurpose+" "+period, plain, logBudget*randomized, nil)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sealed_log (period, blob) VALUES (?, ?)
			ON CONFLICT (period) DO UPDATE SET blob = excluded.blob`, period, blob); err != nil {
			return nil, err
		}
	}
	if l.legacy {
		for _, table := range []string{"survey_answer_sets", "survey_warnings", "survey_responses"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE wave = ?`, CaseLog); err != nil {
				return nil, err
			}
		}
	}
	digest, err := trial.SealedLogDigest(ctx, tx)
	if err != nil {
		return nil, err
	}
	return &trial.ChainBody{Kind: trial.KindCaseLog, Reason: "activity log imported", Digest: digest, At: a.Stamp(), By: a.Name}, nil
}

// Empty says whether no month of the log holds anything: none imported.
func (l *ActivityLog) Empty() bool { return len(l.months) == 0 && !l.legacy }

// Answers returns the current answer to a variable in every month, keyed
// "K-0001 2017-03", as Answers does for the survey tables; blanked answers
// are absent.
func (l *ActivityLog) Answers(variable string) map[string]string {
	out := map[string]string{}
	l.EachCurrent(func(code, period, v, value string) {
		if v == variable {
			out[code+" "+period] = value
		}
	})
	return out
}

// EachCurrent calls fn with the current answer of each family to each
// variable in each month, month by month in order; blanked answers are
// left out.
func (l *ActivityLog) EachCurrent(fn func(code, period, variable, value string)) {
	periods := make([]string, 0, len(l.months))
	for p := range l.months {
		periods = append(periods, p)
	}
	sort.Strings(periods)
	for _, period := range periods {
		m := l.months[period]
		eachFamily(m.Values, func(run []int32) {
			// A family's answers in the order stored: the current version
			// of each variable is its highest, the last stored of equals.
			code := l.codes[m.Values[run[0]].Family]
			for a, i := range run {
				v := &m.Values[i]
				current := true
				for b, j := range run {
					w := &m.Values[j]
					if b != a && w.variable == v.variable && (w.Version > v.Version || w.Version == v.Version && b > a) {
						current = false
						break
					}
				}
				if value, ok := m.value(v); current && ok {
					fn(code, period, m.name(v), value)
				}
			}
		})
	}
}

// Warnings counts the log's import warnings by rule.
func (l *ActivityLog) Warnings() map[string]int {
	out := map[string]int{}
	for _, m := range l.months {
		for _, w := range m.Warnings {
			out[w.Rule]++
		}
	}
	return out
}

// history lists every version of one family's log answers.
func (l *ActivityLog) history(ctx context.Context, q queryer, family int64) ([]Version, error) {
	batches := map[int64][4]string{}
	rows, err := q.QueryContext(ctx, `SELECT id, file_name, file_sha256, imported_by, imported_at FROM import_batches WHERE kind = 'caselog'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var b [4]string
		if err := rows.Scan(&id, &b[0], &b[1], &b[2], &b[3]); err != nil {
			rows.Close()
			return nil, err
		}
		batches[id] = b
	}
	rows.Close()
	var out []Version
	for period, m := range l.months {
		for i := range m.Values {
			v := &m.Values[i]
			if v.Family != family {
				continue
			}
			b := batches[v.Batch]
			var value *string
			if s, ok := m.value(v); ok {
				value = &s
			}
			out = append(out, Version{Wave: CaseLog, Month: period, Variable: m.name(v), Version: int(v.Version), Value: value,
				File: b[0], SHA256: b[1], Row: int(v.Row), ImportedBy: b[2], ImportedAt: b[3]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Month != b.Month {
			return a.Month < b.Month
		}
		if a.Variable != b.Variable {
			return a.Variable < b.Variable
		}
		return a.Version < b.Version
	})
	return out, nil
}

// String describes the log without its content.
func (l *ActivityLog) String() string {
	n := 0
	for _, m := range l.months {
		n += len(m.Responses)
	}
	return strconv.Itoa(len(l.months)) + " months, " + strconv.Itoa(n) + " family-months"
}
