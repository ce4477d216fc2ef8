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
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
	"github.com/spf13/cobra"
)

func newCodebookCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "codebook", Short: "Write, check and install the survey codebook"}
	var protocol, reason string
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Report every problem in a codebook, with its line number",
		Long: `Report every problem in a codebook file, with its line number. The waves it
names are checked against the protocol (--protocol, else the trial's when a
trial database is found), and so are the survey outcomes of the protocol.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var p *trial.Protocol
			if protocol != "" || fileExists(dbPath(f, cmd)) {
				var closeDB func()
				var err error
				if p, closeDB, err = protocolFor(ctx, f, cmd, protocol); err != nil {
					return err
				}
				defer closeDB()
			}
			cb, err := readCodebook(args[0], p)
			if err != nil {
				return err
			}
			f.IO.Printf("%s: codebook %s version %s is valid (%d variables, %d lists; sha256 %s)\n",
				args[0], cb.Codebook.ID, cb.Codebook.Version, len(cb.Variables), len(cb.Lists), cb.SHA256())
			return nil
		},
	}
	check.Flags().StringVar(&protocol, "protocol", "", "protocol file whose waves and outcomes the codebook must fit")
	install := &cobra.Command{
		Use:   "install FILE [--reason TEXT]",
		Short: "Put a codebook in force for the trial (a new version; the old ones are kept)",
		Long: `Put a codebook in force for the trial. Each install is a numbered version with
who, when and why; templates carry the version, and the import refuses a
template of another version. Installing the codebook in force changes nothing.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, p, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			cb, err := readCodebook(args[0], p)
			if err != nil {
				return err
			}
			v, changed, err := survey.Install(ctx, db, p, cb, args[0], reason, f.actor())
			if err != nil {
				return err
			}
			if !changed {
				f.IO.Printf("codebook version %d is already this file: nothing changed\n", v)
				return nil
			}
			f.IO.Printf("codebook %s (%s) installed as version %d\n", cb.Codebook.ID, cb.Codebook.Version, v)
			return nil
		},
	}
	install.Flags().StringVar(&reason, "reason", "", "why the codebook changes (required from the second version on)")
	cmd.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print a commented codebook matching the example protocol (MISSION)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := f.IO.Out.Write(survey.ExampleCodebook())
			return err
		},
	}, check, install)
	return cmd
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readCodebook reads and checks a codebook file, against p when given.
func readCodebook(path string, p *trial.Protocol) (*survey.Codebook, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, dataerr.File(path, err)
	}
	var waves []string
	if p != nil {
		waves = survey.Waves(p)
	}
	cb, err := survey.ParseCodebook(path, b, waves)
	if err != nil {
		return nil, err
	}
	if p != nil {
		if err := cb.CheckProtocol(path, p); err != nil {
			return nil, err
		}
	}
	return cb, nil
}

// TemplateOptions are the inputs of `rct survey template` and `rct caselog template`.
type TemplateOptions struct {
	Wave        string
	Out         string
	Interviewer string
	Lang        string
	Within      string
	Force       bool
	Key         string
	Month       string
	Arm         string
}

func newSurveyCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "survey", Short: "Interviewer templates, validated import and wave tracking"}
	var t TemplateOptions
	tmpl := &cobra.Command{
		Use:   "template --wave ID -o FILE.xlsx",
		Short: "Write the XLSX template of a wave for the interviewers",
		Long: `Write the XLSX template of a wave: one row per family whose window is open (or
closed without an interview; --within 14d adds those opening in the next 14
days), study code, due date and window pre-filled and locked, a column per
question with drop-down lists, range checks and a prompt with the question.
The template holds study codes only: no arm, no group. An existing file is
never overwritten (it may hold answers) unless --force.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if t.Wave == "" || t.Out == "" {
				return usagef("give --wave and -o FILE.xlsx")
			}
			return runSurveyTemplate(cmd.Context(), f, cmd, t)
		},
	}
	tmpl.Flags().StringVar(&t.Wave, "wave", "", "wave id of the protocol (m0, m6, ...)")
	tmpl.Flags().StringVarP(&t.Out, "output", "o", "", "XLSX file to write")
	tmpl.Flags().StringVar(&t.Interviewer, "interviewer", "", "pre-fill the interviewer column")
	tmpl.Flags().StringVar(&t.Lang, "lang", "", "language of the labels (default: the codebook's first)")
	tmpl.Flags().StringVar(&t.Within, "within", "0d", "also families whose window opens within this span (14d, 2w)")
	tmpl.Flags().BoolVar(&t.Force, "force", false, "overwrite an existing file")

	imp := newImportCmd(f, false)

	var sjson bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Completed, due, overdue and upcoming interviews per wave (no arms)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, p, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := survey.Status(ctx, db, p, f.actor().Today())
			if err != nil {
				return err
			}
			if sjson {
				return f.IO.JSON(st)
			}
			tb := f.IO.NewTable("wave", "scheduled", "completed", "out_of_window", "due", "overdue", "upcoming", "withdrawn")
			for _, w := range st {
				c := w.Counts
				tb.Row(w.Wave, strconv.Itoa(w.Total), strconv.Itoa(c[survey.StatusCompleted]), strconv.Itoa(c[survey.StatusCompletedLate]),
					strconv.Itoa(c[survey.StatusDue]), strconv.Itoa(c[survey.StatusOverdue]), strconv.Itoa(c[survey.StatusUpcoming]), strconv.Itoa(c[survey.StatusWithdrawn]))
			}
			return tb.Flush()
		},
	}
	status.Flags().BoolVar(&sjson, "json", false, "print as JSON")

	var dwave, within string
	var djson bool
	due := &cobra.Command{
		Use:   "due --wave ID [--within 14d]",
		Short: "Families to interview: due, overdue, or opening within a span (no arms)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dwave == "" {
				return usagef("give --wave")
			}
			ctx := cmd.Context()
			db, p, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			span, err := spanFlag("within", within)
			if err != nil {
				return err
			}
			slots, err := survey.ToInterview(ctx, db, p, dwave, span, f.actor().Today())
			if err != nil {
				return err
			}
			if djson {
				return f.IO.JSON(slots)
			}
			tb := f.IO.NewTable("study_code", "status", "due_date", "window_opens", "window_closes")
			for _, s := range slots {
				tb.Row(s.StudyCode, s.Status, s.Due, s.Opens, s.Closes)
			}
			return tb.Flush()
		},
	}
	due.Flags().StringVar(&dwave, "wave", "", "wave id of the protocol")
	due.Flags().StringVar(&within, "within", "0d", "also families whose window opens within this span")
	due.Flags().BoolVar(&djson, "json", false, "print as JSON")
	var hfamily, hwave string
	var hjson bool
	history := &cobra.Command{
		Use:   "history --family CODE [--wave ID]",
		Short: "Every version of a family's answers, with file, row, who and when",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if hfamily == "" {
				return usagef("give --family")
			}
			ctx := cmd.Context()
			db, _, err := openTrial(ctx, f, cmd, "")
			if err != nil {
				return err
			}
			defer db.Close()
			vs, err := survey.History(ctx, db, strings.ToUpper(hfamily), hwave)
			if err != nil {
				return err
			}
			if hjson {
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
		},
	}
	history.Flags().StringVar(&hfamily, "family", "", "study code")
	history.Flags().StringVar(&hwave, "wave", "", "only this wave (or caselog)")
	history.Flags().BoolVar(&hjson, "json", false, "print as JSON")
	cmd.AddCommand(tmpl, imp, status, due, history)
	return cmd
}

// spanFlag reads a span flag such as --within 14d.
func spanFlag(name, s string) (trial.Span, error) {
	span := trial.Span(s)
	if _, _, err := span.Parse(); err != nil {
		return "", usagef("--%s: %v", name, err)
	}
	return span, nil
}

func runSurveyTemplate(ctx context.Context, f *factory, cmd *cobra.Command, o TemplateOptions) error {
	if err := refuseOverwrite(o.Out, o.Force); err != nil {
		return err
	}
	db, p, err := openTrial(ctx, f, cmd, "")
	if err != nil {
		return err
	}
	defer db.Close()
	cb, version, err := survey.Current(ctx, db, p)
	if err != nil {
		return err
	}
	if err := checkLang(cb, o.Lang); err != nil {
		return err
	}
	today := f.actor().Today()
	span, err := spanFlag("within", o.Within)
	if err != nil {
		return err
	}
	slots, err := survey.ToInterview(ctx, db, p, o.Wave, span, today)
	if err != nil {
		return err
	}
	var rows []survey.TemplateRow
	for _, s := range slots {
		rows = append(rows, s.Row())
	}
	err = writeAtomic(o.Out, func(w io.Writer) error {
		return cb.WriteTemplate(w, survey.TemplateOptions{Form: o.Wave, Lang: o.Lang, TrialID: p.Trial.ID, CodebookVersion: version,
			Interviewer: o.Interviewer, Today: today, Rows: rows})
	})
	if err != nil {
		return err
	}
	f.IO.Printf("%s: template of %s for %d families (codebook version %d)\n", o.Out, o.Wave, len(rows), version)
	return nil
}

func checkLang(cb *survey.Codebook, lang string) error {
	if lang == "" {
		return nil
	}
	for _, l := range cb.Languages {
		if l == lang {
			return nil
		}
	}
	return usagef("--lang %s: the codebook's languages are %v", lang, cb.Languages)
}

// refuseOverwrite refuses to replace an existing file unless forced: a
// template on disk may already hold an interviewer's answers.
func refuseOverwrite(path string, force bool) error {
	if _, err := os.Stat(path); err == nil && !force {
		return usagef("%s exists (it may hold answers): choose another name, or give --force", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// writeAtomic writes a file through a temporary one in the same folder,
// renamed into place only when complete: a failed write leaves no
// half-written file.
func writeAtomic(path string, fill func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ImportOptions are the inputs of `rct survey import` and `rct caselog import`.
type ImportOptions struct {
	Wave            string
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
every finding (CSV or XLSX); --annotate DIR writes a copy of each workbook with
the offending cells coloured and commented.`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if caselog {
				o.Wave = survey.CaseLog
			} else if o.Wave == "" {
				return usagef("give --wave")
			}
			return runSurveyImport(cmd.Context(), f, cmd, o, args)
		},
	}
	if !caselog {
		cmd.Flags().StringVar(&o.Wave, "wave", "", "wave id of the protocol (m0, m6, ...)")
	} else {
		cmd.Flags().StringVar(&o.Key, "key", "", "allocation key file (the log concerns the case managers' arm)")
		cmd.Flags().StringVar(&o.Arm, "arm", "", "the case managers' arm (default: the protocol's first arm)")
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "check and report, write nothing")
	cmd.Flags().BoolVar(&o.OverwriteBlanks, "overwrite-blanks", false, "a blank cell blanks the stored answer (kept as a version)")
	cmd.Flags().StringVar(&o.Report, "report", "", "write every finding to this .csv or .xlsx file")
	cmd.Flags().StringVar(&o.Annotate, "annotate", "", "write annotated copies of the workbooks into this folder")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON")
	return cmd
}

