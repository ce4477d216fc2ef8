package trial

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestReferralTemplateRoundTrip: the template has the protocol's columns
// with their lists; filled in as a referring service would (dates as date
// cells, national numbers as text), it enrols.
func TestReferralTemplateRoundTrip(t *testing.T) {
	tt := newTestTrial(t)
	var b bytes.Buffer
	if err := WriteReferralTemplate(&b, tt.p, tt.actor.Today()); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("referrals")
	if strings.Join(rows[0], ",") != strings.Join(tt.p.ReferralColumns(), ",") {
		t.Fatalf("header %v, want %v", rows[0], tt.p.ReferralColumns())
	}
	dvs, _ := x.GetDataValidations("referrals")
	lists := map[string]string{}
	for _, dv := range dvs {
		lists[strings.SplitN(dv.Sqref, ":", 2)[0]] = dv.Formula1
	}
	if !strings.Contains(lists["C2"], "mother") || !strings.Contains(lists["I2"], "yes") || !strings.Contains(lists["P2"], "single_parent") {
		t.Errorf("lists: role %q, consent %q, household %q", lists["C2"], lists["I2"], lists["P2"])
	}
	if p, _ := x.GetPanes("referrals"); !p.Freeze {
		t.Error("the header is not frozen")
	}
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	fill := [][]any{
		{"R1", day("2017-03-14"), "mother", "85.07.30-033.28", "Hélène", "Van den Broucke", day("1985-07-30"), "8500", "yes", 1, 1, 1, 0, 0, 0, "single_parent", "dutch"},
		{"R1", nil, "child", nil, "Lina", "Van den Broucke", day("2017-03-01"), "8500"},
		{"R2", day("2017-03-20"), "mother", "93051822361", "Amina", "El Amrani", day("1993-05-18"), "08510", "yes", 1, 1, 1, 0, 0, 0, "two_parents", "other"},
	}
	for r, row := range fill {
		for c, v := range row {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+2)
			if v != nil {
				x.SetCellValue("referrals", cell, v)
			}
		}
	}
	path := filepath.Join(tt.dir, "filled.xlsx")
	if err := x.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	res, err := tt.enroll(t, path)
	if err != nil {
		t.Fatalf("the filled template does not enrol: %v", err)
	}
	if res.Enrolled != 2 {
		t.Errorf("enrolled %d of 2: %+v", res.Enrolled, res.Results)
	}
	var pc string
	tt.db.SQL().QueryRow(`SELECT postcode FROM persons WHERE first_name = 'Amina'`).Scan(&pc)
	if pc != "08510" {
		t.Errorf("postcode %q: the leading zero was lost", pc)
	}
	os.Remove(path)
}
