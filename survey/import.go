package survey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/trial"
)

// Issue is one finding of an import, at one cell (or row, or file).
type Issue struct {
	File      string `json:"file"`
	Sheet     string `json:"sheet"`
	Row       int    `json:"row"`    // 0: the whole file
	Column    string `json:"column"` // spreadsheet letter; "" for a whole row
	StudyCode string `json:"study_code"`
	Period    string `json:"month,omitempty"` // activity log: the month of the row
	Variable  string `json:"variable"`
	Value     string `json:"value"`
	Rule      string `json:"rule"`
	Severity  string `json:"severity"`
	Message   string `json:"message"`
}

// Error returns the issue as a data error (file, sheet, row, column).
func (i Issue) Error() *dataerr.Error {
	e := &dataerr.Error{File: i.File, Sheet: i.Sheet, Row: i.Row, Column: i.Variable, Err: errors.New(i.Message)}
	if i.Column != "" {
		e.Col = columnNumber(i.Column)
	}
	if i.StudyCode != "" {
		e.Err = fmt.Errorf("%s: %s", i.StudyCode, i.Message)
	}
	return e
}

func columnNumber(s string) int {
	n := 0
	for _, c := range s {
		n = n*26 + int(c-'A'+1)
	}
	return n
}

// ImportOptions say what to import and how.
type ImportOptions struct {
	Form            string // a wave id or CaseLog
	Files           []string
	DryRun          bool
	OverwriteBlanks bool // a blank cell blanks a stored value (as a new version)
	Actor           trial.Actor
	// Caseload is, for the activity log, the study codes of the families
	// the case managers guide (the intervention arm, read with the key).
	Caseload map[string]bool
	// Key is the allocation key, for the activity log: it is stored
	// sealed, and its import is an audit-chain entry.
	Key *trial.AllocationKey
	// Assigned, when not nil, are the only families the importer may
	// report (an interviewer's, through rct serve).
	Assigned map[string]bool
	// Names, when given, are the files' names as recorded and in the
	// results and issues (an upload's own name, not where it waits to be
	// checked).
	Names    []string
	MaxUnzip int64 // tests
	// Progress, when set, is told of the rows read (their number is not
	// known beforehand).
	Progress progress.Func
}

// FileResult says what one file brought.
type FileResult struct {
	File     string `json:"file"`
	SHA256   string `json:"sha256"`
	Sheet    string `json:"sheet,omitempty"`
	Rows     int    `json:"rows"`
	Batch    int64  `json:"batch,omitempty"` // 0: nothing changed, no batch recorded
	Errors   int    `json:"errors"`
	Warnings int    `json:"warnings"`
}

// ImportResult counts what an import did (or would do, with DryRun).
type ImportResult struct {
	Form         string       `json:"form"`
	Codebook     int          `json:"codebook_version"`
	Files        []FileResult `json:"files"`
	Rows         int          `json:"rows"`              // rows with answers
	NotAnswered  int          `json:"rows_not_answered"` // pre-filled rows without any answer: not interviewed
	NewResponses int          `json:"new_responses"`
	NewValues    int          `json:"new_values"`
	Changed      int          `json:"changed_values"` // stored as a new version; the old one is kept
	Unchanged    int          `json:"unchanged_values"`
	BlanksKept   int          `json:"blank_cells_kept_stored_value"`
	Blanked      int          `json:"values_blanked"`
	Errors       int          `json:"errors"`
	Warnings     int          `json:"warnings"`
	Issues       []Issue      `json:"issues"`
	DryRun       bool         `json:"dry_run"`
}

// ImportError is returned when an import found errors: nothing was written.
type ImportError struct{ Result *ImportResult }

func (e *ImportError) Error() string {
	var l dataerr.List
	for _, i := range e.Result.Issues {
		if i.Severity == SevError {
			l = append(l, i.Error())
		}
	}
	more := ""
	if len(l) > maxErrorsShown {
		more = fmt.Sprintf("\n... and %d more errors (all of them are in the findings listed on stdout and in --report)", len(l)-maxErrorsShown)
		l = l[:maxErrorsShown]
	}
	return fmt.Sprintf("%d errors in %d files: nothing was imported\n%s%s", e.Result.Errors, len(e.Result.Files), l.Error(), more)
}

const maxErrorsShown = 10

// Unwrap makes the error a data error (exit code 3).
func (e *ImportError) Unwrap() error { return dataerr.List{} }

// record is one row of a file: a family (and month) and its answers.
type record struct {
	file, sheet string
	row         int
	family      int64
	code        string
	period      string
	values      map[string]string // canonical text of non-blank cells
	blanks      []string          // variables whose cell is blank
	cols        map[string]string // variable → column letter (the file's, shared)
	fileIdx     int
}

