package simulate

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// ReferralDir is where Write puts the monthly referral workbooks.
const ReferralDir = "referrals"

// Write writes into dir what a trial has before its first randomization:
// trial.yaml (the example protocol), codebook.yaml (the example codebook),
// simulation.yaml (cfg, which `rct simulate fieldwork` reads back) and
// Kind en Gezin's referral workbooks, one per month of recruitment, named
// after the day the month's list is sent (its last day):
// referrals/2016-09-30.xlsx. No file is overwritten.
func Write(dir string, cfg Config) ([]string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	text := trial.ExampleProtocol()
	p, err := trial.ParseProtocol("example protocol", text)
	if err != nil {
		return nil, err
	}
	rows := Referrals(cfg, p)
	months := map[string][]ReferralRow{}
	var order []string
	for _, r := range rows {
		d := r.ReferralDate
		end := time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		if months[end] == nil {
			order = append(order, end)
		}
		months[end] = append(months[end], r)
	}
	files := map[string][]byte{"trial.yaml": text, "codebook.yaml": survey.ExampleCodebook(), "simulation.yaml": cfg.YAML()}
	var paths []string
	for _, name := range []string{"trial.yaml", "codebook.yaml", "simulation.yaml"} {
		paths = append(paths, filepath.Join(dir, name))
	}
	for _, m := range order {
		paths = append(paths, filepath.Join(dir, ReferralDir, m+".xlsx"))
	}
	for _, path := range paths {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("simulate: %s exists: simulate writes into an empty directory", path)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ReferralDir), 0o755); err != nil {
		return nil, err
	}
	for i, name := range []string{"trial.yaml", "codebook.yaml", "simulation.yaml"} {
		if err := os.WriteFile(paths[i], files[name], 0o644); err != nil {
			return nil, err
		}
	}
	for i, m := range order {
		if err := WriteReferralsXLSX(paths[3+i], p, months[m]); err != nil {
			return nil, err
		}
	}
	return paths, nil
}
