package plan

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// DataSet is the analysis data set: one row per randomized family, and
// what each column is (its codebook row).
type DataSet struct {
	Columns []Column
	Rows    [][]string
	// Missing are the cells where a declared missing code was answered:
	// written empty, their code kept here for the scripts that mark them
	// (Stata's extended missing values).
	Missing []MissingCell
	// MissingCodes are the codebook's declared missing codes, in order.
	MissingCodes []ValueLabel
}

// Column describes one column of the data set.
type Column struct {
	Name  string
	Label string
	// Type is the variable's type: integer, decimal, text, date,
	// select_one, select_multiple (survey); binary, count, continuous
	// (register outcomes).
	Type string
	// Storage says how to read the cells: number, text or date
	// (yyyy-mm-dd).
	Storage string
	Source  string
	Wave    string
	Unit    string
	Values  []ValueLabel // the labels of a select_one's codes
	// MissingCodes: the column may hold declared missing codes (written
	// empty; listed in DataSet.Missing).
	MissingCodes bool
	Window       string // a register outcome's window after randomization
}

// ValueLabel is a code and its label.
type ValueLabel struct {
	Code  string
	Label string
}

// MissingCell is a cell whose answer was a declared missing code.
type MissingCell struct {
	Row, Column int
	Code        string
}

// Header returns the columns' names.
func (t *DataSet) Header() []string {
	h := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		h[i] = c.Name
	}
	return h
}

// Grid is the data set as a table: numbers as numbers in a workbook.
func (t *DataSet) Grid() sheet.Grid {
	numeric := make([]bool, len(t.Columns))
	for i, c := range t.Columns {
		numeric[i] = c.Storage == "number"
	}
	return sheet.Grid{Name: "data", Header: t.Header(), Rows: t.Rows, Numeric: numeric}
}

// CodebookGrid is the codebook as a table.
func (t *DataSet) CodebookGrid() sheet.Grid {
	return sheet.Grid{Name: "codebook", Header: CodebookHeader, Rows: t.Codebook()}
}

// CodebookHeader names the columns of DataSet.Codebook.
var CodebookHeader = []string{"column", "label", "type", "storage", "source", "wave", "unit", "value_labels", "missing_codes", "window"}

// Codebook returns a row per column: what it is, where it comes from, its
// value labels ("1=Yes; 0=No") and declared missing codes ("-99=Refused").
func (t *DataSet) Codebook() [][]string {
	var missing []string
	for _, m := range t.MissingCodes {
		missing = append(missing, m.Code+"="+m.Label)
	}
	out := make([][]string, len(t.Columns))
	for i, c := range t.Columns {
		var vals []string
		for _, v := range c.Values {
			vals = append(vals, v.Code+"="+v.Label)
		}
		m := ""
		if c.MissingCodes {
			m = strings.Join(missing, "; ")
		}
		out[i] = []string{c.Name, c.Label, c.Type, c.Storage, c.Source, c.Wave, c.Unit, strings.Join(vals, "; "), m, c.Window}
	}
	return out
}