// importer holds what an import needs besides the files.
type importer struct {
	tick    func() // a row read
	o       ImportOptions
	p       *trial.Protocol
	cb      *Codebook
	version int
	today   time.Time
	members map[string]trial.Member
	slots   map[int64]Slot
	res     *ImportResult
	vars    []*Variable // the form's variables, with the system ones first
	seen    map[string]seenAt
	nerr    int // errors so far: once there is one, nothing more is written

	// The transaction's side: answers are written as they are checked, and
	// rolled back when the import (or a dry run) ends in error.
	ctx             context.Context
	tx              *sql.Tx
	kind            string
	stored          *storedForm
	batches         map[int]int64
	insResp, insSet *trial.Bulk
	set             []packedAnswer // the answer set being written, and its JSON (the writing goroutine's)
	setJSON         []byte
	byName          []*change         // a record's changes by the rank of their variable's name
	rank            []int             // of each of vars by name
	wch             chan []change     // to the goroutine that writes
	sums            []string          // SHA-256 of each file
	log             *ActivityLog      // the activity log (opened with the key) instead of the survey tables
	langs           map[string]string // file → its template's label language (the messages' language)
}

// seenAt is where a family (and month) was first read in this import.
type seenAt struct {
	file string
	row  int
}

// Import checks the files of one form against the codebook in force and
// the trial, every cell again, and stores the answers in one transaction:
// a changed value is a new version with its batch (file SHA-256, who,
// when); blank cells leave stored values alone. Any error rejects the whole
// import; warnings are imported and recorded.
func Import(ctx context.Context, db *trial.DB, p *trial.Protocol, o ImportOptions) (*ImportResult, error) {
	cb, version, err := Current(ctx, db, p)
	if err != nil {
		return nil, err
	}
	w, idx, isWave := wave(p, o.Form)
	if o.Form != CaseLog && !isWave {
		return nil, unknownWave(p, o.Form)
	}
	im := &importer{o: o, p: p, cb: cb, version: version, today: o.Actor.Today(), langs: map[string]string{},
		members: map[string]trial.Member{}, slots: map[int64]Slot{}, seen: map[string]seenAt{},
		res: &ImportResult{Form: o.Form, Codebook: version, DryRun: o.DryRun, Issues: []Issue{}}}
	ms, err := db.Members(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		im.members[m.StudyCode] = m
	}
	if o.Form != CaseLog {
		slots, err := schedule(ctx, db, p, w, idx, im.today, ms)
		if err != nil {
			return nil, err
		}
		for _, s := range slots {
			im.slots[s.Family] = s
		}
		im.vars = append(im.vars, systemVars...)
	}
	im.vars = append(im.vars, cb.Form(o.Form)...)
	byName := make([]int, len(im.vars)) // indices of vars in order of name
	for i := range byName {
		byName[i] = i
	}
	slices.SortFunc(byName, func(a, b int) int { return strings.Compare(im.vars[a].Name, im.vars[b].Name) })
	im.rank, im.byName = make([]int, len(im.vars)), make([]*change, len(im.vars))
	for r, i := range byName {
		im.rank[i] = r
	}
	if len(cb.Form(o.Form)) == 0 {
		return nil, fmt.Errorf("the codebook (version %d) asks no question in %s", version, o.Form)
	}
	im.kind = "survey"
	if o.Form == CaseLog {
		im.kind = "caselog"
	}
	im.sums = make([]string, len(o.Files))
	for i, path := range o.Files {
		if im.sums[i], err = sheet.FileSHA256(path); err != nil {
			return nil, err
		}
	}
	// Files are read, checked and written in one transaction, a row at a
	// time: a large import holds no more than a row in memory. The
	// activity log is sealed, and its import appended to the audit chain.
	if o.Form == CaseLog {
		if o.Key == nil {
			return nil, &trial.KeyError{File: "--key", Err: errors.New("the activity log is stored sealed: its import needs the allocation key")}
		}
		err = db.WriteChained(ctx, p, o.Key, func(tx *sql.Tx) (*trial.ChainBody, error) {
			if err := im.run(ctx, tx); err != nil {
				return nil, err
			}
			return im.log.seal(ctx, tx, o.Key, o.Actor)
		})
	} else {
		err = db.WriteBulk(ctx, func(tx *sql.Tx) error { return im.run(ctx, tx) })
	}
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		for i := range im.res.Files {
			im.res.Files[i].Batch = 0
		}
	}
	return im.res, err
}

var errDryRun = errors.New("dry run")

