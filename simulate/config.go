package simulate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config sets the synthetic trial's size, shape and true effects. Every
// field can be given in a YAML file (the yaml tag) or as a flag of
// `rct simulate` (the same name with dashes); the help tag says what it is.
// Shares are proportions in [0, 1].
type Config struct {
	Families    int    `yaml:"families" help:"families enrolled and randomized (referrals are drawn until this many are eligible and consent)"`
	Seed        uint64 `yaml:"seed" help:"random seed: the same seed gives the same files"`
	StartDate   string `yaml:"start_date" help:"first referral date (yyyy-mm-dd)"`
	Recruitment int    `yaml:"recruitment_days" help:"recruitment period in days; referrals spread evenly over it"`
	Arms        int    `yaml:"arms" help:"arms: 2 (intervention, control; 1:1) or 3 (intervention, phone guidance, control; 2:1:1)"`
	Ratio       string `yaml:"ratio,omitempty" help:"with two arms, the ratio intervention:control (e.g. 2:1; default 1:1); blocks are the ratio's sum and twice it"`

	Ineligible    float64 `yaml:"ineligible" help:"share of referrals weak on fewer domains than the protocol's min_weak"`
	Declining     float64 `yaml:"declining" help:"share of referrals without consent"`
	Duplicates    float64 `yaml:"duplicates" help:"share of referrals sent again later under a new referral id"`
	SingleParents float64 `yaml:"single_parents" help:"share of households without a partner"`
	Dutch         float64 `yaml:"dutch" help:"share with Dutch as main language"`
	French        float64 `yaml:"french" help:"share with French as main language"`
	Arabic        float64 `yaml:"arabic" help:"share with Arabic as main language"`
	Somali        float64 `yaml:"somali" help:"share with Somali as main language"`
	Berber        float64 `yaml:"berber" help:"share with Berber as main language (the rest: other)"`

	MissingNumber  float64 `yaml:"missing_number" help:"share of persons whose national number is missing (referral file and registers)"`
	MistypedNumber float64 `yaml:"mistyped_number" help:"share of register persons whose national number has a typo"`
	NameVariant    float64 `yaml:"name_variant" help:"share of register persons whose name is spelled differently (accents, 'Van den' spacing)"`
	SwappedBirth   float64 `yaml:"swapped_birth" help:"share of register persons with day and month of birth swapped"`
	Unrelated      int     `yaml:"unrelated_per_person" help:"register persons unrelated to the trial, per trial person"`

	SuppAidControl       float64 `yaml:"supp_aid_control" help:"P(supplementary aid within 6 months), control"`
	SuppAidIntervention  float64 `yaml:"supp_aid_intervention" help:"P(supplementary aid within 6 months), intervention (intention to treat)"`
	EmplProgControl      float64 `yaml:"empl_prog_control" help:"P(employment programme within 12 months), control"`
	EmplProgIntervention float64 `yaml:"empl_prog_intervention" help:"P(employment programme within 12 months), intervention (intention to treat)"`
	SuppAidLight         float64 `yaml:"supp_aid_light" help:"P(supplementary aid within 6 months), phone guidance (three arms; intention to treat)"`
	EmplProgLight        float64 `yaml:"empl_prog_light" help:"P(employment programme within 12 months), phone guidance (three arms; intention to treat)"`
	Leefloon             float64 `yaml:"leefloon" help:"P(on leefloon around randomization), both groups (no effect)"`
	IncomeMean           float64 `yaml:"income_mean" help:"mean monthly household income in EUR, both groups (no effect)"`
	IncomeSD             float64 `yaml:"income_sd" help:"SD of monthly household income in EUR"`
	SocialHousing        float64 `yaml:"social_housing" help:"share in social housing, both groups (no effect)"`
	DeclineGuidance      float64 `yaml:"decline_guidance" help:"share of intervention families who do not accept guidance (they get no effect)"`

	Attrition6   float64 `yaml:"attrition_m6" help:"share not interviewed at 6 months (average over the groups)"`
	Attrition12  float64 `yaml:"attrition_m12" help:"share not interviewed at 12 months (average over the groups)"`
	Differential float64 `yaml:"differential_attrition" help:"how much more attrition in control than in intervention (half added, half taken)"`
	Mistakes     int     `yaml:"interviewer_mistakes" help:"per wave, answers the interviewers get wrong in the first workbook (typo, out of range, blank) and correct afterwards"`
}

// DefaultConfig is calibrated on MISSION: 112 families randomized over two
// years (of ~140 referrals: ~15% ineligible, ~5% declining), 20% single
// parents; main language 43% Dutch, 18% French, 18% Arabic, 14% Somali, 5%
// Berber; supplementary aid within 6 months doubles (25% → 50%) and
// employment programmes within 12 months double (15% → 30%), with no effect
// on leefloon, income or social housing; a quarter of intervention families
// do not accept guidance; attrition ~10% at 6 and ~20% at 12 months. With
// three arms, phone guidance (a lighter intervention, the same families
// accept it) raises supplementary aid to 35% and employment programmes to
// 20%.
func DefaultConfig() Config {
	return Config{
		Families: 112, Seed: 1, StartDate: "2016-09-01", Recruitment: 730, Arms: 2,
		Ineligible: 0.15, Declining: 0.05, Duplicates: 0.03, SingleParents: 0.20,
		Dutch: 0.43, French: 0.18, Arabic: 0.18, Somali: 0.14, Berber: 0.05,
		MissingNumber: 0.05, MistypedNumber: 0.02, NameVariant: 0.10, SwappedBirth: 0.02, Unrelated: 20,
		SuppAidControl: 0.25, SuppAidIntervention: 0.50, EmplProgControl: 0.15, EmplProgIntervention: 0.30,
		SuppAidLight: 0.35, EmplProgLight: 0.20,
		Leefloon: 0.45, IncomeMean: 1450, IncomeSD: 450, SocialHousing: 0.30, DeclineGuidance: 0.25,
		Attrition6: 0.10, Attrition12: 0.20, Differential: 0.04, Mistakes: 3,
	}
}