// Export builds the analysis data set for analysts who continue in R or
// Stata: study code, group code and assignment, the randomization date and
// stratum cell, the strata and the eligibility domains, every survey
// variable at every wave where it is asked (identifiers never), whether the
// family responded to each wave, and the register outcomes with their
// baseline windows. Declared missing codes are written as empty cells (and
// listed in Missing). Without the key the assignment is by group code (z =
// 1 for group B; with three groups or more z_B, z_C, … against group A)
// and the activity log is left out (it exists only for the arms the case
// managers guide); with the key the arm is named, z is 1 for the arm
// compared with the reference arm (z_ARM for each with more arms), and the
// log is summarised (months logged, contacts, hours, guidance accepted).
//
// progress, when not nil, is told of the families' answers read (the
// longest step: a scan of every stored answer).
func Export(ctx context.Context, db *trial.DB, p *trial.Protocol, k *Keyed, progress progress.Func) (*DataSet, error) {
	// One state of the database throughout, on readers enough that the
	// scan of the survey answers, most of the time, is spread over the
	// cores.
	db, release, err := db.Snapshot(ctx, min(runtime.GOMAXPROCS(0), 4))
	if err != nil {
		return nil, err
	}
	defer release()
	// The register outcomes are read beside the rest, on the last reader.
	wins := p.RegisterWindows()
	var regs []map[string]float64
	var regsErr error
	var reading sync.WaitGroup
	defer reading.Wait()
	reading.Go(func() {
		ids := make([]string, len(wins))
		for i, win := range wins {
			ids[i] = win.ID
		}
		regs, regsErr = db.Readers()[len(db.Readers())-1].OutcomeValues(ctx, ids...)
	})
	arms := k.arms()
	b, err := loadFamilies(ctx, db, p, arms, nil)
	if err != nil {
		return nil, err
	}
	t := &DataSet{}
	// Built a column at a time, laid out in rows once at the end: rows
	// grown a cell at a time cost a copy of every row at each doubling.
	var cols [][]string
	add := func(c Column, values func(i int, code string) string) {
		t.Columns = append(t.Columns, c)
		col := make([]string, len(b.Families))
		for i, f := range b.Families {
			col[i] = values(i, f.StudyCode)
		}
		cols = append(cols, col)
	}
	exportDesign(b, p, arms, add)
	cb, _, cbErr := survey.Current(ctx, db, p)
	if cbErr == nil {
		for _, m := range cb.Missing {
			t.MissingCodes = append(t.MissingCodes, ValueLabel{m.Code, m.Label.In(exportLang(cb), cb.Languages)})
		}
		if err := t.exportSurvey(ctx, db, p, cb, b, add, progress); err != nil {
			return nil, err
		}
	}
	if reading.Wait(); regsErr != nil {
		return nil, regsErr
	}
	exportRegisters(wins, regs, add)
	if k != nil && k.Log != nil && cbErr == nil {
		if err := exportCaseLog(k.Log, cb, add); err != nil {
			return nil, err
		}
	}
	cells := make([]string, len(b.Families)*len(cols))
	t.Rows = make([][]string, len(b.Families))
	for i := range t.Rows {
		r := cells[i*len(cols) : (i+1)*len(cols) : (i+1)*len(cols)]
		for j, col := range cols {
			r[j] = col[i]
		}
		t.Rows[i] = r
	}
	return t, nil
}

// exportLang is the language of the exported labels: English when the
// codebook has it (the analysts' language, and R's and Stata's), else the
// codebook's last.
func exportLang(cb *survey.Codebook) string {
	if slices.Contains(cb.Languages, "en") {
		return "en"
	}
	return cb.Languages[len(cb.Languages)-1]
}

type adder func(c Column, values func(i int, code string) string)

// exportDesign adds what randomization knows: group, arm, assignment,
// date, stratum cell, withdrawal, strata and eligibility domains.
func exportDesign(b *Data, p *trial.Protocol, arms map[string]string, add adder) {
	source := "randomization"
	if arms != nil {
		source = "randomization (unblinded)"
	}
	add(Column{Name: "study_code", Label: "Study code", Type: "text", Storage: "text", Source: "enrolment"}, func(i int, code string) string { return code })
	add(Column{Name: "group", Label: "Group code (blinded)", Type: "text", Storage: "text", Source: "randomization"}, func(i int, code string) string { return b.Families[i].Group })
	if arms != nil {
		add(Column{Name: "arm", Label: "Arm", Type: "text", Storage: "text", Source: source}, func(i int, code string) string { return arms[b.Families[i].Group] })
	}
	for _, c := range b.Contrasts {
		if !c.WithReference {
			continue
		}
		name, what := "z", c.Names[1]
		if len(b.Groups) > 2 {
			name = "z_" + strings.SplitN(c.ID, "-", 2)[0]
		}
		add(Column{Name: name, Label: fmt.Sprintf("1 for %s, 0 for the other groups (%s is the reference)", what, c.Names[0]), Type: "integer", Storage: "number", Source: source},
			func(i int, code string) string { return strconv.Itoa(boolInt(b.G[i] == c.Arm)) })
	}
	add(Column{Name: "randomized_on", Label: "Randomization date", Type: "date", Storage: "date", Source: "randomization"}, func(i int, code string) string { return b.Families[i].Date })
	add(Column{Name: "stratum_cell", Label: "Stratum cell of the randomization (the strata's levels joined by :)", Type: "text", Storage: "text", Source: "randomization"},
		func(i int, code string) string {
			parts := make([]string, len(b.Factors))
			for j, f := range b.Factors {
				parts[j] = f.Levels[i]
			}
			return strings.Join(parts, ":")
		})
	add(Column{Name: "withdrawn", Label: "Withdrew after randomization", Type: "integer", Storage: "number", Source: "trial", Values: []ValueLabel{{"1", "Withdrawn"}, {"0", "Not withdrawn"}}},
		func(i int, code string) string { return strconv.Itoa(boolInt(b.Families[i].Withdrawn)) })
	for j, v := range p.Randomization.Strata {
		add(Column{Name: v.ID, Label: v.Label, Type: "text", Storage: "text", Source: "stratum"}, func(i int, code string) string { return v.Values[b.Families[i].Profile[j]] })
	}
	for _, dom := range p.Eligibility.Domains {
		add(Column{Name: "weak_" + dom, Label: "Weak on the " + dom + " domain of the " + p.Eligibility.Index + " index at referral", Type: "integer", Storage: "number", Source: "eligibility",
			Values: []ValueLabel{{"1", "Weak"}, {"0", "Not weak"}}}, func(i int, code string) string { return strconv.Itoa(boolInt(b.Families[i].Domains[dom])) })
	}
	add(Column{Name: "weak_domains", Label: fmt.Sprintf("Number of weak domains (eligible from %d)", p.Eligibility.MinWeak), Type: "integer", Storage: "number", Source: "eligibility"},
		func(i int, code string) string { return strconv.Itoa(b.Families[i].Weak) })
}

