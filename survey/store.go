package survey

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/trial"
)

// ErrNoCodebook is returned when the trial has no codebook installed.
var ErrNoCodebook = errors.New("the trial has no codebook: install one with `rct codebook install FILE`")

// Waves returns the protocol's wave ids.
func Waves(p *trial.Protocol) []string {
	var out []string
	for _, w := range p.Waves {
		out = append(out, w.ID)
	}
	return out
}

// CheckProtocol checks that every survey variable the protocol names is in
// the codebook, asked where the protocol reads it and of a type it can
// use: each survey outcome at its waves (and baseline wave), the survey
// variables of the balance table at the first wave, and the activity-log
// variables of the complier effect (select_one with codes 0 and 1, or
// integer) and the dose (integer or decimal).
func (cb *Codebook) CheckProtocol(name string, p *trial.Protocol) error {
	var errs dataerr.List
	add := func(v *Variable, format string, args ...any) {
		e := &dataerr.Error{File: name, Err: fmt.Errorf(format, args...)}
		if v != nil {
			e.Line = v.line
		}
		errs = append(errs, e)
	}
	numeric := func(v *Variable) bool { return v.Kind != TextType && v.Kind != Date && v.Kind != SelectMultiple }
	for _, o := range p.Outcomes {
		if o.Source.Survey == "" {
			continue
		}
		v := cb.Variable(o.Source.Survey)
		if v == nil {
			add(nil, "outcome %s of the protocol reads survey variable %q, which the codebook does not define", o.ID, o.Source.Survey)
			continue
		}
		waves := slices.Clone(o.Source.Waves)
		if o.Baseline != nil && o.Baseline.Wave != "" {
			waves = append(waves, o.Baseline.Wave)
		}
		for _, w := range waves {
			if !slices.Contains(v.Waves, w) {
				add(v, "variable %s is not asked in %s, where outcome %s of the protocol reads it", v.Name, w, o.ID)
			}
		}
		if !numeric(v) {
			add(v, "variable %s (%s) cannot be outcome %s: outcomes are numbers or select_one codes", v.Name, v.Type, o.ID)
		}
	}
	if b := p.Analysis.Balance; b != nil && len(p.Waves) > 0 {
		first := p.Waves[0].ID
		for _, name := range b.Survey {
			switch v := cb.Variable(name); {
			case v == nil:
				add(nil, "analysis.balance.survey of the protocol names %q, which the codebook does not define", name)
			case !slices.Contains(v.Waves, first):
				add(v, "variable %s is not asked in %s, the baseline wave where analysis.balance.survey reads it", v.Name, first)
			case !numeric(v):
				add(v, "variable %s (%s) cannot be a balance variable: they are numbers or select_one codes", v.Name, v.Type)
			}
		}
	}
	if c := p.Analysis.Compliance; c != nil {
		cb.checkCaseLogVariable(c.Received, "analysis.compliance.received", true, add)
		for _, d := range c.Dose {
			cb.checkCaseLogVariable(d, "analysis.compliance.dose", false, add)
		}
	}
	return errs.Err()
}

// checkCaseLogVariable checks an activity-log variable the protocol names:
// a 0/1 indicator when received, else a number to sum.
func (cb *Codebook) checkCaseLogVariable(name, key string, received bool, add func(*Variable, string, ...any)) {
	v := cb.Variable(name)
	switch {
	case v == nil:
		add(nil, "%s of the protocol names %q, which the codebook does not define", key, name)
	case !slices.Contains(v.Waves, CaseLog):
		add(v, "variable %s is not in the activity log (waves: [caselog]), where %s of the protocol reads it", v.Name, key)
	case received && v.Kind == SelectOne && !(cb.hasCode(v.List, "0") && cb.hasCode(v.List, "1")):
		add(v, "variable %s is %s of the protocol: its list %s needs the codes 1 (received) and 0", v.Name, key, v.List)
	case received && v.Kind != SelectOne && v.Kind != Integer:
		add(v, "variable %s (%s) cannot be %s: a 0/1 select_one or integer", v.Name, v.Type, key)
	case !received && v.Kind != Integer && v.Kind != Decimal:
		add(v, "variable %s (%s) cannot be %s: a dose is an integer or decimal to sum", v.Name, v.Type, key)
	}
}

