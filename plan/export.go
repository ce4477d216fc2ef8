package plan

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// DataSet is the analysis data set: one row per randomized family, and a
// codebook row per column.
type DataSet struct {
	Header   []string
	Rows     [][]string
	Codebook [][]string // name, label, type, source
}

// CodebookHeader names the columns of DataSet.Codebook.
var CodebookHeader = []string{"column", "label", "type", "source"}

// Export builds the analysis data set for analysts who continue in R or
// Stata: study code, group code and assignment, strata, every survey
// variable at every wave where it is asked (identifiers never), whether the
// family responded to each wave, and the register outcomes with their
// baseline windows. Without arms (nil) the assignment is z = 1 for the
// second group code and the activity log is left out (it exists only for
// one arm); with arms, z = 1 for the protocol's first arm, the arm is
// named, and the log is summarised (months logged, contacts, hours,
// guidance accepted).
func Export(ctx context.Context, db *trial.DB, p *trial.Protocol, k *Keyed) (*DataSet, error) {
	arms := k.arms()
	b, err := loadFamilies(ctx, db, p, arms)
	if err != nil {
		return nil, err
	}
	n := len(b.Families)
	t := &DataSet{Rows: make([][]string, n)}
	add := func(name, label, typ, source string, values func(i int, code string) string) {
		t.Header = append(t.Header, name)
		t.Codebook = append(t.Codebook, []string{name, label, typ, source})
		for i, f := range b.Families {
			t.Rows[i] = append(t.Rows[i], values(i, f.StudyCode))
		}
	}
	add("study_code", "Study code", "text", "enrolment", func(i int, code string) string { return code })
	add("group", "Group code (blinded)", "text", "randomization", func(i int, code string) string { return b.Families[i].Group })
	zLabel, zSource := fmt.Sprintf("1 for group %s, 0 for group %s (blinded)", b.Groups[1].Code, b.Groups[0].Code), "randomization"
	if arms != nil {
		add("arm", "Arm", "text", "randomization (unblinded)", func(i int, code string) string { return arms[b.Families[i].Group] })
		zLabel, zSource = fmt.Sprintf("1 for %s, 0 for %s", p.Arms[0].ID, p.Arms[1].ID), "randomization (unblinded)"
	}
	add("z", zLabel, "integer", zSource, func(i int, code string) string { return strconv.Itoa(int(b.Z[i])) })
	add("withdrawn", "Withdrew after randomization", "integer", "trial", func(i int, code string) string {
		if b.Families[i].Withdrawn {
			return "1"
		}
		return "0"
	})
	for j, v := range p.Randomization.Strata {
		j := j
		add(v.ID, v.Label, "text", "stratum", func(i int, code string) string { return v.Values[b.Families[i].Profile[j]] })
	}
	cb, _, cbErr := survey.Current(ctx, db, p)
	if cbErr == nil {
		for _, w := range p.Waves {
			ans, err := survey.Answers(ctx, db, w.ID, "interview_date")
			if err != nil {
				return nil, err
			}
			add("responded_"+w.ID, "Interviewed at "+w.Label, "integer", "survey "+w.ID, func(i int, code string) string {
				if _, ok := ans[code]; ok {
					return "1"
				}
				return "0"
			})
			for _, v := range append(append([]*survey.Variable{}, survey.SystemVariables()...), cb.Form(w.ID)...) {
				if v.Identifier || v.Name == "interviewer" {
					continue
				}
				ans, err := survey.Answers(ctx, db, w.ID, v.Name)
				if err != nil {
					return nil, err
				}
				add(v.Name+"_"+w.ID, v.Label.In(cb.Languages[len(cb.Languages)-1], cb.Languages), v.Type, "survey "+w.ID,
					func(i int, code string) string { return ans[code] })
			}
		}
	}
	for _, o := range p.Outcomes {
		if o.Source.Register == "" {
			continue
		}
		for _, id := range []string{o.ID, o.ID + "_baseline"} {
			vals, err := db.OutcomeValues(ctx, id)
			if err != nil {
				return nil, err
			}
			label := o.Label
			if strings.HasSuffix(id, "_baseline") {
				label += " (baseline window)"
			}
			add(id, label, o.Type, "register "+o.Source.Register, func(i int, code string) string {
				v, ok := vals[code]
				if !ok || math.IsNaN(v) {
					return ""
				}
				return strconv.FormatFloat(v, 'f', -1, 64)
			})
		}
	}
	if k != nil && k.Log != nil && cbErr == nil {
		if err := exportCaseLog(k.Log, cb, add); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// LogTotals are the case managers' activity log summarised per family (by
// study code) over all months: the sum of each integer or decimal
// variable, whether each yes/no variable was 1 in any month, and the
// number of months logged.
type LogTotals struct {
	Totals map[string]map[string]float64 // variable → study code → sum, or 1 for "in any month"
	Months map[string]int
}

// LoadCaseLog reads the activity log. It exists only for the case managers'
// Totals summarises the activity log (opened with the key: it exists for
// one arm only) per family.
func Totals(log *survey.ActivityLog, cb *survey.Codebook) *LogTotals {
	cl := &LogTotals{Totals: map[string]map[string]float64{}, Months: map[string]int{}}
	months := map[string]bool{}
	for _, v := range cb.Form(survey.CaseLog) {
		if v.Kind != survey.Integer && v.Kind != survey.Decimal && v.Kind != survey.SelectOne {
			continue
		}
		per := map[string]float64{}
		for k, s := range log.Answers(v.Name) {
			code := strings.Fields(k)[0]
			if !months[k] {
				months[k] = true
				cl.Months[code]++
			}
			x, err := strconv.ParseFloat(s, 64)
			if _, miss := cb.IsMissing(s); err != nil || miss {
				continue
			}
			switch {
			case v.Kind != survey.SelectOne:
				per[code] += x
			case x == 1:
				per[code] = 1
			}
		}
		cl.Totals[v.Name] = per
	}
	return cl
}

// exportCaseLog adds the summarised log to the export.
func exportCaseLog(log *survey.ActivityLog, cb *survey.Codebook, add func(name, label, typ, source string, values func(int, string) string)) error {
	cl := Totals(log, cb)
	for _, v := range cb.Form(survey.CaseLog) {
		per, ok := cl.Totals[v.Name]
		if !ok {
			continue
		}
		name, label := "caselog_"+v.Name+"_total", v.Label.In("en", cb.Languages)+" (sum over months)"
		if v.Kind == survey.SelectOne {
			name, label = "caselog_"+v.Name+"_ever", v.Label.In("en", cb.Languages)+" (in any month)"
		}
		add(name, label, "decimal", "case-manager log (unblinded)", func(i int, code string) string {
			if x, ok := per[code]; ok {
				return strconv.FormatFloat(x, 'f', -1, 64)
			}
			return ""
		})
	}
	add("caselog_months", "Months in the case managers' log", "integer", "case-manager log (unblinded)", func(i int, code string) string {
		return strconv.Itoa(cl.Months[code])
	})
	return nil
}