// exportSurvey adds, for every wave, whether the family was interviewed
// and every variable asked (identifiers never); declared missing codes
// become empty cells, kept in t.Missing.
func (t *DataSet) exportSurvey(ctx context.Context, db *trial.DB, p *trial.Protocol, cb *survey.Codebook, b *Data, add adder, progress progress.Func) error {
	lang := exportLang(cb)
	forms := make([]string, len(p.Waves))
	for i, w := range p.Waves {
		forms[i] = w.ID
	}
	row := make(map[string]int, len(b.Families))
	for i, f := range b.Families {
		row[f.StudyCode] = i
	}
	all, err := survey.FormColumns(ctx, db, forms, row, len(b.Families), progress) // every wave in one pass
	if err != nil {
		return err
	}
	none := &survey.AnswerColumn{Values: make([]string, len(b.Families)), Has: make([]bool, len(b.Families))}
	column := func(form, variable string) *survey.AnswerColumn {
		if c := all[survey.Want{Form: form, Variable: variable}]; c != nil {
			return c
		}
		return none
	}
	for _, w := range p.Waves {
		ans := column(w.ID, "interview_date")
		add(Column{Name: "responded_" + w.ID, Label: "Interviewed at " + w.Label, Type: "integer", Storage: "number", Source: "survey " + w.ID, Wave: w.ID,
			Values: []ValueLabel{{"1", "Interviewed"}, {"0", "Not interviewed"}}}, func(i int, code string) string {
			return strconv.Itoa(boolInt(ans.Has[i]))
		})
		for _, v := range append(append([]*survey.Variable{}, survey.SystemVariables()...), cb.Form(w.ID)...) {
			if v.Identifier || v.Name == "interviewer" {
				continue
			}
			ans := column(w.ID, v.Name)
			c := Column{Name: v.Name + "_" + w.ID, Label: v.Label.In(lang, cb.Languages), Type: v.Kind, Storage: storage(cb, v), Source: "survey " + w.ID, Wave: w.ID, Unit: v.Unit,
				MissingCodes: len(cb.Missing) > 0 && v.Kind != survey.Date}
			if v.Kind == survey.SelectOne {
				for _, ch := range cb.Lists[v.List] {
					c.Values = append(c.Values, ValueLabel{ch.Code, ch.Label.In(lang, cb.Languages)})
				}
			}
			col := len(t.Columns)
			add(c, func(i int, code string) string {
				s := ans.Values[i]
				if m, miss := cb.IsMissing(s); miss {
					t.Missing = append(t.Missing, MissingCell{Row: i, Column: col, Code: m})
					return ""
				}
				return s
			})
		}
	}
	return nil
}

// storage is how a survey variable's cells read: numbers (integer,
// decimal, a select_one whose codes are all numbers), dates, or text.
func storage(cb *survey.Codebook, v *survey.Variable) string {
	switch v.Kind {
	case survey.Integer, survey.Decimal:
		return "number"
	case survey.Date:
		return "date"
	case survey.SelectOne:
		for _, ch := range cb.Lists[v.List] {
			if _, err := strconv.ParseFloat(ch.Code, 64); err != nil {
				return "text"
			}
		}
		return "number"
	}
	return "text"
}

// exportRegisters adds the register outcomes and their baseline windows:
// empty where missing (no import of the register yet).
func exportRegisters(wins []trial.OutcomeWindow, values []map[string]float64, add adder) {
	for k, win := range wins {
		o, src, vals := win.Outcome, win.Outcome.Source, values[k]
		c := Column{Name: win.ID, Label: win.Label, Type: o.Type, Storage: "number", Source: "register " + src.Register,
			Unit: aggregateUnit(src.Aggregate), Window: fmt.Sprintf("(%s, %s] from the randomization date; events %s, %s", win.Window.From, win.Window.To, strings.Join(src.Events, ", "), src.Aggregate)}
		if o.Type == "binary" {
			c.Values = []ValueLabel{{"1", "Yes"}, {"0", "No"}}
		}
		add(c, func(i int, code string) string {
			v, ok := vals[code]
			if !ok || math.IsNaN(v) {
				return ""
			}
			return strconv.FormatFloat(v, 'f', -1, 64)
		})
	}
}