// run reads, checks and writes the files in the import's transaction.
func (im *importer) run(ctx context.Context, tx *sql.Tx) error {
	o := im.o
	im.ctx, im.tx, im.batches = ctx, tx, map[int]int64{}
	var err error
	if o.Form == CaseLog {
		each := func(fn func(period string, blob []byte) error) error {
			_, err := trial.EachSealedLog(ctx, tx, fn)
			return err
		}
		if im.log, err = openLog(ctx, tx, o.Key, each); err != nil {
			return err
		}
		im.stored = im.log.stored()
	} else if im.stored, err = loadCurrent(ctx, tx, o.Form); err != nil {
		return err
	}
	im.insResp = trial.NewBulk(ctx, tx, `INSERT INTO survey_responses (family, wave, period, first_batch)`, 4)
	im.insSet = trial.NewBulk(ctx, tx, `INSERT INTO survey_answer_sets (family, wave, period, batch, source_row, answers)`, 6)
	for i := range o.Files {
		im.res.Files = append(im.res.Files, FileResult{File: im.fileName(i), SHA256: im.sums[i]})
	}
	// The database is written in a goroutine of its own while the next
	// rows are read and checked: SQLite and the checks each get a core.
	im.wch = make(chan []change, 256)
	done := make(chan error, 1)
	go func() {
		var err error
		for cs := range im.wch {
			if err == nil {
				err = im.write(cs)
			}
		}
		if err == nil {
			err = im.insResp.Flush()
		}
		if err == nil {
			err = im.insSet.Flush()
		}
		done <- err
	}()
	var ended func()
	im.tick, ended = o.Progress.Start("survey import, rows read", 0)
	defer ended()
	for i, path := range o.Files {
		im.readFile(i, path)
	}
	close(im.wch)
	if err := <-done; err != nil {
		return err
	}
	im.count()
	if im.res.Errors > 0 {
		return &ImportError{im.res}
	}
	if o.DryRun {
		return errDryRun
	}
	return im.storeWarnings()
}

// systemVars are the columns every wave's sheet has before the questions.
var systemVars = []*Variable{
	{Name: "interview_date", Kind: Date, Type: Date, Required: true, Label: Text{"en": "Date of the interview"}},
	{Name: "interviewer", Kind: TextType, Type: TextType, Label: Text{"en": "Interviewer"}},
}

func (im *importer) issue(i Issue) {
	i.File = im.shown(i.File)
	if i.Severity == SevError {
		im.nerr++
	}
	im.res.Issues = append(im.res.Issues, i)
}

// fileIssue records a problem with a whole file (or a dataerr from reading it).
func (im *importer) fileIssue(path, sheetName, rule string, err error) {
	i := Issue{File: path, Sheet: sheetName, Rule: rule, Severity: SevError, Message: err.Error()}
	var de *dataerr.Error
	if errors.As(err, &de) {
		i.Sheet, i.Row, i.Message = de.Sheet, de.Row, de.Err.Error()
		if de.Col > 0 {
			i.Column = dataerr.ColumnName(de.Col)
		}
		i.Variable = de.Column
	}
	im.issue(i)
}

