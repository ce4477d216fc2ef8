package serve

import (
	"bytes"
	"net/http"

	"github.com/rct-trials/rct/internal/sheet"
	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/reports"
	"github.com/rct-trials/rct/trial"
)

// settings are the protocol's analysis settings, with the server's draws.
func (s *Server) settings(p *trial.Protocol) plan.Settings {
	var o plan.Overrides
	if s.cfg.Draws > 0 {
		o.Draws = &s.cfg.Draws
	}
	return plan.Resolve(p, o)
}

// analysisPage is the blinded analysis: every contrast's outcomes, by
// group code.
func (s *Server) analysisPage(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	a, err := plan.Analyze(ctx, s.cfg.DB, p, s.settings(p), nil)
	if err != nil {
		s.fail(w, r, false, http.StatusConflict, err.Error())
		return
	}
	s.render(w, r, "analysis", u, map[string]any{"A": a})
}

// reportPage is the blinded effect report, as rct report writes it.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	lang := r.URL.Query().Get("lang")
	if lang != "nl" {
		lang = "en"
	}
	c, err := plan.Gather(ctx, s.cfg.DB, p, lang)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	a, err := plan.Analyze(ctx, s.cfg.DB, p, s.settings(p), nil)
	if err != nil {
		s.fail(w, r, false, http.StatusConflict, err.Error())
		return
	}
	rep, err := reports.Build(&reports.Input{Lang: lang, Context: c, Analysis: a})
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	var b bytes.Buffer
	if err := rep.HTML(&b); err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	s.record(ctx, s.actor(u), "download", "blinded report")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// export sends a file of the blinded data export: data.csv, its
// codebook, data.R or data.do.
func (s *Server) export(w http.ResponseWriter, r *http.Request, u *Session) {
	ctx := r.Context()
	name := r.PathValue("file")
	if name != "data.csv" && name != "data_codebook.csv" && name != "data.R" && name != "data.do" {
		s.fail(w, r, false, http.StatusNotFound, "the export has data.csv, data_codebook.csv, data.R and data.do")
		return
	}
	p, err := s.protocol(ctx)
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	t, err := plan.Export(ctx, s.cfg.DB, p, nil)
	if err != nil {
		s.fail(w, r, false, http.StatusConflict, err.Error())
		return
	}
	var b bytes.Buffer
	switch name {
	case "data.csv":
		err = sheet.WriteCSV(&b, sheet.Grid{Name: "data", Header: t.Header(), Rows: t.Rows})
	case "data_codebook.csv":
		err = sheet.WriteCSV(&b, sheet.Grid{Name: "codebook", Header: plan.CodebookHeader, Rows: t.Codebook()})
	case "data.R":
		b.Write(reports.RScript(t, "data.csv"))
	case "data.do":
		b.Write(reports.StataScript(t, "data.csv"))
	}
	if err != nil {
		s.fail(w, r, false, http.StatusInternalServerError, err.Error())
		return
	}
	s.record(ctx, s.actor(u), "download", "blinded export "+name)
	attachment(w, name, "text/plain; charset=utf-8", b.Bytes())
}