// Install puts cb in force as the trial's next codebook version. Installing
// the codebook already in force changes nothing (changed is false).
func Install(ctx context.Context, db *trial.DB, p *trial.Protocol, cb *Codebook, name, reason string, a trial.Actor) (version int, changed bool, err error) {
	if err := cb.CheckProtocol(name, p); err != nil {
		return 0, false, err
	}
	err = db.Write(ctx, func(tx *sql.Tx) error {
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0),
			coalesce((SELECT sha256 FROM codebooks ORDER BY version DESC LIMIT 1), '') FROM codebooks`).Scan(&version, &cur); err != nil {
			return err
		}
		if cur == cb.SHA256() {
			return nil
		}
		if version > 0 && reason == "" {
			return fmt.Errorf("%w: a new codebook version needs --reason", errUsage)
		}
		if reason == "" {
			reason = "first codebook"
		}
		version++
		changed = true
		_, err := tx.ExecContext(ctx, `INSERT INTO codebooks (version, label, sha256, text, installed_by, installed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			version, cb.Codebook.Version, cb.SHA256(), string(cb.text), a.Name, a.Stamp(), reason)
		return err
	})
	return version, changed, err
}

// errUsage marks a mistake in how a command was called.
var errUsage = errors.New("usage")

// IsUsage reports whether err is a usage mistake (exit code 2).
func IsUsage(err error) bool { return errors.Is(err, errUsage) }

// Current returns the codebook in force and its version.
func Current(ctx context.Context, db *trial.DB, p *trial.Protocol) (*Codebook, int, error) {
	var text string
	var version int
	err := db.SQL().QueryRowContext(ctx, `SELECT version, text FROM codebooks ORDER BY version DESC LIMIT 1`).Scan(&version, &text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, ErrNoCodebook
	}
	if err != nil {
		return nil, 0, err
	}
	cb, err := ParseCodebook(fmt.Sprintf("codebook version %d", version), []byte(text), Waves(p))
	if err != nil {
		return nil, 0, fmt.Errorf("the codebook in force no longer fits the protocol: %w", err)
	}
	return cb, version, nil
}

// Wave statuses of a family.
const (
	StatusCompleted     = "completed"               // interviewed within the window
	StatusCompletedLate = "completed_out_of_window" // interviewed outside the window
	StatusDue           = "due"                     // the window is open
	StatusOverdue       = "overdue"                 // the window closed without an interview
	StatusUpcoming      = "upcoming"                // the window is not open yet
	StatusWithdrawn     = "withdrawn"               // the family withdrew
)

// Slot is one family's place in one wave. It carries no arm or group.
type Slot struct {
	Family      int64  `json:"-"`
	StudyCode   string `json:"study_code"`
	Wave        string `json:"wave"`
	Due         string `json:"due_date"`
	Opens       string `json:"window_opens"`
	Closes      string `json:"window_closes"`
	Status      string `json:"status"`
	Interviewed string `json:"interview_date,omitempty"`
}

func wave(p *trial.Protocol, id string) (trial.Wave, int, bool) {
	for i, w := range p.Waves {
		if w.ID == id {
			return w, i, true
		}
	}
	return trial.Wave{}, 0, false
}

// ErrUnknownWave is returned for a wave the protocol does not have.
var ErrUnknownWave = errors.New("unknown wave")

func unknownWave(p *trial.Protocol, id string) error {
	return fmt.Errorf("%w %q: the protocol's waves are %v (%w)", ErrUnknownWave, id, Waves(p), errUsage)
}

