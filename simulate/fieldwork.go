package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// FieldworkOptions say where the follow-up of a simulated trial happens: a
// trial database whose families were enrolled from the simulated referral
// files and randomized, its allocation key (the world knows who is
// guided, as the case managers do), and the configuration of the
// simulation that wrote the referrals.
type FieldworkOptions struct {
	Config   Config
	DB       *trial.DB
	Protocol *trial.Protocol
	Key      *trial.AllocationKey
	Actor    trial.Actor // its day is the day of the fieldwork
	Dir      string      // where the files go
	// Progress, when set, is told of the interviews, log rows and
	// extract rows written, a step for each file.
	Progress progress.Func
}

// FieldworkResult lists the files written and the truth.
type FieldworkResult struct {
	Files []string `json:"files"`
	Truth *Truth   `json:"truth"`
}

// family is a randomized household as the fieldwork sees it.
type family struct {
	code string
	h    *Household
	z    int // the arm: 0 control (the last arm), 1 intervention (the first), 2 phone guidance (the middle of three)
	date time.Time
}

// Fieldwork plays the world after randomization: interviewers fill the
// templates of every wave due by the actor's day (a first workbook with
// the configured mistakes, and the corrected one they send back after the
// import refused it), case managers log their monthly activity, the OCMW
// and the VDAB deliver extracts; truth.json says what the effects are. No
// file is overwritten.
func Fieldwork(ctx context.Context, o FieldworkOptions) (*FieldworkResult, error) {
	cfg, p, db := o.Config, o.Protocol, o.DB
	if len(p.Arms) != cfg.Arms {
		return nil, fmt.Errorf("simulate: the fieldwork simulates %d arms (simulation.yaml arms), the protocol has %d", cfg.Arms, len(p.Arms))
	}
	hh := Households(cfg, Referrals(cfg, p))
	byRef := map[string]*Household{}
	for _, h := range hh {
		byRef[h.Referral] = h
	}
	refs, err := db.ReferralIDs(ctx)
	if err != nil {
		return nil, err
	}
	alloc, err := db.AllocationList(ctx, p, o.Key, "", o.Actor)
	if err != nil {
		return nil, err
	}
	var fams []family
	for _, a := range alloc {
		h := byRef[refs[a.StudyCode]]
		if h == nil {
			return nil, fmt.Errorf("simulate: family %s (referral %s) is not in this simulation: was the database enrolled from its referral files (seed %d)?", a.StudyCode, refs[a.StudyCode], cfg.Seed)
		}
		d, _ := time.Parse("2006-01-02", a.Date)
		fams = append(fams, family{code: a.StudyCode, h: h, z: armIndex(p, a.Arm), date: d})
	}
	if len(fams) == 0 {
		return nil, fmt.Errorf("simulate: no family is randomized yet: enrol and randomize the referrals first")
	}
	// Referral ids are numbered alike in every simulation: check that the
	// enrolled families are this simulation's by their weak domains.
	randomized, err := db.Randomized(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, rf := range randomized {
		first := byRef[refs[rf.StudyCode]].Members[0]
		for j, d := range p.Eligibility.Domains {
			if rf.Domains[d] != first.Weak[j] {
				return nil, dataerr.New(filepath.Join(o.Dir, "simulation.yaml"), "family %s (referral %s) was enrolled with other referral data than this simulation's (seed %d): give the directory of the simulation the trial was enrolled from", rf.StudyCode, first.ReferralID, cfg.Seed)
			}
		}
	}
	cb, version, err := survey.Current(ctx, db, p)
	if err != nil {
		return nil, err
	}
	res := &FieldworkResult{}
	w := writer{dir: o.Dir, res: res, progress: o.Progress}
	today := o.Actor.Today()
	byCode := map[string]family{}
	for _, f := range fams {
		byCode[f.code] = f
	}
	// The files are written side by side, each from its own random
	// stream, so the same seed writes the same files in any order; they
	// are listed in the order below.
	var jobs []func(w writer) error
	for _, wave := range p.Waves {
		slots, err := survey.ToInterview(ctx, db, p, wave.ID, trial.Span("0d"), today)
		if err != nil {
			return nil, err
		}
		if len(slots) > 0 {
			jobs = append(jobs, func(w writer) error { return w.interviews(cfg, cb, version, p, wave.ID, slots, byCode, today) })
		}
	}
	jobs = append(jobs, func(w writer) error { return w.caselog(cb, version, p, fams, today) })
	for _, reg := range p.Registers {
		jobs = append(jobs, func(w writer) error { return w.extract(cfg, reg, hh, fams, today) })
	}
	if err := w.all(jobs); err != nil {
		return nil, err
	}
	res.Truth = truthOf(cfg, p, fams)
	b, _ := json.MarshalIndent(res.Truth, "", "  ")
	if err := w.file("truth.json", func(path string) error { return os.WriteFile(path, append(b, '\n'), 0o644) }); err != nil {
		return nil, err
	}
	return res, nil
}

// armIndex is the world's index of an arm by its place in the protocol:
// the first is the intervention (1), the last the control (0), a middle
// one phone guidance (2).
func armIndex(p *trial.Protocol, arm string) int {
	switch arm {
	case p.Arms[0].ID:
		return 1
	case p.Arms[len(p.Arms)-1].ID:
		return 0
	}
	return 2
}

type writer struct {
	dir      string
	res      *FieldworkResult
	progress progress.Func
}

// all runs the jobs, as many at once as there are cores, each with a
// writer of its own, and lists their files in the jobs' order. The first
// error in that order is returned. The progress is the jobs done (steps
// of their own would share one terminal line, so the jobs have none).
func (w writer) all(jobs []func(w writer) error) error {
	results := make([]FieldworkResult, len(jobs))
	errs := make([]error, len(jobs))
	free := make(chan struct{}, runtime.GOMAXPROCS(0))
	tick, done := w.progress.Start("fieldwork, workbooks and extracts written", len(jobs))
	defer done()
	var wg sync.WaitGroup
	for k, job := range jobs {
		free <- struct{}{}
		wg.Go(func() {
			defer func() { <-free }()
			errs[k] = job(writer{dir: w.dir, res: &results[k]})
			tick()
		})
	}
	wg.Wait()
	for k := range jobs {
		w.res.Files = append(w.res.Files, results[k].Files...)
		if errs[k] != nil {
			return errs[k]
		}
	}
	return nil
}

// file writes one new file through write, refusing to overwrite.
func (w writer) file(name string, write func(path string) error) error {
	path := filepath.Join(w.dir, name)
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("simulate: %s exists: the fieldwork writes new files only", path)
	}
	if err := write(path); err != nil {
		return err
	}
	w.res.Files = append(w.res.Files, path)
	return nil
}

