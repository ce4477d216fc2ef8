package plan

import (
	"github.com/rct-trials/rct/analysis"
	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/trial"
)

// Defaults of the analysis settings a protocol leaves out.
const (
	DefaultDraws     = 10_000
	DefaultSeed      = 1
	DefaultBootstrap = 500
	DefaultAlpha     = 0.05
	DefaultSE        = analysis.HC2
)

// Settings are the analysis settings in force: the protocol's, with the
// command's overrides and the defaults for what neither gives. Every
// command that analyses (analyze, balance, report) resolves them here, so
// the same trial, draws and seed give the same numbers everywhere.
type Settings struct {
	SEType          string  `json:"se_type"`
	Alpha           float64 `json:"alpha"`
	Draws           int     `json:"ri_draws"` // randomization-inference draws; 0: none
	Seed            uint64  `json:"seed"`     // of the draws and the bootstrap
	Studentized     bool    `json:"studentized"`
	MultipleTesting string  `json:"multiple_testing"`
	// MultipleScope is "pooled" (adjust each outcome family over its
	// outcomes and every contrast) or "separate" (within each contrast).
	MultipleScope string `json:"multiple_testing_contrasts"`
	Bootstrap     int    `json:"bootstrap"` // resamples for the SEs of the Lee bounds; 0: none
	// Progress, when set, is told of the long steps (the randomization
	// inference's draws): tick after each unit of work, done at the end.
	Progress progress.Func `json:"-"`
}

// riOptions are the draws of a randomization-inference step, with its
// progress when the command shows it; done ends the progress.
func (s Settings) riOptions(step string) (o analysis.RIOptions, done func()) {
	o = analysis.RIOptions{Draws: s.Draws, Seed: s.Seed}
	o.Tick, done = s.Progress.Start(step, s.Draws)
	return o, done
}

// Overrides are what a command's flags change; nil leaves the protocol's.
type Overrides struct {
	Draws       *int
	Seed        *uint64
	Studentized bool
}

// Resolve returns the settings of p's analysis with o applied.
func Resolve(p *trial.Protocol, o Overrides) Settings {
	a := p.Analysis
	s := Settings{SEType: a.SEType, Alpha: a.Alpha, Draws: DefaultDraws, Seed: DefaultSeed, Bootstrap: DefaultBootstrap,
		MultipleTesting: a.MultipleTesting, Studentized: o.Studentized}
	if s.SEType == "" {
		s.SEType = DefaultSE
	}
	if s.Alpha == 0 {
		s.Alpha = DefaultAlpha
	}
	if s.MultipleTesting == "" {
		s.MultipleTesting = "none"
	}
	if s.MultipleScope = a.MultipleTestingContrasts; s.MultipleScope == "" {
		s.MultipleScope = "pooled"
	}
	if a.RIDraws != nil {
		s.Draws = *a.RIDraws
	}
	if a.Seed != nil {
		s.Seed = *a.Seed
	}
	if a.Bootstrap != nil {
		s.Bootstrap = *a.Bootstrap
	}
	if o.Draws != nil {
		s.Draws = *o.Draws
	}
	if o.Seed != nil {
		s.Seed = *o.Seed
	}
	return s
}

// BalanceVariables returns the protocol's baseline variables of the
// balance table, or the default: every eligibility domain, the number of
// weak domains and every stratification variable.
func BalanceVariables(p *trial.Protocol) trial.BalanceVariables {
	if b := p.Analysis.Balance; b != nil {
		return *b
	}
	b := trial.BalanceVariables{Domains: p.Eligibility.Domains, WeakDomains: true}
	for _, v := range p.Randomization.Strata {
		b.Strata = append(b.Strata, v.ID)
	}
	return b
}
