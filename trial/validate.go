package trial

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/rct-trials/rct/internal/dataerr"
)

type checker struct {
	p    *Protocol
	name string
	errs dataerr.List
}

func (c *checker) at(path, format string, args ...any) {
	c.errs = append(c.errs, &dataerr.Error{File: c.name, Line: c.p.line(path), Err: fmt.Errorf(path+": "+format, args...)})
}

func (c *checker) id(path, v string) {
	if !ValidID(v) {
		c.at(path, "%q is not an id: lower-case letters, digits and _, starting with a letter, at most 32 characters", v)
	}
}

func (c *checker) oneOf(path, v string, allowed []string) bool {
	if !slices.Contains(allowed, v) {
		c.at(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
		return false
	}
	return true
}

func (c *checker) span(path string, s Span, required bool) {
	if s == "" {
		if required {
			c.at(path, "missing")
		}
		return
	}
	if _, _, err := s.Parse(); err != nil {
		c.at(path, "%v", err)
	}
}

// unique reports ids that appear twice in a list.
func (c *checker) unique(path string, ids []string) map[string]bool {
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			c.at(fmt.Sprintf("%s[%d].id", path, i), "id %q is used twice", id)
		}
		seen[id] = true
	}
	return seen
}

// validate checks the whole protocol, part by part, and returns every
// problem found with its line.
func (p *Protocol) validate(name string) dataerr.List {
	c := &checker{p: p, name: name}
	p.validateTrial(c)
	p.validateRandomization(c)
	p.validateEligibility(c)
	waves := p.validateWaves(c)
	p.validateRegisters(c)
	p.validateOutcomes(c, waves)
	p.validateAnalysis(c)
	return c.errs
}

// validateTrial checks the format version, the trial's identity and the arms.
func (p *Protocol) validateTrial(c *checker) {
	if p.Version != FormatVersion {
		c.at("version", "protocol format version %d; this rct reads version %d (write `version: %d`)", p.Version, FormatVersion, FormatVersion)
	}
	t := p.Trial
	if !trialIDRE().MatchString(t.ID) {
		c.at("trial.id", "%q: a trial id is 1 to 32 letters, digits, _ or -", t.ID)
	}
	if strings.TrimSpace(t.Title) == "" {
		c.at("trial.title", "missing")
	}
	if !prefixRE().MatchString(t.CodePrefix) {
		c.at("trial.code_prefix", "%q: study codes start with 1 to 4 capital letters (e.g. K for K-0042)", t.CodePrefix)
	}

	if len(p.Arms) < 2 {
		c.at("arms", "a trial has at least two arms (found %d)", len(p.Arms))
	}
	var armIDs []string
	for i, a := range p.Arms {
		path := fmt.Sprintf("arms[%d]", i)
		c.id(path+".id", a.ID)
		if strings.TrimSpace(a.Label) == "" {
			c.at(path+".label", "missing")
		}
		armIDs = append(armIDs, a.ID)
	}
	c.unique("arms", armIDs)
}

// validateEligibility checks the index's domains and the inclusion rule,
// and that no domain or stratum takes a fixed column's name.
func (p *Protocol) validateEligibility(c *checker) {
	e := p.Eligibility
	if len(e.Domains) == 0 {
		c.at("eligibility.domains", "list the domains of the index (e.g. income, education, stimulation, work, housing, health)")
	}
	seen := map[string]bool{}
	for i, d := range e.Domains {
		path := fmt.Sprintf("eligibility.domains[%d]", i)
		c.id(path, d)
		if seen[d] {
			c.at(path, "domain %q is listed twice", d)
		}
		seen[d] = true
	}
	if e.MinWeak < 1 || e.MinWeak > len(e.Domains) {
		c.at("eligibility.min_weak", "%d: must be between 1 and the number of domains (%d)", e.MinWeak, len(e.Domains))
	}
	for i, v := range p.Randomization.Strata {
		if seen[v.ID] {
			c.at(fmt.Sprintf("randomization.strata[%d].id", i), "%q is also an eligibility domain: columns of the referral file must differ", v.ID)
		}
		if slices.Contains(referralColumns, v.ID) {
			c.at(fmt.Sprintf("randomization.strata[%d].id", i), "%q is a fixed column of the referral file; choose another id", v.ID)
		}
	}
	for i, d := range e.Domains {
		if slices.Contains(referralColumns, d) {
			c.at(fmt.Sprintf("eligibility.domains[%d]", i), "%q is a fixed column of the referral file; choose another id", d)
		}
	}
}

