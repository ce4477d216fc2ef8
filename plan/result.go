package plan

import (
	"github.com/rct-trials/rct/analysis"
)

// Analysis is every outcome of the protocol at every wave in every
// contrast, with balance and attrition: what `rct analyze` prints and the
// report renders.
type Analysis struct {
	Blinded bool `json:"blinded"`
	// Groups label the randomized groups in the order of their codes: the
	// arms' labels with the key, "group A", "group B", … without.
	Groups           []string `json:"groups"`
	SEType           string   `json:"se_type"`
	Alpha            float64  `json:"alpha"`
	MultipleTesting  string   `json:"multiple_testing"`
	MultipleScope    string   `json:"multiple_testing_contrasts"` // pooled or separate
	StrataAdjustment string   `json:"strata_adjustment"`          // main_effects or cells
	Draws            int      `json:"ri_draws"`
	Seed             uint64   `json:"seed"`
	Bootstrap        int      `json:"bootstrap"`
	RIConvention     string   `json:"ri_convention"`
	Model            string   `json:"model"`
	Families         int      `json:"families"`
	// Flow counts the families of each group (in the order of Groups)
	// through allocation, follow-up and analysis.
	Flow GroupFlow `json:"flow"`
	// Across is the joint balance test across every group, for three
	// groups or more (with two it is the contrast's joint test).
	Across *JointTest `json:"balance_across_groups,omitempty"`
	// Contrasts are the comparisons of the protocol: each arm with the
	// reference arm (and every pair when asked), one two-group analysis
	// each; their p-values are adjusted together as the protocol says.
	Contrasts []*ContrastResult `json:"contrasts"`
	// Notes say what the analysis could not do and why.
	Notes []string `json:"notes"`
}

// ContrastResult is the two-group analysis of one contrast: balance,
// attrition and every outcome, among the families of its two groups.
type ContrastResult struct {
	Contrast
	Families  int             `json:"families"`
	Balance   *BalanceReport  `json:"balance"`
	Attrition []WaveAttrition `json:"attrition"`
	Outcomes  []OutcomeResult `json:"outcomes"`
}

// GroupFlow is the CONSORT count of each group.
type GroupFlow struct {
	Allocated []int `json:"allocated"`
	// Received counts, with the key and the protocol's compliance
	// variable, the families who received the intervention (the variable
	// is 1 in some month of the case managers' log).
	Received []int `json:"received,omitempty"`
	// Offers is, with the key, whether each group is offered the
	// intervention; ReceiptUnknown says why Received is absent.
	Offers         []bool `json:"offers,omitempty"`
	ReceiptUnknown string `json:"receipt_unknown,omitempty"`
	// Withdrawn counts the families who withdrew after randomization.
	Withdrawn []int          `json:"withdrawn"`
	Responded []StageCount   `json:"responded"` // per survey wave with interviews
	Analysed  []OutcomeCount `json:"analysed"`  // per outcome and wave: families with a value
}

// StageCount is a count per group at one survey wave.
type StageCount struct {
	Wave string `json:"wave"`
	N    []int  `json:"n"`
}

// OutcomeCount is the families with a value of an outcome per group.
type OutcomeCount struct {
	Outcome string `json:"outcome"`
	Wave    string `json:"wave"`
	Family  string `json:"family"`
	N       []int  `json:"n"`
}

// JointTest is a joint balance test with its randomization-inference
// p-value.
type JointTest struct {
	Test      *analysis.WaldTest `json:"test"`
	RI        *float64           `json:"ri_p_value"`
	Note      string             `json:"note,omitempty"`
	Variables []string           `json:"variables"`
}

// BalanceResult is the baseline balance: per contrast, and across every
// group when there are three or more.
type BalanceResult struct {
	Groups    []string         `json:"groups"`
	Contrasts []*BalanceReport `json:"contrasts"`
	Across    *JointTest       `json:"across_groups,omitempty"`
	Draws     int              `json:"draws"`
	Seed      uint64           `json:"seed"`
}