// readFile reads, checks and queues for writing one file, recording what
// is wrong with it as issues.
func (im *importer) readFile(idx int, path string) {
	isXLSX := strings.EqualFold(filepath.Ext(path), ".xlsx") || strings.EqualFold(filepath.Ext(path), ".xlsm")
	opt := sheet.Options{MaxUnzip: im.o.MaxUnzip}
	if isXLSX {
		if !im.checkMeta(path) {
			return
		}
		opt.Sheet = im.o.Form
	}
	t, err := sheet.Open(path, opt)
	if err != nil {
		rule := RuleFileRejected
		if isXLSX && errors.Is(err, sheet.ErrNoSheet) {
			rule = RuleSheet
			err = fmt.Errorf("%v: the answers of %s must be on sheet %q (was it renamed?)", err, im.o.Form, im.o.Form)
		}
		im.fileIssue(path, "", rule, err)
		return
	}
	defer t.Close()
	im.res.Files[idx].Sheet = t.Sheet
	// Header: the key columns, the system columns, the form's variables;
	// informational columns of the template are skipped.
	keyCols := []string{"study_code"}
	if im.o.Form == CaseLog {
		keyCols = append(keyCols, "month")
	}
	colOf := map[string]int{}
	headerBad := false
	for i, h := range t.Header {
		colOf[h] = i
		switch {
		case slices.Contains(keyCols, h), slices.Contains(waveKeyColumns, h) && im.o.Form != CaseLog:
		case slices.ContainsFunc(im.vars, func(v *Variable) bool { return v.Name == h }):
		default:
			msg := fmt.Sprintf("column %q is not a question of %s", h, im.o.Form)
			if v := im.cb.Variable(h); v != nil {
				msg = fmt.Sprintf("column %q is asked in %s, not in %s: is this the file of another wave?", h, strings.Join(v.Waves, ", "), im.o.Form)
			}
			e := t.At(t.HeaderRow, i, "%s", msg)
			im.issue(Issue{File: path, Sheet: t.Sheet, Row: t.HeaderRow, Column: dataerr.ColumnName(e.Col), Variable: h, Value: h, Rule: RuleColumn, Severity: SevError, Message: msg})
			headerBad = true
		}
	}
	for _, k := range keyCols {
		if _, ok := colOf[k]; !ok {
			im.issue(Issue{File: path, Sheet: t.Sheet, Row: t.HeaderRow, Variable: k, Rule: RuleColumn, Severity: SevError,
				Message: fmt.Sprintf("no column %q in the header (row %d): %s", k, t.HeaderRow, strings.Join(t.Header, ", "))})
			headerBad = true
		}
	}
	if headerBad {
		return
	}
	var absent []string
	for _, v := range im.vars {
		if _, ok := colOf[v.Name]; !ok {
			absent = append(absent, v.Name)
		}
	}
	if len(absent) > 0 {
		im.issue(Issue{File: path, Sheet: t.Sheet, Row: t.HeaderRow, Variable: strings.Join(absent, " "), Rule: RuleColumn, Severity: SevWarning,
			Message: fmt.Sprintf("no column for %s: stored answers to them are left as they are", strings.Join(absent, ", "))})
	}
	// Column letters of the header's names, shared by the file's records.
	letters := map[string]string{}
	for name, i := range colOf {
		letters[name] = dataerr.ColumnName(t.At(t.HeaderRow, i, "").Col)
	}
	for {
		row, err := t.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			im.fileIssue(path, t.Sheet, RuleFileRejected, err)
			return
		}
		im.tick()
		if r := im.readRow(idx, t, row, colOf, letters); r != nil {
			im.apply(r)
		}
	}
	if im.res.Files[idx].Rows == 0 && im.errorsIn(path) == 0 {
		im.issue(Issue{File: path, Sheet: t.Sheet, Rule: RuleFileRejected, Severity: SevWarning, Message: "no rows with answers below the header"})
	}
}

func (im *importer) errorsIn(path string) int {
	n := 0
	for _, i := range im.res.Issues {
		if i.File == path && i.Severity == SevError {
			n++
		}
	}
	return n
}

// checkMeta checks a template's _meta sheet: written by rct for this
// trial, form and codebook version. A workbook without one (made by hand)
// is read against the codebook in force, with a warning.
func (im *importer) checkMeta(path string) bool {
	meta, err := readMeta(path, im.o.MaxUnzip)
	var de *dataerr.Error
	switch {
	case errors.Is(err, sheet.ErrNoSheet):
		im.issue(Issue{File: path, Rule: RuleMeta, Severity: SevWarning,
			Message: fmt.Sprintf("not an rct template (no %s sheet): checked against codebook version %d", MetaSheet, im.version)})
		return true
	case errors.As(err, &de) && de.Sheet == MetaSheet:
		im.fileIssue(path, MetaSheet, RuleMeta, err)
		return false
	case err != nil:
		im.fileIssue(path, "", RuleFileRejected, err)
		return false
	}
	bad := func(format string, args ...any) bool {
		im.issue(Issue{File: path, Sheet: MetaSheet, Rule: RuleMeta, Severity: SevError, Message: fmt.Sprintf(format, args...)})
		return false
	}
	switch {
	case meta["format"] != "rct survey template":
		return bad("the %s sheet is not an rct template's", MetaSheet)
	case meta["template_version"] != TemplateVersion:
		return bad("template layout %q; this rct reads layout %s: write a new template", meta["template_version"], TemplateVersion)
	case meta["trial"] != im.p.Trial.ID:
		return bad("the template is of trial %q, not %s", meta["trial"], im.p.Trial.ID)
	case meta["form"] != im.o.Form:
		return bad("the template is of %s, not %s: import it with --wave %s", meta["form"], im.o.Form, meta["form"])
	case meta["codebook_sha256"] != im.cb.SHA256():
		return bad("the template was written with codebook version %s (%s); the codebook in force is version %d (%s): write a new template and copy the answers into it",
			meta["codebook_version"], meta["codebook_label"], im.version, im.cb.Codebook.Version)
	}
	if slices.Contains(im.cb.Languages, meta["language"]) {
		im.langs[path] = meta["language"]
	}
	return true
}