// validateWaves checks the survey waves and returns their ids.
func (p *Protocol) validateWaves(c *checker) map[string]bool {
	if len(p.Waves) == 0 {
		c.at("waves", "list at least the baseline wave")
	}
	var waveIDs []string
	for i, w := range p.Waves {
		path := fmt.Sprintf("waves[%d]", i)
		c.id(path+".id", w.ID)
		waveIDs = append(waveIDs, w.ID)
		c.span(path+".offset", w.Offset, true)
		c.span(path+".window.before", w.Window.Before, false)
		c.span(path+".window.after", w.Window.After, false)
		for _, s := range []struct {
			k string
			v Span
		}{{"offset", w.Offset}, {"window.before", w.Window.Before}, {"window.after", w.Window.After}} {
			if n, _, err := s.v.Parse(); err == nil && n < 0 {
				c.at(path+"."+s.k, "%q: must not be negative", s.v)
			}
		}
		if i > 0 && w.Offset.Days() < p.Waves[i-1].Offset.Days() {
			c.at(path+".offset", "waves are listed in time order: %s comes before %s", w.Offset, p.Waves[i-1].Offset)
		}
	}
	return c.unique("waves", waveIDs)
}

// validateRegisters checks each register's column mapping, events, spells
// and fixed linkage parameters.
func (p *Protocol) validateRegisters(c *checker) {
	var regIDs []string
	for i, r := range p.Registers {
		path := fmt.Sprintf("registers[%d]", i)
		c.id(path+".id", r.ID)
		regIDs = append(regIDs, r.ID)
		for k := range r.Columns {
			if !slices.Contains(RegisterFields, k) {
				c.at(path+".columns."+k, "unknown field %q (fields: %s)", k, strings.Join(RegisterFields, ", "))
			}
		}
		for _, req := range []string{"event", "start"} {
			if r.Columns[req] == "" {
				c.at(path+".columns", "map the %q field to a column of the extract", req)
			}
		}
		if len(r.Events) == 0 {
			c.at(path+".events", "map the extract's event codes to event names")
		}
		for code, ev := range r.Events {
			if !ValidID(ev) {
				c.at(path+".events."+code, "%q is not an event name (lower case, digits, _)", ev)
			}
		}
		if r.Unmapped != "" && r.Unmapped != "skip" && r.Unmapped != "refuse" {
			c.at(path+".unmapped", "%q: unmapped event codes are skipped (skip, the default) or refuse the extract (refuse)", r.Unmapped)
		}
		for j, sp := range r.Spells {
			if !slices.Contains(mapValues(r.Events), sp) {
				c.at(fmt.Sprintf("%s.spells[%d]", path, j), "%q is not one of the register's events", sp)
			}
		}
		if lk := r.Linkage; lk != nil {
			if lk.Lambda < 0 || lk.Lambda >= 1 {
				c.at(path+".linkage.lambda", "%g is not a share of matches (0 < lambda < 1; 0 or absent: estimated)", lk.Lambda)
			}
			for kind, probs := range map[string]map[string][]float64{"m": lk.M, "u": lk.U} {
				for field, ps := range probs {
					at := path + ".linkage." + kind + "." + field
					levels, ok := LinkageLevels[field]
					if !ok {
						c.at(at, "unknown field %q (fields: last_name, first_name, birth_date, postcode)", field)
						continue
					}
					if len(ps) != levels {
						c.at(at, "%s has %d comparison levels, %d probabilities given", field, levels, len(ps))
						continue
					}
					sum := 0.0
					for _, v := range ps {
						if v <= 0 || v > 1 {
							c.at(at, "%g is not a probability above 0", v)
						}
						sum += v
					}
					if math.Abs(sum-1) > 1e-6 {
						c.at(at, "the probabilities sum to %g, not 1", sum)
					}
				}
			}
		}
	}
	c.unique("registers", regIDs)
}

// validateOutcomes checks each outcome and its source.
func (p *Protocol) validateOutcomes(c *checker, waves map[string]bool) {
	var outIDs []string
	for i, o := range p.Outcomes {
		path := fmt.Sprintf("outcomes[%d]", i)
		c.id(path+".id", o.ID)
		outIDs = append(outIDs, o.ID)
		if strings.TrimSpace(o.Label) == "" {
			c.at(path+".label", "missing")
		}
		c.oneOf(path+".type", o.Type, outcomeTyp)
		c.oneOf(path+".family", o.Family, families)
		p.validateSource(c, path, o, waves)
	}
	c.unique("outcomes", outIDs)
}

