package trial

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rct-trials/rct/internal/sheet"

	"github.com/xuri/excelize/v2"
)

// ReferralTemplateRows is how many rows of a referral template carry the
// columns' formats and validations.
const ReferralTemplateRows = 1000

// referralHelp says what each fixed column of a referral file holds.
var referralHelp = map[string]string{
	"referral_id":     "Kind en Gezin's id of the referral; the same on every row of the household",
	"referral_date":   "date of the referral (dd/mm/yyyy), on the referral's first row",
	"role":            "mother, partner or child (moeder, vader, kind; mère, père, enfant)",
	"national_number": "national register number (11 digits, dots and dashes allowed); blank when unknown",
	"first_name":      "first name",
	"last_name":       "last name",
	"birth_date":      "date of birth (dd/mm/yyyy); blank when unknown",
	"postcode":        "postcode of the address",
	"consent":         "yes or no: consent to take part, on the referral's first row",
}

// WriteReferralTemplate writes an empty referral workbook for the
// protocol: a "referrals" sheet with the columns ReadReferrals expects
// (the fixed ones, the eligibility domains, the stratification variables),
// the header frozen, dates as dates, national numbers as text, and lists
// for roles, consent, domain flags and stratum values; an "instructions"
// sheet says what each column holds and whether it is required.
func WriteReferralTemplate(w io.Writer, p *Protocol, today time.Time) error {
	f := excelize.NewFile()
	defer f.Close()
	const sh = "referrals"
	if err := f.SetSheetName("Sheet1", sh); err != nil {
		return err
	}
	head, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	date, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	textFmt := "@"
	text, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &textFmt})
	last := ReferralTemplateRows + 1
	type colHelp struct{ name, required, help string }
	var helps []colHelp
	for i, name := range p.ReferralColumns() {
		col, _ := excelize.ColumnNumberToName(i + 1)
		cell := col + "1"
		if err := f.SetCellStr(sh, cell, name); err != nil {
			return err
		}
		f.SetCellStyle(sh, cell, cell, head)
		f.SetColWidth(sh, col, col, float64(max(12, len(name)+2)))
		rng := fmt.Sprintf("%s2:%s%d", col, col, last)
		dv := excelize.NewDataValidation(true)
		dv.SetSqref(rng)
		help, list := referralHelp[name], []string(nil)
		switch {
		case name == "referral_date" || name == "birth_date":
			f.SetCellStyle(sh, col+"2", fmt.Sprintf("%s%d", col, last), date)
			dv.Type, dv.Operator, dv.Formula1, dv.Formula2 = "date", "between", "DATE(1900,1,1)", fmt.Sprintf("DATE(%d,%d,%d)", today.Year(), today.Month(), today.Day())
			dv.SetError(excelize.DataValidationErrorStyleStop, name, "a date, not after today")
		case name == "national_number" || name == "postcode" || name == "referral_id":
			f.SetCellStyle(sh, col+"2", fmt.Sprintf("%s%d", col, last), text) // leading zeros kept
			dv = nil
		case name == "role":
			list = []string{"mother", "partner", "child"}
		case name == "consent":
			list = []string{"yes", "no"}
		case slices.Contains(p.Eligibility.Domains, name):
			list = []string{"1", "0"}
			help = fmt.Sprintf("1 when the family is weak on %s (kansarmoede-index), else 0; on the referral's first row", name)
		default:
			if v, ok := p.Stratum(name); ok {
				list = v.Values
				help = fmt.Sprintf("stratification variable: one of %s; on the referral's first row", strings.Join(v.Values, ", "))
			} else {
				dv = nil
			}
		}
		if list != nil {
			if err := dv.SetDropList(list); err != nil {
				return err
			}
			dv.SetError(excelize.DataValidationErrorStyleStop, name, "one of "+strings.Join(list, ", "))
		}
		if dv != nil {
			if err := f.AddDataValidation(sh, dv); err != nil {
				return err
			}
		}
		required := "required"
		if p.referralOptional(name) {
			required = "optional"
		}
		helps = append(helps, colHelp{name, required, help})
	}
	if err := f.SetPanes(sh, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	const ins = "instructions"
	if _, err := f.NewSheet(ins); err != nil {
		return err
	}
	rows := [][]string{
		{fmt.Sprintf("Referral file of trial %s (%s)", p.Trial.ID, p.Trial.Title)},
		{"One row per person of the household: mother, partner, children. Rows of one household share the referral_id; the referral's own values (date, consent, domains, strata) go on its first row."},
		{fmt.Sprintf("Eligible: weak on at least %d of the %d domains, and consent. Enrol with: rct enroll FILE.xlsx", p.Eligibility.MinWeak, len(p.Eligibility.Domains))},
		{},
		{"column", "required", "what it holds"},
	}
	for _, h := range helps {
		rows = append(rows, []string{h.name, h.required, h.help})
	}
	for i, r := range rows {
		for j, v := range r {
			c, _ := excelize.CoordinatesToCellName(j+1, i+1)
			f.SetCellStr(ins, c, v)
		}
	}
	f.SetCellStyle(ins, "A5", "C5", head)
	f.SetColWidth(ins, "A", "A", 18)
	f.SetColWidth(ins, "C", "C", 90)
	if err := sheet.SetDimensions(f); err != nil {
		return err
	}
	return f.Write(w)
}