// BalanceReport is the baseline balance of the randomized groups.
type BalanceReport struct {
	Contrast  string                `json:"contrast"` // its id
	Groups    [2]string             `json:"groups"`   // the codes of the groups z = 0 and z = 1
	Rows      []analysis.BalanceRow `json:"rows"`
	RowsNote  string                `json:"rows_note,omitempty"` // why the table is empty
	Joint     *analysis.WaldTest    `json:"joint"`
	JointRI   *float64              `json:"joint_ri_p_value"`
	JointNote string                `json:"joint_note,omitempty"` // why a joint test is missing, or what it leaves out
	Draws     int                   `json:"draws"`
	Seed      uint64                `json:"seed"`
	Variables []string              `json:"joint_variables"`
	LeftOut   []string              `json:"left_out_of_joint_test,omitempty"` // variables of the table not in the joint test, and why
}

// WaveAttrition is the response to a survey wave by group, and the
// baseline balance among the families who responded.
type WaveAttrition struct {
	Wave    string                `json:"wave"`
	Test    analysis.Attrition    `json:"test"`
	Balance []analysis.BalanceRow `json:"balance_among_respondents"`
	Note    string                `json:"note,omitempty"`
}

// SubgroupResult is the effect by the levels of one pre-specified
// variable (a stratification variable of the protocol) and the test that
// it is the same in all of them.
type SubgroupResult struct {
	Variable string              `json:"variable"`
	Result   *analysis.Subgroups `json:"result"`
}

// GroupMeans are a measure's N, mean, SD and interval for the mean by
// group, at a survey wave ("" for a register window).
type GroupMeans struct {
	Wave string `json:"wave,omitempty"`
	analysis.GroupMeans
}

// OutcomeResult is one outcome at one wave.
type OutcomeResult struct {
	Outcome string `json:"outcome"`
	Label   string `json:"label"`
	Type    string `json:"type"`
	Family  string `json:"family"`
	Wave    string `json:"wave"` // survey wave; "" for a register window
	Source  string `json:"source"`
	// Column and BaselineColumn name the outcome and its baseline measure
	// in the exported data set (rct data export).
	Column         string           `json:"column"`
	BaselineColumn string           `json:"baseline_column,omitempty"`
	N              [2]int           `json:"n"`
	Mean           [2]float64       `json:"mean"`
	SD             [2]float64       `json:"sd"`
	Estimate       *analysis.Result `json:"estimate"`   // adjusted model
	Covariates     []string         `json:"covariates"` // of the adjusted model
	Unadjusted     *analysis.Result `json:"unadjusted"` // difference in means, Welch
	RIP            *float64         `json:"ri_p_value"`
	PAdjusted      *float64         `json:"p_adjusted"`
	Q              *float64         `json:"q_value"`
	RiskRatio      *analysis.Result `json:"risk_ratio,omitempty"` // binary: log scale estimate exponentiated
	// Lee are the bounds for primary outcomes, and ImbensManski the
	// (1 − alpha) interval for the effect given them (bootstrap standard
	// errors of the bounds).
	Lee            *analysis.LeeBounds    `json:"lee_bounds,omitempty"`
	ImbensManski   *[2]float64            `json:"imbens_manski_interval,omitempty"`
	CACE           *analysis.Result       `json:"complier_effect,omitempty"`
	Subgroups      []SubgroupResult       `json:"subgroups,omitempty"`     // primary outcomes: by each stratification variable
	Dose           *analysis.DoseResponse `json:"dose_response,omitempty"` // with the key: within the intervention group, non-experimental
	ComplianceRate *float64               `json:"compliance_rate,omitempty"`
	// Notes say, step by step, what could not be estimated and why.
	Notes []string `json:"notes,omitempty"`
	// MeanCI is each group's (1 − alpha) interval for its mean: mean ±
	// t(1 − alpha/2, n − 1)·SD/√n (equal to the mean when n < 2).
	MeanCI [2][2]float64 `json:"mean_ci"`
	// Baseline is the outcome's baseline measure by group (survey outcomes
	// with a baseline wave; register outcomes with a baseline window).
	Baseline *GroupMeans `json:"baseline,omitempty"`
	// RI is the randomization test of the outcome; its null distribution
	// (RI.Null) is kept in memory for the report's figure, not in JSON.
	RI *analysis.RIResult `json:"-"`
}

// Note returns the outcome's notes as one line.
func (r *OutcomeResult) Note() string { return joinNotes(r.Notes) }

// note adds a note: what step could not be done, and why.
func (r *OutcomeResult) note(format string, args ...any) {
	r.Notes = append(r.Notes, sprintf(format, args...))
}