func (p *Protocol) validateAnalysis(c *checker) {
	a := p.Analysis
	if a.SEType != "" {
		c.oneOf("analysis.se_type", a.SEType, seTypes)
	}
	if a.RIDraws != nil && (*a.RIDraws < 0 || (*a.RIDraws > 0 && *a.RIDraws < 100)) {
		c.at("analysis.ri_draws", "%d: use 0 (no randomization inference) or at least 100 draws", *a.RIDraws)
	}
	if a.Alpha != 0 && (a.Alpha <= 0 || a.Alpha >= 0.5) {
		c.at("analysis.alpha", "%v: must be between 0 and 0.5", a.Alpha)
	}
	if a.MultipleTesting != "" {
		c.oneOf("analysis.multiple_testing", a.MultipleTesting, mtMethods)
	}
	if a.Bootstrap != nil && (*a.Bootstrap < 0 || (*a.Bootstrap > 0 && *a.Bootstrap < 50)) {
		c.at("analysis.bootstrap", "%d: use 0 (no Imbens-Manski interval) or at least 50 resamples", *a.Bootstrap)
	}
	if b := a.Balance; b != nil {
		for i, d := range b.Domains {
			if !slices.Contains(p.Eligibility.Domains, d) {
				c.at(fmt.Sprintf("analysis.balance.domains[%d]", i), "%q is not an eligibility domain (domains: %s)", d, strings.Join(p.Eligibility.Domains, ", "))
			}
		}
		for i, id := range b.Strata {
			if _, ok := p.Stratum(id); !ok {
				c.at(fmt.Sprintf("analysis.balance.strata[%d]", i), "%q is not a stratification variable of randomization.strata", id)
			}
		}
		for i, v := range b.Survey {
			c.id(fmt.Sprintf("analysis.balance.survey[%d]", i), v)
		}
		if len(b.Domains)+len(b.Strata)+len(b.Survey) == 0 && !b.WeakDomains {
			c.at("analysis.balance", "lists no variable: leave it out for the default (every domain, weak_domains and every stratum)")
		}
	}
	if a.Reference != "" {
		if _, ok := p.Arm(a.Reference); !ok {
			c.at("analysis.reference", "%q is not an arm (arms: %s)", a.Reference, strings.Join(p.ArmIDs(), ", "))
		}
	}
	if a.Contrasts != "" {
		c.oneOf("analysis.contrasts", a.Contrasts, []string{"reference", "pairs"})
	}
	if a.StrataAdjustment != "" {
		c.oneOf("analysis.strata_adjustment", a.StrataAdjustment, []string{"main_effects", "cells"})
	}
	if a.MultipleTestingContrasts != "" {
		c.oneOf("analysis.multiple_testing_contrasts", a.MultipleTestingContrasts, []string{"pooled", "separate"})
	}
	if cl := a.Compliance; cl != nil {
		c.id("analysis.compliance.received", cl.Received)
		for i, v := range cl.Dose {
			c.id(fmt.Sprintf("analysis.compliance.dose[%d]", i), v)
		}
	}
}

func (p *Protocol) validateRandomization(c *checker) {
	r := p.Randomization
	if !c.oneOf("randomization.method", r.Method, methods) {
		return
	}
	ratio, err := parseRatio(r.Ratio)
	if err != nil {
		c.at("randomization.ratio", "%v", err)
	} else if len(ratio) != len(p.Arms) {
		c.at("randomization.ratio", "ratio %q has %d parts but there are %d arms", r.Ratio, len(ratio), len(p.Arms))
	}
	sum := 0
	for _, x := range ratio {
		sum += x
	}
	var ids []string
	for i, v := range r.Strata {
		path := fmt.Sprintf("randomization.strata[%d]", i)
		c.id(path+".id", v.ID)
		ids = append(ids, v.ID)
		if len(v.Values) < 2 {
			c.at(path+".values", "a stratification variable has at least two values")
		}
		seen := map[string]bool{}
		for j, x := range v.Values {
			k := strings.ToLower(strings.TrimSpace(x))
			if k == "" {
				c.at(fmt.Sprintf("%s.values[%d]", path, j), "empty value")
			}
			if seen[k] {
				c.at(fmt.Sprintf("%s.values[%d]", path, j), "value %q is listed twice", x)
			}
			seen[k] = true
		}
		if v.Weight < 0 {
			c.at(path+".weight", "a weight is not negative")
		}
		if v.Weight != 0 && r.Method != MethodMinimization {
			c.at(path+".weight", "weights are for minimization only")
		}
	}
	c.unique("randomization.strata", ids)

	blocks := r.Method == MethodBlocks || r.Method == MethodStratifiedBlocks
	if blocks && len(r.BlockSizes) == 0 {
		c.at("randomization.block_sizes", "method %s needs block_sizes (e.g. [2, 4, 6])", r.Method)
	}
	if !blocks && len(r.BlockSizes) > 0 {
		c.at("randomization.block_sizes", "block sizes are for the blocks and stratified_blocks methods")
	}
	for i, b := range r.BlockSizes {
		if sum > 0 && (b <= 0 || b%sum != 0) {
			c.at(fmt.Sprintf("randomization.block_sizes[%d]", i), "block size %d is not a positive multiple of the ratio's sum (%d)", b, sum)
		}
	}
	if (r.Method == MethodStratifiedBlocks || r.Method == MethodMinimization) && len(r.Strata) == 0 {
		c.at("randomization.strata", "method %s needs stratification variables", r.Method)
	}
	if r.Method == MethodComplete {
		if r.SampleSize < len(p.Arms) {
			c.at("randomization.sample_size", "method complete needs the planned number of families (sample_size)")
		} else if sum > 0 && r.SampleSize%sum != 0 {
			c.at("randomization.sample_size", "%d families cannot be split %s exactly", r.SampleSize, r.Ratio)
		}
	} else if r.SampleSize != 0 {
		c.at("randomization.sample_size", "sample_size is for the complete method")
	}
	if r.Method == MethodMinimization {
		if r.P <= 0 || r.P > 1 {
			c.at("randomization.p", "%v: the probability of the best arm is in (0, 1], e.g. 0.8", r.P)
		}
		if r.Imbalance != "range" && r.Imbalance != "variance" {
			c.at("randomization.imbalance", "%q: range or variance", r.Imbalance)
		}
	} else {
		if r.P != 0 {
			c.at("randomization.p", "p is for minimization")
		}
		if r.Imbalance != "" {
			c.at("randomization.imbalance", "imbalance is for minimization")
		}
	}
	if r.Method == MethodBigStick {
		if r.MaxImbalance < 1 {
			c.at("randomization.max_imbalance", "big_stick needs max_imbalance of at least 1")
		}
		if len(p.Arms) != 2 {
			c.at("randomization.method", "big_stick is defined for two arms")
		}
		if len(ratio) == 2 && ratio[0] != ratio[1] {
			c.at("randomization.ratio", "big_stick is defined for a 1:1 ratio")
		}
	} else if r.MaxImbalance != 0 {
		c.at("randomization.max_imbalance", "max_imbalance is for big_stick")
	}
}