// aggregateUnit is what a register outcome counts.
func aggregateUnit(aggregate string) string {
	switch aggregate {
	case "any":
		return "1 if any event, else 0"
	case "count":
		return "events"
	case "sum":
		return "sum of the events' amounts (EUR)"
	case "days":
		return "days covered by the events"
	}
	return ""
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// LogTotals are the case managers' activity log summarised per family (by
// study code) over all months: the sum of each integer or decimal
// variable, whether each yes/no variable was 1 in any month, and the
// number of months logged.
type LogTotals struct {
	Totals map[string]map[string]float64 // variable → study code → sum, or 1 for "in any month"
	Months map[string]int
}

// Totals summarises the activity log (opened with the key: it exists for
// one arm only) per family.
func Totals(log *survey.ActivityLog, cb *survey.Codebook) *LogTotals {
	return totals(log.EachCurrent, cb)
}

// totals is Totals of the answers each gives, as EachCurrent does.
func totals(each func(fn func(code, period, variable, value string)), cb *survey.Codebook) *LogTotals {
	cl := &LogTotals{Totals: map[string]map[string]float64{}}
	var names, kinds []string
	index := map[string]int{}
	for _, v := range cb.Form(survey.CaseLog) {
		if v.Kind == survey.Integer || v.Kind == survey.Decimal || v.Kind == survey.SelectOne {
			index[v.Name] = len(names)
			names, kinds = append(names, v.Name), append(kinds, v.Kind)
		}
	}
	// A family's sums are kept together while its answers come (a month's
	// come family by family), and go into the maps at the end: a map
	// written per answer took 1.7 s at 80,000 families.
	type family struct {
		last   string // the last month counted
		months int
		sums   []float64
		has    []bool
	}
	fams := map[string]*family{}
	var cur *family
	curCode := ""
	each(func(code, period, variable, s string) {
		i, ok := index[variable]
		if !ok {
			return
		}
		if cur == nil || code != curCode {
			if cur, curCode = fams[code], code; cur == nil {
				cur = &family{sums: make([]float64, len(names)), has: make([]bool, len(names))}
				fams[code] = cur
			}
		}
		if cur.last != period {
			cur.last = period
			cur.months++
		}
		x, err := strconv.ParseFloat(s, 64)
		if _, miss := cb.IsMissing(s); err != nil || miss {
			return
		}
		switch {
		case kinds[i] != survey.SelectOne:
			cur.sums[i] += x
			cur.has[i] = true
		case x == 1:
			cur.sums[i], cur.has[i] = 1, true
		}
	})
	// The maps are made at their size: grown a family at a time, their
	// rehashing was most of writing them.
	cl.Months = make(map[string]int, len(fams))
	for _, name := range names {
		cl.Totals[name] = make(map[string]float64, len(fams))
	}
	for code, f := range fams {
		cl.Months[code] = f.months
		for i, name := range names {
			if f.has[i] {
				cl.Totals[name][code] = f.sums[i]
			}
		}
	}
	return cl
}

// exportCaseLog adds the summarised log to the export: log_VAR_sum (a
// number summed over the months), log_VAR_any (a yes/no that is 1 in some
// month) and log_months.
func exportCaseLog(log *survey.ActivityLog, cb *survey.Codebook, add adder) error {
	cl := Totals(log, cb)
	lang := exportLang(cb)
	source := "case-manager log (unblinded)"
	for _, v := range cb.Form(survey.CaseLog) {
		per, ok := cl.Totals[v.Name]
		if !ok {
			continue
		}
		c := Column{Name: "log_" + v.Name + "_sum", Label: v.Label.In(lang, cb.Languages) + " (sum over months)", Type: "decimal", Storage: "number", Source: source, Unit: v.Unit}
		if v.Kind == survey.SelectOne {
			c = Column{Name: "log_" + v.Name + "_any", Label: v.Label.In(lang, cb.Languages) + " (in any month)", Type: "integer", Storage: "number", Source: source,
				Values: []ValueLabel{{"1", "In some month"}, {"0", "In no month"}}}
		}
		add(c, func(i int, code string) string {
			if x, ok := per[code]; ok {
				return strconv.FormatFloat(x, 'f', -1, 64)
			}
			return ""
		})
	}
	add(Column{Name: "log_months", Label: "Months in the case managers' log", Type: "integer", Storage: "number", Source: source, Unit: "months"}, func(i int, code string) string {
		return strconv.Itoa(cl.Months[code])
	})
	return nil
}