var interviewers = []string{"Ilse", "Jonas", "Meryem", "Pieter"}

// interviews fills a wave's template as the interviewers would: families
// who respond get an interview date (mostly within the window), an
// interviewer and every question asked; the others stay blank (not
// interviewed). The first workbook carries cfg.Mistakes errors the import
// refuses (a letter O typed for a zero, an answer beyond the hard range, a
// required answer left blank); the corrected one has them mended. Both
// carry a few answers outside the soft ranges (imported with a warning).
// The answers are drawn first, then each workbook is written as the
// template is, a row at a time: filling a written template through
// excelize's cell API took 87 s and 3.4 GB for the three waves of the
// 100,000-family demo.
func (w writer) interviews(cfg Config, cb *survey.Codebook, version int, p *trial.Protocol, wave string, slots []survey.Slot,
	byCode map[string]family, today time.Time) error {
	rows := make([]survey.TemplateRow, len(slots))
	for i, s := range slots {
		rows[i] = s.Row()
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x0a00_0000+uint64(len(wave))*31+uint64(wave[len(wave)-1])))
	vars := cb.Form(wave)
	cells := make([]map[string]any, len(slots)) // a row's cells by column; nil: not interviewed
	var done []int
	for i, s := range slots {
		fam, ok := byCode[s.StudyCode]
		if !ok || !fam.h.Responds(cfg, wave, fam.z) {
			continue
		}
		due, _ := time.Parse("2006-01-02", s.Due)
		closes, _ := time.Parse("2006-01-02", s.Closes)
		date := due.AddDate(0, 0, rng.IntN(21)-3)
		if rng.Float64() < 0.03 { // late: imported with a warning
			date = closes.AddDate(0, 0, 3+rng.IntN(20))
		}
		if date.After(today) {
			date = today
		}
		a := fam.h.answers(cb, vars, wave, fam.z)
		row := map[string]any{"interview_date": date, "interviewer": interviewers[fam.h.Index%len(interviewers)]}
		for _, v := range vars {
			if x, ok := a[v.Name]; ok {
				row[v.Name] = x
			}
		}
		cells[i] = row
		done = append(done, i)
	}
	// A few answers outside the soft ranges, true as given.
	for k := 0; k < min(2, len(done)); k++ {
		cells[done[rng.IntN(len(done))]]["network_size"] = 32 + rng.IntN(10)
	}
	o := survey.TemplateOptions{Form: wave, TrialID: p.Trial.ID, CodebookVersion: version, Today: today, Rows: rows,
		Answers: func(i int) map[string]any { return cells[i] }}
	if err := w.template(cb, wave+"-interviews-corrected.xlsx", o); err != nil {
		return err
	}
	mistakes := map[int]map[string]any{} // row → the cells typed wrong (nil: left blank)
	for k := 0; k < cfg.Mistakes && len(done) > 0; k++ {
		d := done[rng.IntN(len(done))]
		if mistakes[d] == nil {
			mistakes[d] = map[string]any{}
		}
		switch k % 3 {
		case 0: // a letter O typed for a zero (or after the number)
			v := fmt.Sprint(cells[d]["income_total"]) // as answered: the soft-range cells are network_size
			typo := strings.Replace(v, "0", "O", 1)
			if typo == v {
				typo += "O"
			}
			mistakes[d]["income_total"] = typo
		case 1:
			mistakes[d]["hh_size"] = 25 + rng.IntN(30)
		case 2:
			mistakes[d]["arrears"] = nil
		}
	}
	o.Answers = func(i int) map[string]any {
		if mistakes[i] == nil {
			return cells[i]
		}
		row := maps.Clone(cells[i])
		maps.Copy(row, mistakes[i])
		return row
	}
	return w.template(cb, wave+"-interviews.xlsx", o)
}

