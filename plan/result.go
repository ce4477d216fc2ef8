package plan

import (
	"github.com/rct-trials/rct/analysis"
)

// Analysis is every outcome of the protocol at every wave, with balance
// and attrition: what `rct analyze` prints and the report renders.
type Analysis struct {
	Blinded         bool            `json:"blinded"`
	Groups          [2]string       `json:"groups"` // labels of z = 0 and z = 1
	Contrast        string          `json:"contrast"`
	SEType          string          `json:"se_type"`
	Alpha           float64         `json:"alpha"`
	MultipleTesting string          `json:"multiple_testing"`
	Draws           int             `json:"ri_draws"`
	Seed            uint64          `json:"seed"`
	Bootstrap       int             `json:"bootstrap"`
	RIConvention    string          `json:"ri_convention"`
	Model           string          `json:"model"`
	Balance         *BalanceReport  `json:"balance"`
	Attrition       []WaveAttrition `json:"attrition"`
	Outcomes        []OutcomeResult `json:"outcomes"`
	Families        int             `json:"families"`
	// Received counts, with the key, the families of each group who
	// received the intervention (the protocol's compliance variable in
	// some month of the case managers' log).
	Received *[2]int `json:"received,omitempty"`
	// Notes say what the analysis could not do and why.
	Notes []string `json:"notes"`
}

// BalanceReport is the baseline balance of the randomized groups.
type BalanceReport struct {
	Groups    [2]string             `json:"groups"` // z = 0, z = 1
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
	Outcome    string           `json:"outcome"`
	Label      string           `json:"label"`
	Type       string           `json:"type"`
	Family     string           `json:"family"`
	Wave       string           `json:"wave"` // survey wave; "" for a register window
	Source     string           `json:"source"`
	N          [2]int           `json:"n"`
	Mean       [2]float64       `json:"mean"`
	SD         [2]float64       `json:"sd"`
	Estimate   *analysis.Result `json:"estimate"`   // adjusted model
	Covariates []string         `json:"covariates"` // of the adjusted model
	Unadjusted *analysis.Result `json:"unadjusted"` // difference in means, Welch
	RIP        *float64         `json:"ri_p_value"`
	PAdjusted  *float64         `json:"p_adjusted"`
	Q          *float64         `json:"q_value"`
	RiskRatio  *analysis.Result `json:"risk_ratio,omitempty"` // binary: log scale estimate exponentiated
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
