package plan

import (
	"context"
	"sync"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/linkage"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// Context is what the effect report shows besides the analysis: the
// protocol and its amendments, the CONSORT counts, the recruitment and
// follow-up dates, register links and survey warnings, and the labels of
// variables and groups.
type Context struct {
	Protocol       *trial.Protocol
	Status         *trial.Status
	Amendments     []trial.ProtocolVersion
	SeedCommitment string
	DBSHA256       string    // of the database file as it was before the report
	Recruitment    [2]string // first and last randomization dates
	FollowUp       string    // last interview date
	Links          *linkage.Summary
	Warnings       []survey.WarningCount
	Labels         map[string]string // variable or outcome → label in the report's language
	GroupNames     map[string]string // group code → the arm's label, once unblinded
	Unblinded      bool              // the report is made with the key
}

// Gather reads the report's context from the trial database, with labels
// in lang (the codebook's labels of variables; the protocol's of outcomes).
// It hashes the database file first: call it before anything that writes
// (an unblinded analysis appends to the audit chain).
func Gather(ctx context.Context, db *trial.DB, p *trial.Protocol, lang string) (*Context, error) {
	c := &Context{Protocol: p, GroupNames: map[string]string{}, Labels: map[string]string{}}
	// Three parts at once (one after the other they were 3 s at 80,000
	// families, with the other core idle in a keyed report): the file's
	// digest, and two readers of one snapshot.
	r, release, err := db.Snapshot(ctx, 2)
	if err != nil {
		return nil, err
	}
	defer release()
	rs := r.Readers()
	errs := make([]error, 3)
	var wg sync.WaitGroup
	wg.Go(func() { c.DBSHA256, errs[0] = sheet.FileSHA256(db.Path) })
	wg.Go(func() { errs[1] = c.gatherTrial(ctx, rs[0]) })
	wg.Go(func() { errs[2] = c.gatherSurvey(ctx, rs[len(rs)-1], p, lang) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// gatherTrial reads the CONSORT counts, the amendments, the seed's
// commitment and the register links.
func (c *Context) gatherTrial(ctx context.Context, db *trial.DB) error {
	var err error
	if c.Status, err = db.Status(ctx); err != nil {
		return err
	}
	if c.Amendments, err = db.Amendments(ctx); err != nil {
		return err
	}
	if c.SeedCommitment, err = db.Meta(ctx, "seed_commitment"); err != nil {
		return err
	}
	c.Links, err = linkage.Summarize(ctx, db)
	return err
}

// gatherSurvey reads the survey's warnings, the last interview, the
// recruitment dates and the labels.
func (c *Context) gatherSurvey(ctx context.Context, db *trial.DB, p *trial.Protocol, lang string) error {
	var err error
	if c.Warnings, err = survey.Warnings(ctx, db); err != nil {
		return err
	}
	if c.FollowUp, err = survey.LastInterview(ctx, db); err != nil {
		return err
	}
	if c.Recruitment[0], c.Recruitment[1], err = db.RandomizedSpan(ctx); err != nil {
		return err
	}
	if cb, _, err := survey.Current(ctx, db, p); err == nil {
		for _, v := range cb.Variables {
			c.Labels[v.Name] = v.Label.In(lang, cb.Languages)
		}
	}
	for _, o := range p.Outcomes {
		c.Labels[o.ID] = o.Label
	}
	return nil
}

// Unblind names each group by its arm's label (arms: group code → arm id,
// read with the key).
func (c *Context) Unblind(arms map[string]string) {
	c.Unblinded = true
	for code, arm := range arms {
		if a, ok := c.Protocol.Arm(arm); ok {
			c.GroupNames[code] = a.Label
		}
	}
}