// twoArmRatio reads Ratio: the two parts, or nil for 1:1.
func (c Config) twoArmRatio() ([]int, error) {
	if c.Ratio == "" || c.Ratio == "1:1" {
		return nil, nil
	}
	parts := strings.Split(c.Ratio, ":")
	bad := fmt.Errorf("ratio: %q is not two whole numbers such as 2:1 (and needs arms: 2)", c.Ratio)
	if len(parts) != 2 || c.Arms != 2 {
		return nil, bad
	}
	out := make([]int, 2)
	for i, s := range parts {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 9 {
			return nil, bad
		}
		out[i] = n
	}
	return out, nil
}

// Start is the first referral date.
func (c Config) Start() time.Time {
	t, _ := time.Parse("2006-01-02", c.StartDate)
	return t
}

// ParseConfig reads a YAML configuration over the defaults: fields not
// given keep their default. Unknown fields are errors.
func ParseConfig(name string, text []byte) (Config, error) {
	c := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && err != io.EOF {
		return c, fmt.Errorf("%s: %w", name, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// YAML is the configuration as a YAML document (what simulation.yaml holds).
func (c Config) YAML() []byte {
	b, _ := yaml.Marshal(c)
	return b
}

// Validate checks ranges: shares in [0, 1], a complier probability that
// stays a probability, a start date.
func (c Config) Validate() error {
	var errs []error
	if c.Families < 1 {
		errs = append(errs, errors.New("families: must be at least 1"))
	}
	if c.Arms != 2 && c.Arms != 3 {
		errs = append(errs, fmt.Errorf("arms: %d: the simulation has 2 arms (intervention, control) or 3 (and phone guidance)", c.Arms))
	}
	if _, err := c.twoArmRatio(); err != nil {
		errs = append(errs, err)
	}
	if _, err := time.Parse("2006-01-02", c.StartDate); err != nil {
		errs = append(errs, fmt.Errorf("start_date: %q is not yyyy-mm-dd", c.StartDate))
	}
	if c.Recruitment < 1 {
		errs = append(errs, errors.New("recruitment_days: must be at least 1"))
	}
	if c.Unrelated < 0 || c.Mistakes < 0 {
		errs = append(errs, errors.New("unrelated_per_person and interviewer_mistakes cannot be negative"))
	}
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		name := f.Tag.Get("yaml")
		if f.Type.Kind() != reflect.Float64 || name == "income_mean" || name == "income_sd" {
			continue
		}
		if x := v.Field(i).Float(); !(x >= 0 && x <= 1) {
			errs = append(errs, fmt.Errorf("%s: %v is not a share between 0 and 1", name, x))
		}
	}
	if c.Dutch+c.French+c.Arabic+c.Somali+c.Berber > 1+1e-9 {
		errs = append(errs, errors.New("the language shares add up to more than 1"))
	}
	for _, e := range []struct {
		name   string
		p0, p1 float64
	}{{"supp_aid", c.SuppAidControl, c.SuppAidIntervention}, {"empl_prog", c.EmplProgControl, c.EmplProgIntervention},
		{"supp_aid_light", c.SuppAidControl, c.SuppAidLight}, {"empl_prog_light", c.EmplProgControl, c.EmplProgLight}} {
		if pc := complierP(e.p0, e.p1, c.DeclineGuidance); !(pc >= 0 && pc <= 1) {
			errs = append(errs, fmt.Errorf("%s: with %g of intervention families declining, an intention-to-treat change from %g to %g needs a probability of %g among those who accept", e.name, c.DeclineGuidance, e.p0, e.p1, pc))
		}
	}
	if !(c.IncomeSD >= 0 && c.IncomeMean >= 0 && c.IncomeSD < 1e9 && c.IncomeMean < 1e9) {
		errs = append(errs, errors.New("income_mean and income_sd must be amounts between 0 and 1e9"))
	}
	if c.Differential/2 > c.Attrition6 || c.Differential/2 > c.Attrition12 || c.Attrition12+c.Differential/2 > 1 {
		errs = append(errs, errors.New("differential_attrition: half of it must fit within each wave's attrition"))
	}
	return errors.Join(errs...)
}

// complierP is the outcome probability among intervention families who
// accept guidance that gives an intention-to-treat probability p1 when a
// share d declines (and keeps the control probability p0):
// p1 = d·p0 + (1−d)·pc.
func complierP(p0, p1, d float64) float64 {
	if d >= 1 {
		if p1 == p0 {
			return p0
		}
		return -1
	}
	return p0 + (p1-p0)/(1-d)
}
