package serve

import (
	"bytes"
	"io"
	"net/http"
	"slices"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/reports"
)

// analysis is the blinded analysis with the protocol's settings (the
// server's draws when given); 409 when the trial cannot be analysed yet.
func (s *Server) analysis(r *http.Request) (*plan.Analysis, error) {
	p, err := s.protocol(r.Context())
	if err != nil {
		return nil, err
	}
	var o plan.Overrides
	if s.cfg.Draws > 0 {
		o.Draws = &s.cfg.Draws
	}
	a, err := plan.Analyze(r.Context(), s.cfg.DB, p, plan.Resolve(p, o), nil)
	return a, withStatus(http.StatusConflict, err)
}

// analysisPage is the blinded analysis: every contrast's outcomes, by
// group code.
func (s *Server) analysisPage(w http.ResponseWriter, r *http.Request, u *Session) error {
	a, err := s.analysis(r)
	if err != nil {
		return err
	}
	s.render(w, r, "analysis", u, map[string]any{"A": a})
	return nil
}

// reportPage is the blinded effect report, as rct report writes it: the
// context gathered first (it hashes the database), then the analysis.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, u *Session) error {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		return err
	}
	lang := r.URL.Query().Get("lang")
	if !slices.Contains(reports.Languages, lang) {
		lang = "en"
	}
	c, err := plan.Gather(ctx, s.cfg.DB, p, lang)
	if err != nil {
		return err
	}
	a, err := s.analysis(r)
	if err != nil {
		return err
	}
	rep, err := reports.Build(&reports.Input{Lang: lang, Context: c, Analysis: a})
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := rep.HTML(&b); err != nil {
		return err
	}
	s.record(ctx, s.actor(u), "download", "blinded report")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
	return nil
}

// export sends a file of the blinded data export: data.csv, its
// codebook, data.R or data.do, as rct data export writes them.
func (s *Server) export(w http.ResponseWriter, r *http.Request, u *Session) error {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		return err
	}
	t, err := plan.Export(ctx, s.cfg.DB, p, nil, nil)
	if err != nil {
		return withStatus(http.StatusConflict, err)
	}
	files := map[string]func(io.Writer) error{
		"data.csv":          func(w io.Writer) error { return sheet.WriteCSV(w, t.Grid()) },
		"data_codebook.csv": func(w io.Writer) error { return sheet.WriteCSV(w, t.CodebookGrid()) },
		"data.R":            func(w io.Writer) error { _, err := w.Write(reports.RScript(t, "data.csv")); return err },
		"data.do":           func(w io.Writer) error { _, err := w.Write(reports.StataScript(t, "data.csv")); return err },
	}
	name := r.PathValue("file")
	write, ok := files[name]
	if !ok {
		return errorf(http.StatusNotFound, "the export has data.csv, data_codebook.csv, data.R and data.do")
	}
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	s.record(ctx, s.actor(u), "download", "blinded export "+name)
	attachment(w, name, "text/plain; charset=utf-8", b.Bytes())
	return nil
}