// Schedule returns every family's slot in a wave on day today, in order of
// due date and study code. A family is scheduled once randomized (its due
// date is the randomization date plus the wave's offset); when the protocol
// randomizes after baseline, the first wave counts from enrolment instead.
func Schedule(ctx context.Context, db *trial.DB, p *trial.Protocol, waveID string, today time.Time) ([]Slot, error) {
	w, idx, ok := wave(p, waveID)
	if !ok {
		return nil, unknownWave(p, waveID)
	}
	members, err := db.Members(ctx)
	if err != nil {
		return nil, err
	}
	out, err := schedule(ctx, db, p, w, idx, today, members)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Slot) int {
		if a.Due != b.Due {
			if a.Due < b.Due {
				return -1
			}
			return 1
		}
		if a.StudyCode < b.StudyCode {
			return -1
		}
		return 1
	})
	return out, nil
}

// schedule is Schedule of the members read already, in their order.
func schedule(ctx context.Context, db *trial.DB, p *trial.Protocol, w trial.Wave, idx int, today time.Time, members []trial.Member) ([]Slot, error) {
	done, err := interviewDates(ctx, db, w.ID)
	if err != nil {
		return nil, err
	}
	// Families randomized on the same day share their window: each day's
	// is worked out once (at 100,000 families, a third of the time).
	type window struct {
		due, opens, closes string
		o, c               time.Time
	}
	windows := map[string]window{}
	out := make([]Slot, 0, len(members))
	for _, m := range members {
		base := m.RandomizedOn
		if idx == 0 && p.Randomization.AfterBaseline {
			base = m.EnrolledOn
		}
		if base == "" {
			continue
		}
		win, ok := windows[base]
		if !ok {
			b, err := time.Parse("2006-01-02", base)
			if err != nil {
				return nil, fmt.Errorf("family %s: date %q in the database: %v", m.StudyCode, base, err)
			}
			due := w.Offset.AddTo(b)
			win.o, win.c = due.AddDate(0, 0, -int(w.Window.Before.Days())), due.AddDate(0, 0, int(w.Window.After.Days()))
			win.due, win.opens, win.closes = day(due), day(win.o), day(win.c)
			windows[base] = win
		}
		s := Slot{Family: m.ID, StudyCode: m.StudyCode, Wave: w.ID, Due: win.due, Opens: win.opens, Closes: win.closes}
		d, interviewed := done[m.ID]
		switch {
		case interviewed:
			s.Interviewed = d
			s.Status = StatusCompleted
			if d != "" && (d < s.Opens || d > s.Closes) {
				s.Status = StatusCompletedLate
			}
		case m.Withdrawn:
			s.Status = StatusWithdrawn
		case today.Before(win.o):
			s.Status = StatusUpcoming
		case today.After(win.c):
			s.Status = StatusOverdue
		default:
			s.Status = StatusDue
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, nil // as before: no slots is nil
	}
	return out, nil
}

func day(t time.Time) string { return t.Format("2006-01-02") }

// interviewDates returns, for each family with a response to the wave, its
// current interview date ("" if none recorded).
func interviewDates(ctx context.Context, db *trial.DB, waveID string) (map[int64]string, error) {
	out := map[int64]string{}
	rows, err := db.SQL().QueryContext(ctx, `SELECT family FROM survey_responses WHERE wave = ? AND period = ''`, waveID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var f int64
		if err := rows.Scan(&f); err != nil {
			return nil, err
		}
		out[f] = ""
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	versions := map[int64]int{}
	err = eachInterviewDate(ctx, db, `s.wave = ? AND s.period = ''`, []any{waveID}, func(family int64, a packedAnswer) {
		if _, ok := out[family]; ok && a.version > versions[family] {
			versions[family], out[family] = a.version, a.value
		}
	})
	return out, err
}

// eachInterviewDate calls fn with every stored version of interview_date
// in the answer sets where is true (of the table s), blanked ones with
// value "".
func eachInterviewDate(ctx context.Context, db *trial.DB, where string, args []any, fn func(family int64, a packedAnswer)) error {
	rows, err := db.SQL().QueryContext(ctx, `SELECT s.family, s.wave, s.answers FROM survey_answer_sets s WHERE `+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var family int64
		var form string
		var answers sql.RawBytes
		if err := rows.Scan(&family, &form, &answers); err != nil {
			return err
		}
		found, err := findAnswers(answers, "interview_date")
		if err != nil {
			return fmt.Errorf("survey: the stored answers of family %d at %s do not read back: %w", family, form, err)
		}
		for _, a := range found {
			fn(family, a)
		}
	}
	return rows.Err()
}

// WaveStatus counts a wave's slots by status.
type WaveStatus struct {
	Wave   string         `json:"wave"`
	Label  string         `json:"label"`
	Counts map[string]int `json:"counts"`
	Total  int            `json:"scheduled"`
}

// Status counts every wave's slots by status on day today.
func Status(ctx context.Context, db *trial.DB, p *trial.Protocol, today time.Time) ([]WaveStatus, error) {
	out := []WaveStatus{}
	for _, w := range p.Waves {
		slots, err := Schedule(ctx, db, p, w.ID, today)
		if err != nil {
			return nil, err
		}
		ws := WaveStatus{Wave: w.ID, Label: w.Label, Counts: map[string]int{}, Total: len(slots)}
		for _, s := range []string{StatusCompleted, StatusCompletedLate, StatusDue, StatusOverdue, StatusUpcoming, StatusWithdrawn} {
			ws.Counts[s] = 0
		}
		for _, s := range slots {
			ws.Counts[s.Status]++
		}
		out = append(out, ws)
	}
	return out, nil
}

// Version is one stored version of an answer, with where it came from.
type Version struct {
	Wave       string  `json:"wave"`
	Month      string  `json:"month,omitempty"`
	Variable   string  `json:"variable"`
	Version    int     `json:"version"`
	Value      *string `json:"value"` // null: blanked
	File       string  `json:"file"`
	SHA256     string  `json:"sha256"`
	Row        int     `json:"row"`
	ImportedBy string  `json:"imported_by"`
	ImportedAt string  `json:"imported_at"`
}

// History returns every version of every answer of a family (in one form
// when form is not ""), oldest first within each variable; with the
// activity log (opened with the key) its months too.
func History(ctx context.Context, db *trial.DB, studyCode, form string, log *ActivityLog) ([]Version, error) {
	var id int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT id FROM families WHERE study_code = ?`, studyCode).Scan(&id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("no family %s (%w)", studyCode, errUsage)
		}
		return nil, err
	}
	rows, err := db.SQL().QueryContext(ctx, `SELECT v.wave, v.period, v.variable, v.version, v.value, b.file_name, b.file_sha256, v.source_row, b.imported_by, b.imported_at
		FROM survey_values v JOIN import_batches b ON b.id = v.batch
		WHERE v.family = ? AND (? = '' OR v.wave = ?) ORDER BY v.wave, v.period, v.variable, v.version`, id, form, form)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		var v Version
		var val sql.NullString
		if err := rows.Scan(&v.Wave, &v.Month, &v.Variable, &v.Version, &val, &v.File, &v.SHA256, &v.Row, &v.ImportedBy, &v.ImportedAt); err != nil {
			return nil, err
		}
		if val.Valid {
			v.Value = &val.String
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if log == nil || (form != "" && form != CaseLog) {
		return out, nil
	}
	versions, err := log.history(ctx, db.SQL(), id)
	return append(out, versions...), err
}

// Answers returns the current answer to a variable at a wave (or in the
// activity log, every month's, keyed "K-0001 2017-03") by study code;
// blank and blanked answers are absent.
func Answers(ctx context.Context, db *trial.DB, form, variable string) (map[string]string, error) {
	w := Want{form, variable}
	all, err := AnswersOf(ctx, db, []Want{w})
	return all[w], err
}

// Want names a variable of a form (a wave).
type Want struct{ Form, Variable string }

// AnswersOf is Answers for several variables at once, in one pass over
// the stored answers, where a query per variable would each scan the
// whole table.
func AnswersOf(ctx context.Context, db *trial.DB, wants []Want) (map[Want]map[string]string, error) {
	out := map[Want]map[string]string{}
	var forms, variables []string
	for _, w := range wants {
		if !slices.Contains(forms, w.Form) {
			forms = append(forms, w.Form)
		}
		if !slices.Contains(variables, w.Variable) {
			variables = append(variables, w.Variable)
		}
	}
	if len(wants) == 0 {
		return out, nil
	}
	codes, err := trial.StudyCodes(ctx, db.SQL())
	if err != nil {
		return nil, err
	}
	// Each map is made for every family at once: grown an answer at a
	// time, the maps' rehashing was half of their writes at 80,000
	// families, and their old tables garbage.
	for _, w := range wants {
		out[w] = make(map[string]string, len(codes))
	}
	err = eachAnswer(ctx, db, codes, forms, variables, func(code, form, variable, value string, blanked bool) {
		if m, ok := out[Want{form, variable}]; ok {
			set(m, code, value, blanked)
		}
	})
	return out, err
}

// AnswerColumn holds the current answers to one variable at one form by
// row of a table: Values[r] ("" where none) and whether there is one.
type AnswerColumn struct {
	Values []string
	Has    []bool
}

// FormColumns reads the current answers to every variable of forms in one
// pass over the stored answers, as columns of a table of n rows: row gives
// the row of a study code (families not in it are left out). Columns exist
// for the variables that have a stored answer. Without a map per answer,
// an export of 80,000 families × 3 waves × 40 variables spends its time
// reading, not hashing study codes. progress, when set, is told of the
// interviews read (each family's answers at a form).
func FormColumns(ctx context.Context, db *trial.DB, forms []string, row map[string]int, n int, progress progress.Func) (map[Want]*AnswerColumn, error) {
	var tick func()
	if progress != nil {
		var interviews int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM survey_responses WHERE wave IN (`+trial.Placeholders(len(forms))+`)`,
			strArgs(forms)...).Scan(&interviews); err != nil {
			return nil, err
		}
		var done func()
		tick, done = progress.Start("interviews read", interviews)
		defer done()
	}
	out := map[Want]*AnswerColumn{}
	lastCode, lastForm, r := "", "", -1
	var last Want
	var col *AnswerColumn
	codes, err := trial.StudyCodes(ctx, db.SQL())
	if err != nil {
		return nil, err
	}
	err = eachAnswer(ctx, db, codes, forms, nil, func(code, form, variable, value string, blanked bool) {
		if tick != nil && (code != lastCode || form != lastForm) {
			lastForm = form
			tick()
		}
		if code != lastCode { // a family's answers come together
			lastCode, r = code, -1
			if i, ok := row[code]; ok && i >= 0 && i < n {
				r = i
			}
		}
		if r < 0 {
			return
		}
		if w := (Want{Form: form, Variable: variable}); col == nil || w != last {
			if col, last = out[w], w; col == nil {
				col = &AnswerColumn{Values: make([]string, n), Has: make([]bool, n)}
				out[w] = col
			}
		}
		// Versions come in order, the last is current; a blanked one
		// removes the answer.
		col.Values[r], col.Has[r] = value, !blanked
	})
	return out, err
}