// template writes a form's template, with the answers o gives, as a new
// file of the fieldwork.
func (w writer) template(cb *survey.Codebook, name string, o survey.TemplateOptions) error {
	return w.file(name, func(path string) error {
		out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if err := cb.WriteTemplate(out, o); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// answers are a household's answers at a wave as an interviewer writes
// them: numbers as numbers, dates as dates, a select_one by its label (the
// drop-down), a select_multiple as codes separated by "; ". Only the
// questions asked (relevance on the answers so far) are answered.
func (h *Household) answers(cb *survey.Codebook, vars []*survey.Variable, wave string, z int) map[string]any {
	rng := rand.New(rand.NewPCG(h.seed, 0x0b00_0000+uint64(h.Index)*8+uint64(len(wave))*3+uint64(wave[len(wave)-1])))
	codes := map[string]string{}
	cells := map[string]any{}
	env := func(name string) (string, bool) { v, ok := codes[name]; return v, ok }
	adults, children := 0, 0
	for _, m := range h.Members {
		if m.Role == "child" {
			children++
		} else {
			adults++
		}
	}
	children += h.Index % 3 // older siblings
	yes := func(b bool) string { return map[bool]string{true: "1", false: "0"}[b] }
	period := 0
	if wave == "m6" {
		period = 1
	} else if wave != "m0" {
		period = 2
	}
	social := h.SocialHousing != (period > 0 && rng.Float64() < 0.08) // some move in or out
	for _, v := range vars {
		if !v.Asked(env) {
			continue
		}
		var code string
		var cell any
		switch v.Name {
		case "respondent_name":
			cell = h.Members[0].FirstName + " " + h.Members[0].LastName
		case "phone":
			cell = fmt.Sprintf("04%02d %02d %02d %02d", 70+h.Index%30, rng.IntN(100), rng.IntN(100), rng.IntN(100))
		case "hh_size":
			code = fmt.Sprint(adults + children)
		case "hh_adults":
			code = fmt.Sprint(adults)
		case "single_parent":
			code = yes(adults == 1)
		case "main_language":
			code = h.Members[0].Language
		case "child_birth_date":
			cell = h.Members[len(h.Members)-1].BirthDate
		case "income_total":
			x := h.Income
			if period > 0 {
				x += h.IncomeChange[period-1]
			}
			code = fmt.Sprint(int(math.Round(math.Max(350, x)/10) * 10))
		case "income_source":
			src := []string{"child_benefit"}
			if h.Leefloon {
				src = append(src, "leefloon")
			} else if rng.Float64() < 0.5 {
				src = append(src, "work")
			} else {
				src = append(src, "unemployment")
			}
			code = strings.Join(src, " ")
		case "housing_tenure":
			code = "private_rent"
			if social {
				code = "social_rent"
			} else if rng.Float64() < 0.1 {
				code = "with_family"
			}
		case "social_housing":
			code = yes(social)
		case "rent_amount":
			code = fmt.Sprint(map[bool]int{true: 380, false: 620}[social] + 10*rng.IntN(20))
		case "services_used":
			code = "kind_en_gezin"
			if h.Leefloon {
				code += " ocmw"
			}
		default:
			code = generic(cb, v, rng)
		}
		if code != "" {
			codes[v.Name] = code
			switch v.Kind {
			case survey.SelectOne:
				cell = cb.ChoiceLabel(v.List, code, cb.Languages[0])
			case survey.SelectMultiple:
				cell = strings.Join(strings.Fields(code), "; ")
			case survey.Integer, survey.Decimal:
				var x float64
				fmt.Sscan(code, &x)
				cell = x
			default:
				cell = code
			}
		}
		if cell != nil {
			cells[v.Name] = cell
		}
	}
	return cells
}

// generic answers a question the world has no model for: a choice at
// random, a number within the soft range (else the hard one, else 0–10),
// now and then a declared missing code for an optional number.
func generic(cb *survey.Codebook, v *survey.Variable, rng *rand.Rand) string {
	switch v.Kind {
	case survey.SelectOne:
		l := cb.Lists[v.List]
		return l[rng.IntN(len(l))].Code
	case survey.SelectMultiple:
		l := cb.Lists[v.List]
		n := 1 + rng.IntN(min(2, len(l)))
		var out []string
		for _, i := range rng.Perm(len(l))[:n] {
			out = append(out, l[i].Code)
		}
		return strings.Join(out, " ")
	case survey.Integer, survey.Decimal:
		if !v.Required && len(cb.Missing) > 0 && rng.Float64() < 0.02 {
			return cb.Missing[rng.IntN(len(cb.Missing))].Code
		}
		lo, hi := 0.0, 10.0
		for _, r := range []*survey.Range{v.Hard, v.Soft} {
			if r == nil {
				continue
			}
			if r.Min != "" {
				fmt.Sscan(r.Min, &lo)
			}
			if r.Max != "" {
				fmt.Sscan(r.Max, &hi)
			}
		}
		hi = math.Min(hi, lo+math.Max(10, (hi-lo)/2))
		return fmt.Sprint(int(lo) + rng.IntN(int(hi-lo)+1))
	case survey.Date:
		return ""
	}
	return ""
}

// caselog fills the case managers' activity log: for each family of an
// intervention arm, a row per month from its randomization for a year (up
// to the fieldwork's month). Families who accept guidance have contacts by
// text, phone and home visits every month (phone guidance: text and phone
// only); the others a first contact and then nothing, guidance not
// accepted.
func (w writer) caselog(cb *survey.Codebook, version int, p *trial.Protocol, fams []family, today time.Time) error {
	var rows []survey.TemplateRow
	var who []family
	var months []int
	for _, f := range fams {
		if f.z == 0 {
			continue
		}
		start := time.Date(f.date.Year(), f.date.Month(), 1, 0, 0, 0, 0, time.UTC)
		for m := 0; m < 12; m++ {
			month := start.AddDate(0, m, 0)
			if month.Format("2006-01") > today.Format("2006-01") {
				break
			}
			rows = append(rows, survey.TemplateRow{StudyCode: f.code, Month: month.Format("2006-01")})
			who, months = append(who, f), append(months, m)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	yes, no := cb.ChoiceLabel("yes_no", "1", cb.Languages[0]), cb.ChoiceLabel("yes_no", "0", cb.Languages[0])
	answers := func(i int) map[string]any {
		fam := who[i]
		h, m := fam.h, months[i]
		rng := rand.New(rand.NewPCG(h.seed, 0x0c00_0000+uint64(h.Index)*16+uint64(m)))
		vals := map[string]any{"case_manager": h.Caseload}
		active := h.Complier || m == 0
		pois := func(mean float64) int {
			if !active {
				return 0
			}
			if !h.Complier {
				mean /= 4
			}
			// Knuth's method: means here are small.
			l, k, q := math.Exp(-mean), 0, 1.0
			for {
				q *= rng.Float64()
				if q <= l {
					return k
				}
				k++
			}
		}
		taper := 1 / (1 + float64(m)/4)
		vals["contacts_text"] = pois(8 * taper)
		vals["contacts_phone"] = pois(4 * taper)
		vals["contacts_home_visit"] = pois(2.5 * taper)
		vals["contacts_accompanied"] = pois(1 * taper)
		if fam.z == 2 { // phone guidance: no visits, no accompanying
			vals["contacts_home_visit"], vals["contacts_accompanied"] = 0, 0
		}
		vals["contacts_email"] = pois(0.5)
		vals["organisations_contacted"] = pois(1.5 * taper)
		hours := 0.5 * float64(vals["contacts_home_visit"].(int)*3+vals["contacts_accompanied"].(int)*4+vals["contacts_phone"].(int)+vals["contacts_text"].(int)/2)
		vals["hours_spent"] = hours
		vals["accepted_guidance"] = map[bool]string{true: yes, false: no}[h.Complier]
		return vals
	}
	// Written as the template is, a row at a time: 480,000 rows at
	// 100,000 families.
	return w.template(cb, "caselog.xlsx", survey.TemplateOptions{Form: survey.CaseLog, TrialID: p.Trial.ID, CodebookVersion: version, Today: today, Rows: rows, Answers: answers})
}

// Truth is what the simulation knows and the analysis must find: for each
// outcome the probabilities or means by arm in the population, the
// intention-to-treat effect (intervention minus control), the effect among
// those who accept guidance, and the mean individual effect among the
// randomized families of this sample; with three arms, the same for each
// contrast with control.
type Truth struct {
	Seed       uint64         `json:"seed"`
	Families   int            `json:"families_randomized"`
	Guided     int            `json:"families_intervention"` // in an intervention arm
	Compliance float64        `json:"compliance"`
	Outcomes   []TruthOutcome `json:"outcomes"`
	Config     Config         `json:"config"`
}

// TruthOutcome is the truth of one outcome.
type TruthOutcome struct {
	Outcome        string  `json:"outcome"`
	Primary        bool    `json:"primary"`
	Control        float64 `json:"control"`
	Intervention   float64 `json:"intervention"`
	Effect         float64 `json:"effect"`
	ComplierEffect float64 `json:"complier_effect"`
	SampleEffect   float64 `json:"sample_effect"`
	// Contrasts are, with three arms, each arm minus control, named as
	// rct analyze names them with the key (intervention-control,
	// light-control).
	Contrasts []TruthContrast `json:"contrasts,omitempty"`
}

// TruthContrast is the truth of one contrast of an outcome.
type TruthContrast struct {
	Contrast       string  `json:"contrast"`
	Arm            float64 `json:"arm"` // the probability or mean in the arm
	Effect         float64 `json:"effect"`
	ComplierEffect float64 `json:"complier_effect"`
	SampleEffect   float64 `json:"sample_effect"`
}

func truthOf(cfg Config, p *trial.Protocol, fams []family) *Truth {
	t := &Truth{Seed: cfg.Seed, Families: len(fams), Config: cfg}
	var supp, empl [3]float64
	for _, f := range fams {
		for a := 1; a < 3; a++ {
			supp[a] += float64(boolIdx(f.h.SuppAid[a]) - boolIdx(f.h.SuppAid[0]))
			empl[a] += float64(boolIdx(f.h.EmplProg[a]) - boolIdx(f.h.EmplProg[0]))
		}
		if f.z != 0 {
			t.Guided++
		}
	}
	n := float64(len(fams))
	t.Compliance = 1 - cfg.DeclineGuidance
	control := p.Arms[len(p.Arms)-1].ID
	binary := func(id string, p0, p1, p2 float64, sample [3]float64) TruthOutcome {
		o := TruthOutcome{Outcome: id, Primary: true, Control: p0, Intervention: p1, Effect: p1 - p0,
			ComplierEffect: complierP(p0, p1, cfg.DeclineGuidance) - p0, SampleEffect: sample[1] / n}
		if cfg.Arms == 3 {
			for _, c := range []struct {
				arm string
				a   int
				p   float64
			}{{p.Arms[0].ID, 1, p1}, {p.Arms[1].ID, 2, p2}} {
				o.Contrasts = append(o.Contrasts, TruthContrast{Contrast: c.arm + "-" + control, Arm: c.p, Effect: c.p - p0,
					ComplierEffect: complierP(p0, c.p, cfg.DeclineGuidance) - p0, SampleEffect: sample[c.a] / n})
			}
		}
		return o
	}
	t.Outcomes = []TruthOutcome{
		binary("supp_aid_6m", cfg.SuppAidControl, cfg.SuppAidIntervention, cfg.SuppAidLight, supp),
		binary("empl_prog_12m", cfg.EmplProgControl, cfg.EmplProgIntervention, cfg.EmplProgLight, empl),
		{Outcome: "leefloon_days_6m"},
		{Outcome: "income", Control: cfg.IncomeMean, Intervention: cfg.IncomeMean},
		{Outcome: "social_housing", Control: cfg.SocialHousing, Intervention: cfg.SocialHousing},
	}
	return t
}
