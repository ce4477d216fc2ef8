package simulate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rct-trials/rct/internal/progress"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// Protocol is the protocol of the simulated trial: the example protocol
// (with two arms at cfg.Ratio when given), or with three arms the same with a third arm (light: phone guidance)
// between the intervention and control, a 2:1:1 ratio and blocks of 4 and
// 8.
func Protocol(cfg Config) ([]byte, error) {
	text := string(trial.ExampleProtocol())
	if r, err := cfg.twoArmRatio(); err != nil || r != nil {
		if err != nil {
			return nil, err
		}
		sum := r[0] + r[1]
		for _, e := range [][2]string{
			{`ratio: "1:1"`, fmt.Sprintf(`ratio: "%d:%d"`, r[0], r[1])},
			{"block_sizes: [2, 4, 6]", fmt.Sprintf("block_sizes: [%d, %d]", sum, 2*sum)},
		} {
			text = strings.Replace(text, e[0], e[1], 1)
		}
		return []byte(text), nil
	}
	if cfg.Arms != 3 {
		return []byte(text), nil
	}
	for _, r := range [][2]string{
		{"  - id: control\n    label: Usual services\n  # - id: light ", "  - id: light\n    label: Phone guidance\n  - id: control\n    label: Usual services\n  # - id: light "},
		{`ratio: "1:1"`, `ratio: "2:1:1"`},
		{"block_sizes: [2, 4, 6]", "block_sizes: [4, 8]"},
		{"  id: MISSION\n", "  id: MISSION3\n"},
	} {
		if !strings.Contains(text, r[0]) {
			return nil, fmt.Errorf("simulate: the example protocol has no %q to make three arms of", r[0])
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	return []byte(text), nil
}

// ReferralDir is where Write puts the monthly referral workbooks.
const ReferralDir = "referrals"

// Write writes into dir what a trial has before its first randomization:
// trial.yaml (the example protocol; with three arms, with phone guidance
// added and a 2:1:1 ratio), codebook.yaml (the example codebook),
// simulation.yaml (cfg, which `rct simulate fieldwork` reads back) and
// Kind en Gezin's referral workbooks, one per month of recruitment, named
// after the day the month's list is sent (its last day):
// referrals/2016-09-30.xlsx. No file is overwritten. progress, when set,
// is told of each referral list written.
func Write(dir string, cfg Config, progress progress.Func) ([]string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	text, err := Protocol(cfg)
	if err != nil {
		return nil, err
	}
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
	tick, done := progress.Start("referral lists written", len(order))
	defer done()
	for i, m := range order {
		if err := WriteReferralsXLSX(paths[3+i], p, months[m]); err != nil {
			return nil, err
		}
		tick()
	}
	return paths, nil
}