// set records a version of an answer: versions come in order, the last is
// current, a blanked one removes the answer.
func set(m map[string]string, code, value string, blanked bool) {
	if blanked {
		delete(m, code)
	} else {
		m[code] = value
	}
}

// eachAnswer calls fn with every stored version of the answers to the
// variables (all when nil) of forms, each family's in the order of form,
// period, variable and version; code is the study code (codes has them
// by family id, as trial.StudyCodes reads them), followed by " 2017-03"
// for a month of the activity log. The answer sets come in the
// table's key order (family, form, period, batch) and each is sorted by
// variable, so a family's answers at a form are in order as they are read
// unless a later batch changed some; then they are sorted.
func eachAnswer(ctx context.Context, db *trial.DB, codes map[int64]string, forms, variables []string, fn func(code, form, variable, value string, blanked bool)) error {
	var want map[string]bool
	if variables != nil {
		want = map[string]bool{}
		for _, v := range variables {
			want[v] = true
		}
	}
	query := `SELECT s.family, s.wave, s.period, s.answers FROM survey_answer_sets s
		WHERE s.wave IN (` + trial.Placeholders(len(forms)) + `) AND s.family BETWEEN ? AND ?
		ORDER BY s.family, s.wave, s.period, s.batch, s.source_row`
	var group []packedAnswer
	var family int64
	var form string
	flush := func() {
		if len(group) == 0 {
			return
		}
		code := codes[family]
		if !slices.IsSortedFunc(group, comparePacked) {
			slices.SortStableFunc(group, comparePacked)
		}
		for _, a := range group {
			if want != nil {
				if !want[a.variable] {
					continue
				}
				// A few variables' values, kept by the caller: copied,
				// so that each does not keep its whole set's text.
				a.value = strings.Clone(a.value)
			}
			key := code
			if a.period != "" {
				key += " " + a.period
			}
			fn(key, form, a.variable, a.value, a.blanked)
		}
		group = group[:0]
	}
	handle := func(r answerSetRow) error {
		if r.family != family || r.form != form {
			flush()
			family, form = r.family, r.form
		}
		var err error
		if group, err = decodeAnswerSet(group, r.answers, r.period); err != nil {
			return fmt.Errorf("survey: the stored answers of family %s at %s do not read back: %w", codes[r.family], r.form, err)
		}
		return nil
	}
	// With readers of one snapshot beside the handle (DB.Snapshot), the
	// families are split among them by id: SQLite's scan is most of the
	// time, and each part is a range of the table's key. The first part
	// is handled as it is read; the others are kept until their turn, so
	// fn sees the families in order.
	rs := db.Readers()
	ranges := familyRanges(codes, len(rs))
	rs = rs[:len(ranges)]
	scan := func(r *trial.DB, part int, each func(answerSetRow) error) error {
		rows, err := r.SQL().QueryContext(ctx, query, append(strArgs(forms), ranges[part][0], ranges[part][1])...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x answerSetRow
			if err := rows.Scan(&x.family, &x.form, &x.period, &x.answers); err != nil {
				return err
			}
			if err := each(x); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	later := make([][]answerSetRow, len(rs))
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	for part := 1; part < len(rs); part++ {
		wg.Go(func() {
			errs[part] = scan(rs[part], part, func(x answerSetRow) error {
				later[part] = append(later[part], x)
				return nil
			})
		})
	}
	if err := scan(rs[0], 0, handle); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	wg.Wait()
	for part := 1; part < len(rs); part++ {
		if errs[part] != nil {
			return errs[part]
		}
		for _, x := range later[part] {
			if err := handle(x); err != nil {
				return err
			}
		}
		later[part] = nil
	}
	flush()
	return nil
}

// answerSetRow is a row of survey_answer_sets as eachAnswer reads it.
type answerSetRow struct {
	family                int64
	form, period, answers string
}

// familyRanges splits the families' ids into parts of about as many
// families, each a range of ids, first and last included; together they
// cover every id there can be.
func familyRanges(codes map[int64]string, parts int) [][2]int64 {
	ids := slices.Sorted(maps.Keys(codes))
	out := [][2]int64{{math.MinInt64, math.MaxInt64}}
	for k := 1; k < parts && len(ids) > 0; k++ {
		cut := ids[len(ids)*k/parts]
		if last := &out[len(out)-1]; cut > last[0] {
			last[1] = cut - 1
			out = append(out, [2]int64{cut, math.MaxInt64})
		}
	}
	return out
}

// packedAnswer is an answer of an answer set, with the response's period.
type packedAnswer struct {
	period, variable, value string
	version                 int
	blanked                 bool
}

// comparePacked orders answers by period, variable and version.
func comparePacked(a, b packedAnswer) int {
	return cmp.Or(strings.Compare(a.period, b.period), strings.Compare(a.variable, b.variable), cmp.Compare(a.version, b.version))
}

// strArgs are s as query arguments.
func strArgs(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Row is the slot as a pre-filled template row.
func (s Slot) Row() TemplateRow {
	return TemplateRow{StudyCode: s.StudyCode, Due: s.Due, Opens: s.Opens, Closes: s.Closes}
}

// ToInterview returns the slots of a wave still to interview on day today:
// due, overdue, and upcoming ones whose window opens within the span.
func ToInterview(ctx context.Context, db *trial.DB, p *trial.Protocol, wave string, within trial.Span, today time.Time) ([]Slot, error) {
	slots, err := Schedule(ctx, db, p, wave, today)
	if err != nil {
		return nil, err
	}
	horizon := day(within.AddTo(today))
	out := []Slot{}
	for _, s := range slots {
		if s.Status == StatusDue || s.Status == StatusOverdue || s.Status == StatusUpcoming && s.Opens <= horizon {
			out = append(out, s)
		}
	}
	return out, nil
}

// CaseLogRows returns the rows of the activity-log template of a month:
// the families of the caseload (study codes, read with the key) randomized
// by the end of the month.
func CaseLogRows(ctx context.Context, db *trial.DB, caseload map[string]bool, month time.Time) ([]TemplateRow, error) {
	members, err := db.Members(ctx)
	if err != nil {
		return nil, err
	}
	end := day(month.AddDate(0, 1, -1))
	var rows []TemplateRow
	for _, m := range members {
		if caseload[m.StudyCode] && m.RandomizedOn != "" && m.RandomizedOn <= end {
			rows = append(rows, TemplateRow{StudyCode: m.StudyCode, Month: month.Format("2006-01")})
		}
	}
	return rows, nil
}

// LastInterview is the latest interview date of any wave ("" before the
// first interview).
func LastInterview(ctx context.Context, db *trial.DB) (string, error) {
	last := ""
	err := eachInterviewDate(ctx, db, `s.period = ''`, nil, func(_ int64, a packedAnswer) {
		if !a.blanked {
			last = max(last, a.value)
		}
	})
	return last, err
}

// WarningCount counts the stored import warnings of one wave (or the
// activity log) and rule.
type WarningCount struct {
	Wave  string `json:"wave"`
	Rule  string `json:"rule"`
	Count int    `json:"count"`
}

// Warnings counts the warnings stored by the imports, by wave and rule.
func Warnings(ctx context.Context, db *trial.DB) ([]WarningCount, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT wave, rule, count(*) FROM survey_warnings GROUP BY wave, rule ORDER BY wave, rule`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []WarningCount{}
	for rows.Next() {
		var w WarningCount
		if err := rows.Scan(&w.Wave, &w.Rule, &w.Count); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// hasCode reports whether a choice list has the code.
func (cb *Codebook) hasCode(list, code string) bool {
	for _, c := range cb.Lists[list] {
		if c.Code == code {
			return true
		}
	}
	return false
}

// Batch is one imported file of a survey form.
type Batch struct {
	Form       string `json:"form"`
	File       string `json:"file"`
	SHA256     string `json:"sha256"`
	Rows       int    `json:"rows"`
	ImportedAt string `json:"imported_at"`
}

// Imports lists the survey files a user imported, the latest first.
func Imports(ctx context.Context, db *trial.DB, user string) ([]Batch, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT sb.form, b.file_name, b.file_sha256, b.rows_read, b.imported_at
		FROM import_batches b JOIN survey_batches sb ON sb.batch = b.id WHERE b.imported_by = ? ORDER BY b.id DESC`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Batch{}
	for rows.Next() {
		var b Batch
		if err := rows.Scan(&b.Form, &b.File, &b.SHA256, &b.Rows, &b.ImportedAt); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