func runSurveyImport(ctx context.Context, f *factory, cmd *cobra.Command, o ImportOptions, files []string) error {
	if o.Report != "" {
		if ext := strings.ToLower(filepath.Ext(o.Report)); ext != ".csv" && ext != ".xlsx" {
			return usagef("--report: give a .csv or .xlsx file")
		}
	}
	if o.Annotate != "" {
		if st, err := os.Stat(o.Annotate); err != nil || !st.IsDir() {
			return usagef("--annotate: %s is not a folder", o.Annotate)
		}
	}
	db, p, err := openTrial(ctx, f, cmd, "")
	if err != nil {
		return err
	}
	defer db.Close()
	io := survey.ImportOptions{Form: o.Wave, Files: files, DryRun: o.DryRun, OverwriteBlanks: o.OverwriteBlanks, Actor: f.actor()}
	if o.Wave == survey.CaseLog {
		if io.Caseload, err = caseload(ctx, f, db, p, o.Key, o.Arm); err != nil {
			return err
		}
	}
	res, err := survey.Import(ctx, db, p, io)
	var ie *survey.ImportError
	if err != nil && !errors.As(err, &ie) {
		return err
	}
	if res != nil {
		if o.Report != "" {
			if werr := survey.WriteReport(o.Report, res.Issues); werr != nil {
				return werr
			}
		}
		if o.Annotate != "" {
			for _, fr := range res.Files {
				if ext := strings.ToLower(filepath.Ext(fr.File)); (ext == ".xlsx" || ext == ".xlsm") && fr.Errors+fr.Warnings > 0 {
					dst := filepath.Join(o.Annotate, strings.TrimSuffix(filepath.Base(fr.File), filepath.Ext(fr.File))+".checked.xlsx")
					if werr := survey.Annotate(fr.File, dst, res.Issues); werr != nil {
						f.IO.Printf("%s: no annotated copy: %v\n", fr.File, werr)
					}
				}
			}
		}
		if o.JSON {
			if jerr := f.IO.JSON(res); jerr != nil {
				return jerr
			}
		} else {
			printImport(f, res)
		}
	}
	return err
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

// caseload returns the study codes of the case managers' arm, read with the key.
func caseload(ctx context.Context, f *factory, db *trial.DB, p *trial.Protocol, keyPath, arm string) (map[string]bool, error) {
	key, err := allocationKey(ctx, db, keyPath, "the activity log (it concerns one arm)")
	if err != nil {
		return nil, err
	}
	if arm == "" {
		arm = p.Arms[0].ID
	}
	rows, err := db.AllocationList(ctx, p, key, arm, f.actor())
	if errors.Is(err, trial.ErrUnknownArm) {
		return nil, usagef("--arm: %v", err)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rows {
		if !r.Withdrawn {
			out[r.StudyCode] = true
		}
	}
	return out, nil
}

func newCaselogCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "caselog", Short: "The case managers' monthly activity log (contacts, hours, guidance accepted)"}
	var o TemplateOptions
	tmpl := &cobra.Command{
		Use:   "template --key trial.key [--month yyyy-mm] -o FILE.xlsx",
		Short: "Write the activity-log template of a month for the case managers",
		Long: `Write the activity-log template of a month: one row per family the case
managers guide (the protocol's first arm, or --arm), randomized by the end of
the month and not withdrawn. It needs the allocation key, and the listing is
recorded in the audit chain: the log is for case managers, who know the arm;
never give it to interviewers.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return usagef("give -o FILE.xlsx")
			}
			return runCaselogTemplate(cmd.Context(), f, cmd, o)
		},
	}
	tmpl.Flags().StringVar(&o.Key, "key", "", "allocation key file")
	tmpl.Flags().StringVar(&o.Arm, "arm", "", "the case managers' arm (default: the protocol's first arm)")
	tmpl.Flags().StringVar(&o.Month, "month", "", "the month logged, yyyy-mm (default: the current month)")
	tmpl.Flags().StringVarP(&o.Out, "output", "o", "", "XLSX file to write")
	tmpl.Flags().StringVar(&o.Lang, "lang", "", "language of the labels (default: the codebook's first)")
	tmpl.Flags().BoolVar(&o.Force, "force", false, "overwrite an existing file")
	cmd.AddCommand(tmpl, newImportCmd(f, true))
	return cmd
}

func runCaselogTemplate(ctx context.Context, f *factory, cmd *cobra.Command, o TemplateOptions) error {
	today := f.actor().Today()
	month := o.Month
	if month == "" {
		month = today.Format("2006-01")
	}
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return usagef("--month %q: write yyyy-mm", month)
	}
	if month > today.Format("2006-01") {
		return usagef("--month %s has not begun", month)
	}
	if err := refuseOverwrite(o.Out, o.Force); err != nil {
		return err
	}
	db, p, err := openTrial(ctx, f, cmd, "")
	if err != nil {
		return err
	}
	defer db.Close()
	cb, version, err := survey.Current(ctx, db, p)
	if err != nil {
		return err
	}
	if err := checkLang(cb, o.Lang); err != nil {
		return err
	}
	load, err := caseload(ctx, f, db, p, o.Key, o.Arm)
	if err != nil {
		return err
	}
	rows, err := survey.CaseLogRows(ctx, db, load, m)
	if err != nil {
		return err
	}
	err = writeAtomic(o.Out, func(w io.Writer) error {
		return cb.WriteTemplate(w, survey.TemplateOptions{Form: survey.CaseLog, Lang: o.Lang, TrialID: p.Trial.ID, CodebookVersion: version, Today: today, Rows: rows})
	})
	if err != nil {
		return err
	}
	f.IO.Printf("%s: activity log of %s for %d families (codebook version %d)\n", o.Out, month, len(rows), version)
	return nil
}
