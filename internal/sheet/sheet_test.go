package sheet

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/xuri/excelize/v2"
)

func TestParseDate(t *testing.T) {
	ok := map[string]string{
		"2020-01-31":          "2020-01-31",
		"31/01/2020":          "2020-01-31",
		"1/2/2020":            "2020-02-01",
		"31-01-2020":          "2020-01-31",
		"31.01.2020":          "2020-01-31",
		"29/02/2020":          "2020-02-29",
		"43861":               "2020-01-31", // Excel serial
		"43861.0":             "2020-01-31",
		"2020-01-31T00:00:00": "2020-01-31",
		" 31/01/2020\u00a0":   "2020-01-31",
		"1":                   "1900-01-01",
		"61":                  "1900-03-01",
	}
	for in, want := range ok {
		got, err := ParseDate(in, false)
		if err != nil || FormatDate(got) != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %s", in, FormatDate(got), err, want)
		}
	}
	if got, _ := ParseDate("0", true); FormatDate(got) != "1904-01-01" {
		// serial 0 is not accepted even in 1904 mode
		t.Logf("1904 serial 0: %v", got)
	}
	if got, err := ParseDate("42399", true); err != nil || FormatDate(got) != "2020-01-31" {
		t.Errorf("1904 system: %v %v", FormatDate(got), err)
	}
	for _, bad := range []string{"31/02/2020", "2020-13-01", "00/01/2020", "30/02/2019"} {
		_, err := ParseDate(bad, false)
		if err == nil || !strings.Contains(err.Error(), "impossible date") {
			t.Errorf("ParseDate(%q) = %v, want impossible date", bad, err)
		}
	}
	for _, bad := range []string{"01/31/20", "Jan 31 2020", "2020/01/31", "", "abc", "60"} {
		if _, err := ParseDate(bad, false); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2020-01-31", "31/01/2020", "43861", "31.12.1999", "9999999", "1/2/0000", "0000-01-01",
		"31/02/2020", "29/02/2019", "29/02/2020", "2020-1-5", "2020-01-5x", "2020-13-01", "01/13/2020", "1//2020", "001/1/2020"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s, false)
		// The fast path for the common forms agrees with the expressions.
		if ref, refErr := parseDate(Clean(s), false); !ref.Equal(d) || (err == nil) != (refErr == nil) ||
			(err != nil && err.Error() != refErr.Error()) {
			t.Fatalf("%q: %v, %v; the expressions give %v, %v", s, d, err, ref, refErr)
		}
		if err != nil {
			return
		}
		// An accepted date round-trips through its stored form.
		back, err := ParseDate(FormatDate(d), false)
		if err != nil || !back.Equal(d) {
			t.Fatalf("%q → %s → %v, %v", s, FormatDate(d), back, err)
		}
	})
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t *testing.T, tab *Table) []Row {
	t.Helper()
	var rows []Row
	for {
		r, err := tab.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
}

func TestCSV(t *testing.T) {
	p := writeFile(t, "r.csv", "\ufeffReferral ID; Name \n\n1;Ann\n ; \n2;\"Bé; B\"\n")
	tab, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if strings.Join(tab.Header, ",") != "referral_id,name" {
		t.Fatalf("header %q", tab.Header)
	}
	rows := readAll(t, tab)
	if len(rows) != 2 || rows[1].Num != 5 || rows[1].Cells[1] != "Bé; B" {
		t.Fatalf("rows %+v", rows)
	}
}

func TestXLSXHeaderMovedAndBlankRows(t *testing.T) {
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "referrals")
	f.SetSheetRow("referrals", "B2", &[]any{"referral_id", " Birth Date "})
	f.SetSheetRow("referrals", "B3", &[]any{"R1", 43861})
	style, _ := f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFFF00"}}})
	f.SetRowStyle("referrals", 4, 6, style) // styled blank rows
	f.SetSheetRow("referrals", "B7", &[]any{"R2", "31/01/2020"})
	p := filepath.Join(t.TempDir(), "r.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	tab, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if tab.HeaderRow != 2 || tab.Col("birth_date") != 1 {
		t.Fatalf("header row %d %q", tab.HeaderRow, tab.Header)
	}
	rows := readAll(t, tab)
	if len(rows) != 2 || rows[0].Num != 3 || rows[1].Num != 7 {
		t.Fatalf("rows %+v", rows)
	}
	e := tab.At(7, 1, "bad")
	if e.Error() != `r.xlsx: sheet "referrals" row 7 column C (birth_date): bad` && !strings.HasSuffix(e.Error(), `: sheet "referrals" row 7 column C (birth_date): bad`) {
		t.Errorf("position %s", e)
	}
}

func TestBadFiles(t *testing.T) {
	cases := map[string]string{
		"renamed.xlsx": "referral_id,name\n1,Ann\n",
		"empty.csv":    "",
		"empty.xlsx":   "",
		"only.csv":     "\n\n  \n",
		"legacy.xls":   "x",
		"bad.csv":      "a,b\n1,\"unterminated\n",
		"latin1.csv":   "a,b\n1,\xe9t\xe9\n",
		"extra.csv":    "a,b\n1,2,3\n",
	}
	for name, content := range cases {
		p := writeFile(t, name, content)
		tab, err := Open(p, Options{})
		if err == nil {
			for err == nil {
				_, err = tab.Next()
			}
			tab.Close()
			if err == io.EOF {
				err = nil
			}
		}
		if err == nil || !dataerr.Is(err) {
			t.Errorf("%s: err = %v, want a data error", name, err)
			continue
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: message does not name the file: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestZipBombRefused(t *testing.T) {
	// 8 MB of one repeated letter compresses to a few kB: with a 1 MB
	// limit the workbook is refused before it is extracted.
	f := excelize.NewFile()
	big := strings.Repeat("A", 32000)
	for r := 1; r <= 256; r++ {
		f.SetCellValue("Sheet1", "A"+strconv.Itoa(r), big+strconv.Itoa(r)) // distinct: no shared string
	}
	p := filepath.Join(t.TempDir(), "bomb.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p, Options{MaxUnzip: 1 << 20})
	if err == nil || !dataerr.Is(err) || !strings.Contains(err.Error(), "zip bomb") {
		t.Fatalf("err = %v, want refusal", err)
	}
}

func TestDefuse(t *testing.T) {
	for in, want := range map[string]string{
		"=SUM(A1)": "'=SUM(A1)", "+32 470": "'+32 470", "-2+3": "'-2+3", "@cmd": "'@cmd", "\tx": "'\tx",
		"-99": "-99", "+3.5": "+3.5", "1e5": "1e5", "K-0001": "K-0001", "": "", "Ann": "Ann",
	} {
		if got := Defuse(in); got != want {
			t.Errorf("Defuse(%q) = %q, want %q", in, got, want)
		}
	}
}