// lang is the language of a file's messages: its template's, else the
// codebook's first.
func (im *importer) lang(file string) string {
	if l := im.langs[file]; l != "" {
		return l
	}
	return im.cb.Languages[0]
}

// readMeta reads the key/value rows of a template's _meta sheet.
func readMeta(path string, maxUnzip int64) (Meta, error) {
	t, err := sheet.Open(path, sheet.Options{Sheet: MetaSheet, MaxUnzip: maxUnzip})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	if t.Col("key") != 0 || t.Col("value") != 1 {
		return nil, &dataerr.Error{File: path, Sheet: MetaSheet, Row: t.HeaderRow, Err: errors.New("the header is not key, value")}
	}
	meta := Meta{}
	for {
		row, err := t.Next()
		if err == io.EOF {
			return meta, nil
		}
		if err != nil {
			return nil, err
		}
		if len(row.Cells) >= 2 {
			meta[row.Cells[0]] = row.Cells[1]
		}
	}
}

// readRow turns one row into a record; cell problems are recorded.
func (im *importer) readRow(idx int, t *sheet.Table, row sheet.Row, colOf map[string]int, letters map[string]string) *record {
	path := t.File
	cell := func(name string) string {
		if i, ok := colOf[name]; ok {
			return row.Cells[i]
		}
		return ""
	}
	letter := func(name string) string { return letters[name] }
	r := &record{file: path, sheet: t.Sheet, row: row.Num, values: make(map[string]string, len(im.vars)), cols: letters, fileIdx: idx}
	r.code = trial.NormalizeCode(cell("study_code"))
	add := func(variable, value, rule, sev, format string, args ...any) {
		im.issue(Issue{File: path, Sheet: t.Sheet, Row: row.Num, Column: letter(variable), StudyCode: r.code, Period: r.period, Variable: variable,
			Value: value, Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	// A pre-filled row nobody answered is a family not (yet) interviewed.
	answered := false
	for _, v := range im.vars {
		if i, has := colOf[v.Name]; has && v.Name != "interviewer" && (row.Cells[i] != "" || row.Formula != nil && row.Formula[i]) {
			answered = true
		}
	}
	if !answered {
		im.res.NotAnswered++
		return nil
	}
	// Every row with answers counts, refused or not.
	im.res.Files[idx].Rows++
	im.res.Rows++
	ok := true
	for i, f := range row.Formula {
		if f {
			add(t.Header[i], row.Cells[i], RuleFormula, SevError, "the cell holds a formula: type the answer as a value (paste as values only)")
			ok = false
		}
	}
	if r.code == "" {
		add("study_code", "", RuleUnknownCode, SevError, "no study code on a row with answers")
		return nil
	}
	m, known := im.members[r.code]
	if !known {
		add("study_code", r.code, RuleUnknownCode, SevError, "study code %s is not a family of trial %s", r.code, im.p.Trial.ID)
		return nil
	}
	r.family = m.ID
	if m.Withdrawn {
		add("study_code", r.code, RuleWithdrawn, SevError, "the family withdrew from the trial: its answers are not recorded")
		ok = false
	}
	if im.o.Assigned != nil && !im.o.Assigned[r.code] {
		add("study_code", r.code, RuleNotAssigned, SevError, "the family is not assigned to %s", im.o.Actor.Name)
		ok = false
	}
	if im.o.Form == CaseLog {
		month, err := parseMonth(cell("month"), t.Date1904)
		switch {
		case err != nil:
			add("month", cell("month"), RuleMonth, SevError, "%v", err)
			ok = false
		case !im.o.Caseload[r.code]:
			add("study_code", r.code, RuleNotCaseload, SevError, "the family is not in the case managers' caseload")
			ok = false
		case m.RandomizedOn == "" || month < m.RandomizedOn[:7]:
			add("month", month, RuleMonth, SevError, "month %s is before the family was randomized (%s)", month, m.RandomizedOn)
			ok = false
		case month > im.today.Format("2006-01"):
			add("month", month, RuleMonth, SevError, "month %s has not begun", month)
			ok = false
		}
		r.period = month
	} else {
		s, scheduled := im.slots[m.ID]
		switch {
		case !scheduled:
			add("study_code", r.code, RuleNotDue, SevError, "the family is not due for %s: it has not been randomized", im.o.Form)
			ok = false
		case im.today.Format("2006-01-02") < s.Opens:
			add("study_code", r.code, RuleNotDue, SevError, "the family is not due for %s yet: its window opens on %s", im.o.Form, s.Opens)
			ok = false
		}
	}
	key := responseKey(r.family, r.period)
	if prev, dup := im.seen[key]; dup {
		where := fmt.Sprintf("row %d", prev.row)
		if prev.file != path {
			where = fmt.Sprintf("%s row %d", prev.file, prev.row)
		}
		what := r.code
		if r.period != "" {
			what += " " + r.period
		}
		add("study_code", r.code, RuleDuplicate, SevError, "%s appears twice (also %s)", what, where)
		return nil
	}
	im.seen[key] = seenAt{path, row.Num}
	for _, v := range im.vars {
		i, has := colOf[v.Name]
		if !has {
			continue
		}
		text := row.Cells[i]
		if text == "" {
			if row.Formula == nil || !row.Formula[i] {
				r.blanks = append(r.blanks, v.Name)
			}
			continue
		}
		val, probs := im.cb.parseCell(v, text, t.Date1904, im.today)
		shown := text // a date cell as a date, not its serial number
		if len(probs) > 0 && v.Kind == Date {
			if d, err := sheet.ParseDate(text, t.Date1904); err == nil {
				shown = sheet.FormatDate(d)
			}
		}
		for _, p := range probs {
			add(v.Name, shown, p.rule, p.severity, "%s", p.msg)
		}
		switch {
		case hasError(probs):
			ok = false
		case val == "":
			r.blanks = append(r.blanks, v.Name) // spaces only
		default:
			r.values[v.Name] = val
		}
	}
	if !ok {
		return nil
	}
	if im.o.Form != CaseLog {
		if d := r.values["interview_date"]; d != "" {
			s := im.slots[r.family]
			if d < s.Opens || d > s.Closes {
				add("interview_date", d, RuleOutOfWindow, SevWarning, "interviewed on %s, outside the window of %s (%s to %s)", d, im.o.Form, s.Opens, s.Closes)
			}
		}
	}
	return r
}

func hasError(ps []problem) bool {
	for _, p := range ps {
		if p.severity == SevError {
			return true
		}
	}
	return false
}

// parseMonth reads the month of an activity-log row: yyyy-mm, mm/yyyy or
// any date (a spreadsheet turns "2017-03" into 1 March 2017).
func parseMonth(s string, date1904 bool) (string, error) {
	s = sheet.Clean(s)
	if s == "" {
		return "", errors.New("no month (write yyyy-mm)")
	}
	for _, layout := range []string{"2006-01", "1/2006", "01/2006", "2006/01"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01"), nil
		}
	}
	if t, err := sheet.ParseDate(s, date1904); err == nil {
		return t.Format("2006-01"), nil
	}
	return "", fmt.Errorf("%q is not a month (write yyyy-mm)", s)
}

// change is what a record does to one stored value.
type change struct {
	rec      *record
	idx      int // of the variable in the importer's vars
	variable string
	value    *string // nil: blanked
	version  int
	first    bool // the first answer of a response not stored before
}

// apply completes a record with the stored answers, checks what needs the
// whole record (required answers, relevance, constraints) and queues the
// values that change for writing, as long as the import has no error.
func (im *importer) apply(r *record) {
	out := make([]change, 0, len(r.values))
	{
		key := responseKey(r.family, r.period)
		old, versions, known := im.stored.response(key)
		merged := r.values // a response not stored before: only its own answers
		if old != nil {
			merged = make(map[string]string, len(old)+len(r.values))
			for k, v := range old {
				merged[k] = v
			}
			for k, v := range r.values {
				merged[k] = v
			}
		}
		if im.o.OverwriteBlanks {
			for _, b := range r.blanks {
				delete(merged, b)
			}
		}
		env := func(self string) Env {
			return func(name string) (string, bool) {
				if name == "." {
					name = self
				}
				v, ok := merged[name]
				if !ok {
					return "", false
				}
				if _, miss := im.cb.IsMissing(v); miss {
					return "", false
				}
				return v, true
			}
		}
		add := func(v *Variable, value, rule, sev, format string, args ...any) {
			im.issue(Issue{File: r.file, Sheet: r.sheet, Row: r.row, Column: r.cols[v.Name], StudyCode: r.code, Period: r.period, Variable: v.Name,
				Value: value, Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)})
		}
		for _, v := range im.vars {
			val, answered := merged[v.Name]
			relevant := v.relevant == nil || Eval(v.relevant, env(v.Name))
			_, isNew := r.values[v.Name]
			switch {
			case relevant && v.Required && !answered:
				add(v, "", RuleRequired, SevError, "no answer, but %s is required%s", v.Name, when(v))
			case !relevant && answered && isNew:
				add(v, val, RuleRelevance, SevWarning, "answered although not asked (%s is false)", v.Relevant)
			}
			if answered && v.constraint != nil {
				if _, miss := im.cb.IsMissing(val); !miss && !Eval(v.constraint, env(v.Name)) {
					add(v, val, RuleConstraint, SevError, "%s (%s)", v.ConstraintMessage.In(im.lang(r.file), im.cb.Languages), v.Constraint)
				}
			}
		}
		first := !known
		for vi, v := range im.vars {
			nv, has := r.values[v.Name]
			ov, isStored := old[v.Name]
			version := versions[v.Name] + 1
			switch {
			case has && isStored && nv == ov:
				im.res.Unchanged++
			case has:
				x := nv
				out = append(out, change{r, vi, v.Name, &x, version, first})
				first = false
				if isStored {
					im.res.Changed++
				} else {
					im.res.NewValues++
				}
			case slices.Contains(r.blanks, v.Name) && isStored:
				if im.o.OverwriteBlanks {
					out = append(out, change{r, vi, v.Name, nil, version, false})
					im.res.Blanked++
				} else {
					im.res.BlanksKept++
				}
			}
		}
	}
	if im.nerr == 0 && len(out) > 0 {
		im.wch <- out
	}
}

func when(v *Variable) string {
	if v.Relevant == "" {
		return ""
	}
	return " when " + v.Relevant
}

func (im *importer) count() {
	im.res.Errors, im.res.Warnings = 0, 0
	for i := range im.res.Files {
		im.res.Files[i].Errors, im.res.Files[i].Warnings = 0, 0
	}
	for _, is := range im.res.Issues {
		for i := range im.res.Files {
			if im.res.Files[i].File == is.File {
				if is.Severity == SevError {
					im.res.Files[i].Errors++
				} else {
					im.res.Files[i].Warnings++
				}
			}
		}
		if is.Severity == SevError {
			im.res.Errors++
		} else {
			im.res.Warnings++
		}
	}
}

// responseKey names a response (a family, and a month for the activity log).
func responseKey(family int64, period string) string {
	return strconv.FormatInt(family, 10) + "|" + period
}

// storedForm is what a form holds already: by "family|period", the
// current value of each answer (blanked ones absent) and the last version
// of each variable ever stored. A wave's answers are kept as their answer
// sets' text and read into maps only when the import meets the response:
// maps of every answer of a 100,000-family wave held 1.9 GB.
type storedForm struct {
	values   map[string]map[string]string
	versions map[string]map[string]int
	sets     map[string][]string // by key, the sets of a wave (loadCurrent's)
}

// response returns what is stored of a response: the current values and
// the last versions, and whether anything is.
func (s *storedForm) response(key string) (map[string]string, map[string]int, bool) {
	texts, ok := s.sets[key]
	if !ok {
		versions, known := s.versions[key]
		return s.values[key], versions, known
	}
	values, versions := map[string]string{}, map[string]int{}
	var set []packedAnswer
	for _, text := range texts {
		set, _ = decodeAnswerSet(set[:0], text, "") // read once already by loadCurrent
		for _, a := range set {
			keepCurrent(values, versions, a.variable, a.version, a.value, a.blanked)
		}
	}
	return values, versions, true
}

// keepCurrent records a version of an answer in values and versions
// unless a higher one is there: the highest version is current (of
// equals, the last recorded), and a blanked one removes the value.
func keepCurrent(values map[string]string, versions map[string]int, variable string, version int, value string, blanked bool) {
	if version < versions[variable] {
		return
	}
	versions[variable] = version
	if blanked {
		delete(values, variable)
	} else {
		values[variable] = value
	}
}

// loadCurrent reads the stored answers of a form: its answer sets, in any
// order, since an answer's highest version is current. Each is checked to
// read back, and kept as it is.
func loadCurrent(ctx context.Context, tx *sql.Tx, form string) (*storedForm, error) {
	rows, err := tx.QueryContext(ctx, `SELECT family, period, answers FROM survey_answer_sets WHERE wave = ?`, form)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &storedForm{sets: map[string][]string{}}
	var set []packedAnswer
	for rows.Next() {
		var fam int64
		var period, answers string
		if err := rows.Scan(&fam, &period, &answers); err != nil {
			return nil, err
		}
		if set, err = decodeAnswerSet(set[:0], answers, period); err != nil {
			return nil, fmt.Errorf("survey: the stored answers of family %d at %s do not read back: %w", fam, form, err)
		}
		k := responseKey(fam, period)
		out.sets[k] = append(out.sets[k], answers)
	}
	return out, rows.Err()
}

// write stores the changes of one record: its response if new, and the
// answers it stores as one answer set of its file's batch (a batch per
// file that changes anything).
func (im *importer) write(changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	rec := changes[0].rec
	b, err := im.batchOf(rec.fileIdx, rec.sheet)
	if err != nil {
		return err
	}
	if changes[0].first {
		im.res.NewResponses++
	}
	if im.log != nil {
		for _, c := range changes {
			if err := im.log.add(c, b); err != nil {
				return err
			}
		}
		return nil
	}
	if changes[0].first {
		if err := im.insResp.Add(rec.family, im.o.Form, rec.period, b); err != nil {
			return err
		}
	}
	// The set sorted by variable: each change put at its variable's rank
	// among the form's names.
	for i := range changes {
		im.byName[im.rank[changes[i].idx]] = &changes[i]
	}
	im.set = im.set[:0]
	for r, c := range im.byName {
		if c == nil {
			continue
		}
		im.byName[r] = nil
		a := packedAnswer{variable: c.variable, version: c.version, blanked: c.value == nil}
		if c.value != nil {
			a.value = *c.value
		}
		im.set = append(im.set, a)
	}
	im.setJSON = appendAnswerSet(im.setJSON[:0], im.set)
	return im.insSet.Add(rec.family, im.o.Form, rec.period, b, rec.row, string(im.setJSON))
}

// shown is the name a file's issues give: its recorded name.
func (im *importer) shown(path string) string {
	for fi, p := range im.o.Files {
		if p == path {
			return im.fileName(fi)
		}
	}
	return path
}

// fileName is the name a file is recorded under.
func (im *importer) fileName(fi int) string {
	if fi < len(im.o.Names) && im.o.Names[fi] != "" {
		return im.o.Names[fi]
	}
	return im.o.Files[fi]
}

// batchOf returns the batch of a file, recording it at its first change.
// It runs in the writing goroutine: it reads only what does not change
// while files are read (name, hash) and takes the sheet from the record.
func (im *importer) batchOf(fi int, sheetName string) (int64, error) {
	if b, ok := im.batches[fi]; ok {
		return b, nil
	}
	r, err := im.tx.ExecContext(im.ctx, `INSERT INTO import_batches (kind, file_name, file_sha256, rows_read, imported_by, imported_at) VALUES (?, ?, ?, 0, ?, ?)`,
		im.kind, im.fileName(fi), im.sums[fi], im.o.Actor.Name, im.o.Actor.Stamp())
	if err != nil {
		return 0, err
	}
	b, _ := r.LastInsertId()
	if _, err := im.tx.ExecContext(im.ctx, `INSERT INTO survey_batches (batch, form, codebook, sheet) VALUES (?, ?, ?, ?)`, b, im.o.Form, im.version, sheetName); err != nil {
		return 0, err
	}
	im.batches[fi] = b
	return b, nil
}

// storeWarnings records the warnings of the files that changed anything,
// with the rows read from each.
func (im *importer) storeWarnings() error {
	for fi, b := range im.batches {
		im.res.Files[fi].Batch = b
		if im.log != nil {
			continue // the log's rows (one group's families) are not counted in the clear
		}
		if _, err := im.tx.ExecContext(im.ctx, `UPDATE import_batches SET rows_read = ? WHERE id = ?`, im.res.Files[fi].Rows, b); err != nil {
			return err
		}
	}
	fileIdx := map[string]int{}
	for i, f := range im.res.Files {
		fileIdx[f.File] = i
	}
	ins := trial.NewBulk(im.ctx, im.tx, `INSERT INTO survey_warnings (batch, family, wave, period, variable, sheet, row, col, value, rule, message)`, 11)
	for _, is := range im.res.Issues {
		b, ok := im.batches[fileIdx[is.File]]
		if is.Severity != SevWarning || !ok || is.StudyCode == "" {
			continue
		}
		m, known := im.members[is.StudyCode]
		if !known {
			continue
		}
		if im.log != nil {
			lm := im.log.month(is.Period)
			lm.Warnings = append(lm.Warnings, logWarning{Batch: b, Family: m.ID, Variable: is.Variable, Sheet: is.Sheet, Row: is.Row, Col: is.Column, Value: is.Value, Rule: is.Rule, Message: is.Message})
			continue
		}
		if err := ins.Add(b, m.ID, im.o.Form, is.Period, is.Variable, is.Sheet, is.Row, is.Column, is.Value, is.Rule, is.Message); err != nil {
			return err
		}
	}
	return ins.Flush()
}

// SystemVariables are the columns every wave's sheet has before its
// questions (interview date, interviewer).
func SystemVariables() []*Variable { return systemVars }
