package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rct-trials/rct/internal/files"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

func newSurveyCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "survey", Short: "Interviewer templates, validated import and wave tracking"}
	cmd.AddCommand(newSurveyTemplateCmd(f), newImportCmd(f, false), newSurveyStatusCmd(f), newSurveyDueCmd(f), newSurveyHistoryCmd(f))
	return cmd
}

// TemplateOptions are the inputs of `rct survey template` and `rct caselog template`.
type TemplateOptions struct {
	Wave        string
	Out         string
	Interviewer string
	Lang        string
	Within      string
	Families    []string
	Assignments string
	Force       bool
	Key         string
	Month       string
	Arm         string
}

func newSurveyTemplateCmd(f *factory) *cobra.Command {
	var o TemplateOptions
	cmd := &cobra.Command{
		Use:   "template --wave ID -o FILE.xlsx [--families CODE,...] | --assignments FILE -o DIR",
		Short: "Write the XLSX template of a wave for the interviewers",
		Long: `Write the XLSX template of a wave: one row per family whose window is open (or
closed without an interview; --within 14d adds those opening in the next 14
days), study code, due date and window pre-filled and locked, a column per
question with drop-down lists, range checks and a prompt with the question.
The template holds study codes only: no arm, no group. An existing file is
never overwritten (it may hold answers) unless --force.

Each interviewer their own families: --families K-0001,K-0002 keeps only those
(a listed family that is not due is named and left out); --assignments FILE
(CSV or XLSX, columns interviewer and study_code) writes one template per
interviewer into the folder -o DIR, named WAVE-INTERVIEWER.xlsx, with the
interviewer pre-filled, and names the due families nobody is assigned.`,
		Example: "  rct survey template --wave m6 -o m6-ann.xlsx --interviewer Ann --families K-0001,K-0007\n  rct survey template --wave m6 --assignments visits.csv -o m6/",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Wave == "" || o.Out == "" {
				return usagef("give --wave and -o FILE.xlsx")
			}
			if cmd.Flags().Changed("families") && len(trial.NormalizeCodes(o.Families)) == 0 {
				return usagef("--families: give study codes, such as K-0001,K-0002")
			}
			if o.Assignments != "" && (len(o.Families) > 0 || o.Interviewer != "") {
				return usagef("--assignments names the interviewers and their families: not with --families or --interviewer")
			}
			return runSurveyTemplate(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Wave, "wave", "", "wave id of the protocol (m0, m6, ...)")
	cmd.Flags().StringVarP(&o.Out, "output", "o", "", "XLSX file to write")
	cmd.Flags().StringVar(&o.Interviewer, "interviewer", "", "pre-fill the interviewer column")
	cmd.Flags().StringSliceVar(&o.Families, "families", nil, "only these families (study codes, comma-separated)")
	cmd.Flags().StringVar(&o.Assignments, "assignments", "", "CSV or XLSX of interviewer, study_code: one template per interviewer into -o DIR")
	cmd.Flags().StringVar(&o.Lang, "lang", "", "language of the labels (default: the codebook's first)")
	cmd.Flags().StringVar(&o.Within, "within", "0d", "also families whose window opens within this span (14d, 2w)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "overwrite an existing file")
	return cmd
}

func runSurveyTemplate(ctx context.Context, f *factory, o TemplateOptions) error {
	span, err := spanFlag("within", o.Within)
	if err != nil {
		return err
	}
	if o.Assignments == "" {
		if err := f.outputs(o.Force, nil, o.Out); err != nil {
			return err
		}
	}
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	cb, version, err := survey.Current(ctx, s.DB, s.Protocol)
	if err != nil {
		return err
	}
	if err := checkLang(cb, o.Lang); err != nil {
		return err
	}
	today := s.Actor.Today()
	slots, err := survey.ToInterview(ctx, s.DB, s.Protocol, o.Wave, span, today)
	if err != nil {
		return err
	}
	var rows []survey.TemplateRow
	for _, sl := range slots {
		rows = append(rows, sl.Row())
	}
	write := func(path, interviewer string, rows []survey.TemplateRow) error {
		err := writeAtomic(path, func(w io.Writer) error {
			return cb.WriteTemplate(w, survey.TemplateOptions{Form: o.Wave, Lang: o.Lang, TrialID: s.Protocol.Trial.ID, CodebookVersion: version,
				Interviewer: interviewer, Today: today, Rows: rows})
		})
		if err == nil {
			f.IO.Printf("%s: template of %s for %d families (codebook version %d)\n", path, o.Wave, len(rows), version)
		}
		return err
	}
	if o.Assignments != "" {
		return templatesByInterviewer(ctx, f, s, o, rows, write)
	}
	if len(o.Families) > 0 {
		var notDue []string
		if rows, notDue = survey.KeepFamilies(rows, trial.NormalizeCodes(o.Families)); len(notDue) > 0 {
			f.IO.Printf("Not due at %s, left out: %s\n", o.Wave, strings.Join(notDue, ", "))
		}
	}
	return write(o.Out, o.Interviewer, rows)
}

// templatesByInterviewer writes one template per interviewer of the
// assignment file into the folder o.Out: WAVE-INTERVIEWER.xlsx.
func templatesByInterviewer(ctx context.Context, f *factory, s *session, o TemplateOptions, rows []survey.TemplateRow,
	write func(path, interviewer string, rows []survey.TemplateRow) error) error {
	members, err := s.DB.Members(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, m := range members {
		known[m.StudyCode] = true
	}
	a, err := survey.ReadAssignments(o.Assignments, known)
	if err != nil {
		return err
	}
	byWho, none := a.Split(rows)
	var paths []string
	for _, who := range a.Interviewers {
		paths = append(paths, filepath.Join(o.Out, o.Wave+"-"+files.SafeName(who, "interviewer")+".xlsx"))
	}
	if err := f.outputs(o.Force, nil, paths...); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	for i, who := range a.Interviewers {
		if err := write(paths[i], who, byWho[who]); err != nil {
			return err
		}
	}
	if len(none) > 0 {
		f.IO.Printf("%d families due at %s have no interviewer in %s: %s\n", len(none), o.Wave, o.Assignments, strings.Join(none, ", "))
	}
	return nil
}

// spanFlag reads a span flag such as --within 14d.
func spanFlag(name, s string) (trial.Span, error) {
	span := trial.Span(s)
	if _, _, err := span.Parse(); err != nil {
		return "", usagef("--%s: %v", name, err)
	}
	return span, nil
}

// SurveyStatusOptions are the inputs of `rct survey status`.
type SurveyStatusOptions struct {
	JSON bool
}

func newSurveyStatusCmd(f *factory) *cobra.Command {
	var o SurveyStatusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Completed, due, overdue and upcoming interviews per wave (no arms)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSurveyStatus(cmd.Context(), f, o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runSurveyStatus(ctx context.Context, f *factory, o SurveyStatusOptions) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	st, err := survey.Status(ctx, s.DB, s.Protocol, s.Actor.Today())
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(st)
	}
	tb := f.IO.NewTable("wave", "scheduled", "completed", "out_of_window", "due", "overdue", "upcoming", "withdrawn")
	for _, w := range st {
		c := w.Counts
		tb.Row(w.Wave, strconv.Itoa(w.Total), strconv.Itoa(c[survey.StatusCompleted]), strconv.Itoa(c[survey.StatusCompletedLate]),
			strconv.Itoa(c[survey.StatusDue]), strconv.Itoa(c[survey.StatusOverdue]), strconv.Itoa(c[survey.StatusUpcoming]), strconv.Itoa(c[survey.StatusWithdrawn]))
	}
	return tb.Flush()
}

// SurveyDueOptions are the inputs of `rct survey due`.
type SurveyDueOptions struct {
	Wave   string
	Within string
	JSON   bool
}

func newSurveyDueCmd(f *factory) *cobra.Command {
	var o SurveyDueOptions
	cmd := &cobra.Command{
		Use:   "due --wave ID [--within 14d]",
		Short: "Families to interview: due, overdue, or opening within a span (no arms)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Wave == "" {
				return usagef("give --wave")
			}
			return runSurveyDue(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Wave, "wave", "", "wave id of the protocol")
	cmd.Flags().StringVar(&o.Within, "within", "0d", "also families whose window opens within this span")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runSurveyDue(ctx context.Context, f *factory, o SurveyDueOptions) error {
	s, err := f.open(ctx, need{})
	if err != nil {
		return err
	}
	defer s.Close()
	span, err := spanFlag("within", o.Within)
	if err != nil {
		return err
	}
	slots, err := survey.ToInterview(ctx, s.DB, s.Protocol, o.Wave, span, s.Actor.Today())
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(slots)
	}
	tb := f.IO.NewTable("study_code", "status", "due_date", "window_opens", "window_closes")
	for _, sl := range slots {
		tb.Row(sl.StudyCode, sl.Status, sl.Due, sl.Opens, sl.Closes)
	}
	return tb.Flush()
}

// SurveyHistoryOptions are the inputs of `rct survey history`.
type SurveyHistoryOptions struct {
	Family string
	Wave   string
	Key    string // the activity log is sealed: shown only with the key
	JSON   bool
}

func newSurveyHistoryCmd(f *factory) *cobra.Command {
	var o SurveyHistoryOptions
	cmd := &cobra.Command{
		Use:   "history --family CODE [--wave ID]",
		Short: "Every version of a family's answers, with file, row, who and when",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Family == "" {
				return usagef("give --family")
			}
			return runSurveyHistory(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Family, "family", "", "study code")
	cmd.Flags().StringVar(&o.Wave, "wave", "", "only this wave (or caselog)")
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key: include the case managers' activity log (sealed)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runSurveyHistory(ctx context.Context, f *factory, o SurveyHistoryOptions) error {
	n := need{key: o.Key}
	if o.Wave == survey.CaseLog {
		n.keyFor = "the activity log (it is sealed: it concerns one arm)"
	}
	s, err := f.open(ctx, n)
	if err != nil {
		return err
	}
	defer s.Close()
	var log *survey.ActivityLog
	if s.Key != nil {
		if log, err = survey.OpenActivityLog(ctx, s.DB, s.Key); err != nil {
			return err
		}
	}
	vs, err := survey.History(ctx, s.DB, trial.NormalizeCode(o.Family), o.Wave, log)
	if err != nil {
		return err
	}
	if o.JSON {
		return f.IO.JSON(vs)
	}
	tb := f.IO.NewTable("wave", "month", "variable", "version", "value", "file", "row", "imported_by", "imported_at")
	for _, v := range vs {
		val := "(blanked)"
		if v.Value != nil {
			val = *v.Value
		}
		tb.Row(v.Wave, v.Month, v.Variable, strconv.Itoa(v.Version), val, v.File, strconv.Itoa(v.Row), v.ImportedBy, v.ImportedAt)
	}
	return tb.Flush()
}

// ImportOptions are the inputs of `rct survey import` and `rct caselog import`.
type ImportOptions struct {
	Wave            string
	Files           []string
	DryRun          bool
	OverwriteBlanks bool
	Report          string
	Annotate        string
	JSON            bool
	Key             string
	Arm             string
}

func newImportCmd(f *factory, caselog bool) *cobra.Command {
	var o ImportOptions
	use, short := "import --wave ID FILE...", "Check filled workbooks cell by cell and import them"
	if caselog {
		use, short = "import --key trial.key FILE...", "Check filled activity logs cell by cell and import them"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + ` (XLSX or CSV; several files at
once). Every cell is checked again, whatever the spreadsheet checked: type,
list codes, hard ranges (error) and soft ranges (warning), required answers
where the question is relevant, answers where it is not (warning),
constraints, formulas, study codes, families not due, the same family twice,
and the template's codebook version and wave.

Any error rejects the whole import: nothing is written. Warnings are imported
and recorded. A blank cell never overwrites a stored answer unless
--overwrite-blanks; a changed answer is stored as a new version with its file,
SHA-256, who and when; re-importing a file changes nothing. --report writes
every finding (CSV or XLSX); --annotate DIR writes a copy of each workbook
with the offending cells coloured and commented (DIR is made if need be).`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if caselog {
				o.Wave = survey.CaseLog
			} else if o.Wave == "" {
				return usagef("give --wave")
			}
			o.Files = args
			return runImport(cmd.Context(), f, o)
		},
	}
	if !caselog {
		cmd.Flags().StringVar(&o.Wave, "wave", "", "wave id of the protocol (m0, m6, ...)")
	} else {
		cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file (the log concerns the case managers' arm)")
		cmd.Flags().StringVar(&o.Arm, "arm", "", "the case managers' arms, comma-separated (default: every arm but the reference)")
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "check and report, write nothing")
	cmd.Flags().BoolVar(&o.OverwriteBlanks, "overwrite-blanks", false, "a blank cell blanks the stored answer (kept as a version)")
	cmd.Flags().StringVar(&o.Report, "report", "", "write every finding to this .csv or .xlsx file")
	cmd.Flags().StringVar(&o.Annotate, "annotate", "", "write annotated copies of the workbooks into this folder")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runImport(ctx context.Context, f *factory, o ImportOptions) error {
	if o.Report != "" {
		if ext := strings.ToLower(filepath.Ext(o.Report)); ext != ".csv" && ext != ".xlsx" {
			return usagef("--report: give a .csv or .xlsx file")
		}
		if err := f.outputs(true, []string{o.Key}, o.Report); err != nil {
			return err
		}
	}
	if o.Annotate != "" {
		if st, err := os.Stat(o.Annotate); err == nil && !st.IsDir() || err != nil && !errors.Is(err, fs.ErrNotExist) {
			return usagef("--annotate: %s is not a folder", o.Annotate)
		}
	}
	n := need{}
	if o.Wave == survey.CaseLog {
		n.key, n.keyFor = o.Key, "the activity log (it concerns one arm)"
	}
	s, err := f.open(ctx, n)
	if err != nil {
		return err
	}
	defer s.Close()
	in := survey.ImportOptions{Form: o.Wave, Files: o.Files, DryRun: o.DryRun, OverwriteBlanks: o.OverwriteBlanks, Actor: s.Actor, Key: s.Key}
	if o.Wave == survey.CaseLog {
		if in.Caseload, err = caseload(ctx, s, o.Arm); err != nil {
			return err
		}
	}
	in.Progress = f.IO.Progress
	res, err := survey.Import(ctx, s.DB, s.Protocol, in)
	var ie *survey.ImportError
	if err != nil && !errors.As(err, &ie) {
		return err
	}
	if res != nil {
		if werr := importOutputs(f, o, res); werr != nil {
			return werr
		}
	}
	return err
}

// importOutputs writes the import's report and annotated copies when asked,
// and prints its findings and counts.
func importOutputs(f *factory, o ImportOptions, res *survey.ImportResult) error {
	if o.Report != "" {
		format := strings.TrimPrefix(strings.ToLower(filepath.Ext(o.Report)), ".")
		if err := writeAtomic(o.Report, func(w io.Writer) error { return survey.WriteReport(w, format, res.Issues) }); err != nil {
			return err
		}
	}
	if o.Annotate != "" {
		for _, fr := range res.Files {
			if ext := strings.ToLower(filepath.Ext(fr.File)); (ext == ".xlsx" || ext == ".xlsm") && fr.Errors+fr.Warnings > 0 {
				dst := filepath.Join(o.Annotate, strings.TrimSuffix(filepath.Base(fr.File), filepath.Ext(fr.File))+".checked.xlsx")
				err := f.outputs(true, []string{o.Key}, dst) // writeAtomic makes the folder
				if err == nil {
					err = writeAtomic(dst, func(w io.Writer) error { return survey.Annotate(fr.File, fr.File, w, res.Issues) })
				}
				if err != nil {
					f.IO.Printf("%s: no annotated copy: %v\n", fr.File, err)
				}
			}
		}
	}
	if o.JSON {
		return f.IO.JSON(res)
	}
	printImport(f, res)
	return nil
}

func printImport(f *factory, res *survey.ImportResult) {
	if len(res.Issues) > 0 {
		tb := f.IO.NewTable("file", "sheet", "row", "column", "study_code", "variable", "value", "rule", "severity", "message")
		for _, i := range res.Issues {
			row := ""
			if i.Row > 0 {
				row = strconv.Itoa(i.Row)
			}
			tb.Row(i.File, i.Sheet, row, i.Column, i.StudyCode, i.Variable, i.Value, i.Rule, i.Severity, i.Message)
		}
		tb.Flush()
	}
	verb := "imported"
	if res.DryRun {
		verb = "checked (dry run, nothing written)"
	}
	if res.Errors > 0 {
		verb = "rejected: nothing written"
	}
	f.IO.Printf("%s: %d files, %d rows with answers %s (%d pre-filled rows without answers skipped); %d errors, %d warnings\n",
		res.Form, len(res.Files), res.Rows, verb, res.NotAnswered, res.Errors, res.Warnings)
	if res.Errors == 0 {
		f.IO.Printf("%d new responses, %d new answers, %d changed (old versions kept), %d unchanged, %d blank cells left stored answers alone, %d blanked\n",
			res.NewResponses, res.NewValues, res.Changed, res.Unchanged, res.BlanksKept, res.Blanked)
	}
}
