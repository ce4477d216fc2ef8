package reports

import (
	"fmt"
	"html/template"
	"io"
)

// page is what the HTML template receives.
type page struct {
	Lang, Title, Mode, Note string
	Sections                []pageSection
	T                       func(string) string
}

type pageSection struct {
	ID, Title string
	Text      []string
	Tables    []*Table
	Figures   []pageFigure
}

type pageFigure struct {
	Name, Caption string
	SVG           template.HTML
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.88em}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1em 0;display:inline-block;vertical-align:top}figcaption{font-size:.85em;color:#555;max-width:560px}
.mode{display:inline-block;padding:2px 8px;border-radius:3px;background:#eef;font-size:.85em}.note{font-size:.85em;color:#555}
nav ul{columns:2;font-size:.9em;list-style:none;padding-left:1em}
figure svg{max-width:100%;height:auto}
td{overflow-wrap:anywhere}
@media print{body{margin:0;max-width:none;font-size:10pt}table{font-size:7pt}th,td{padding:1px 3px}td.num{white-space:normal}h2,h3{break-after:avoid}figure,tr{break-inside:avoid}nav{display:none}}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p><span class="mode">{{.Mode}}</span> {{.Note}}</p>
<nav><h3>{{call .T "Contents"}}</h3><ul>{{range .Sections}}<li><a href="#{{.ID}}">{{.Title}}</a></li>{{end}}</ul></nav>
{{range .Sections}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{range .Text}}<p>{{.}}</p>{{end}}
{{range .Tables}}
<h3>{{.Title}}</h3>
{{if .Rows}}<table data-table="{{.Name}}"><thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td{{if or .Num .CI}} class="num"{{end}}>{{.String}}</td>{{end}}</tr>{{end}}</tbody></table>
{{else}}<p class="note">{{call $.T "no rows"}}</p>{{end}}
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{end}}
{{range .Figures}}<figure data-figure="{{.Name}}">{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}
</section>
{{end}}
</body>
</html>
`))

// HTML writes the report as one self-contained HTML page: tables, the
// flow diagram and every figure as inline SVG; no script, no external
// asset (its Content-Security-Policy forbids them).
func (r *Report) HTML(w io.Writer) error {
	t := r.T
	pg := page{Lang: r.In.Lang, T: t, Title: t("Effect report") + ": " + r.In.Protocol.Trial.Title}
	if r.In.Unblinded {
		pg.Mode, pg.Note = t("unblinded"), t("This report is unblinded: groups are named by their arm.")
	} else {
		pg.Mode, pg.Note = t("blinded"), t("This report is blinded: groups are named by code; which group is which arm is sealed with the trial key.")
	}
	for _, s := range r.Sections {
		ps := pageSection{ID: s.ID, Title: s.Title, Text: s.Text, Tables: s.Tables}
		for _, f := range s.Figures {
			svg, err := f.SVG()
			if err != nil {
				return fmt.Errorf("reports: figure %s: %w", f.Name, err)
			}
			ps.Figures = append(ps.Figures, pageFigure{Name: f.Name, Caption: f.Caption, SVG: template.HTML(svg)})
		}
		pg.Sections = append(pg.Sections, ps)
	}
	return pageTemplate.Execute(w, pg)
}