func (p *Protocol) validateSource(c *checker, path string, o Outcome, waves map[string]bool) {
	s := o.Source
	sp := path + ".source"
	switch {
	case s.Survey != "" && s.Register != "":
		c.at(sp, "an outcome comes from a survey variable or a register, not both")
	case s.Survey != "":
		c.id(sp+".survey", s.Survey)
		if len(s.Waves) == 0 {
			c.at(sp+".waves", "list the waves at which %s is an outcome", s.Survey)
		}
		for j, w := range s.Waves {
			if !waves[w] {
				c.at(fmt.Sprintf("%s.waves[%d]", sp, j), "no wave %q in waves", w)
			}
		}
		if len(s.Events) > 0 || s.Window != nil || s.Aggregate != "" {
			c.at(sp, "events, window and aggregate are for register outcomes")
		}
		if b := o.Baseline; b != nil {
			if b.Window != nil {
				c.at(path+".baseline.window", "a survey outcome's baseline is a wave")
			}
			if !waves[b.Wave] {
				c.at(path+".baseline.wave", "no wave %q in waves", b.Wave)
			}
		}
	case s.Register != "":
		reg, ok := p.Register(s.Register)
		if !ok {
			c.at(sp+".register", "no register %q in registers", s.Register)
		}
		if len(s.Events) == 0 {
			c.at(sp+".events", "list the events that count")
		}
		for j, ev := range s.Events {
			if ok && !slices.Contains(mapValues(reg.Events), ev) {
				c.at(fmt.Sprintf("%s.events[%d]", sp, j), "register %s has no event %q", s.Register, ev)
			}
		}
		if len(s.Waves) > 0 {
			c.at(sp+".waves", "waves are for survey outcomes")
		}
		if s.Window == nil {
			c.at(sp+".window", "give the window after randomization, e.g. {from: 0d, to: 6m}")
		} else {
			c.window(sp+".window", *s.Window)
		}
		if c.oneOf(sp+".aggregate", s.Aggregate, aggregates) {
			ok := map[string][]string{"any": {"binary"}, "count": {"count", "continuous"}, "sum": {"continuous", "count"}, "days": {"count", "continuous"}}[s.Aggregate]
			if o.Type != "" && !slices.Contains(ok, o.Type) {
				c.at(sp+".aggregate", "aggregate %s gives a %s outcome, not %s", s.Aggregate, ok[0], o.Type)
			}
		}
		if b := o.Baseline; b != nil {
			if b.Wave != "" || b.Window == nil {
				c.at(path+".baseline", "a register outcome's baseline is a window before randomization, e.g. {window: {from: -12m, to: 0d}}")
			} else {
				c.window(path+".baseline.window", *b.Window)
			}
		}
	default:
		c.at(sp, "give survey (a codebook variable) or register")
	}
}

func (c *checker) window(path string, w Window) {
	c.span(path+".from", w.From, true)
	c.span(path+".to", w.To, true)
	if w.From != "" && w.To != "" && w.From.Days() >= w.To.Days() {
		c.at(path, "from (%s) must come before to (%s)", w.From, w.To)
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
