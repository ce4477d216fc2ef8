package survey

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"

	_ "modernc.org/sqlite"
)

// awkward are values an answer set must keep byte for byte: JSON's own
// characters, escapes, control characters, bytes beyond ASCII.
var awkward = []string{"", "4", "null", `"`, `\`, `\"`, `"],["x",9,"`, "a\nb\r\tc", "\x00\x01\x1f\x7f", "é ü ∑ 😀", "\\u0041", "/ </script>", "  spaces  ", "\xff\xfe invalid"}

func exampleSet() []packedAnswer {
	var set []packedAnswer
	for i, v := range awkward {
		set = append(set, packedAnswer{variable: fmt.Sprintf("v%02d", i), version: i + 1, value: v})
	}
	return append(set, packedAnswer{variable: "zz_blanked", version: 3, blanked: true})
}

// TestAnswerSetRoundTrip: what appendAnswerSet writes decodeAnswerSet
// reads back, and SQLite's json_each (the survey_values view) reads the
// same; a set SQLite's own JSON functions wrote reads the same too.
func TestAnswerSetRoundTrip(t *testing.T) {
	set := exampleSet()
	for i := range set {
		set[i].period = "2017-03"
	}
	text := string(appendAnswerSet(nil, set))
	got, err := decodeAnswerSet(nil, text, "2017-03")
	if err != nil || !slices.Equal(got, set) {
		t.Fatalf("read back %q: %v\n%v\nwant %v", text, err, got, set)
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// What the view reads.
	rows, err := db.Query(`SELECT a.value ->> 0, a.value ->> 1, a.value ->> 2 FROM json_each(?) a`, text)
	if err != nil {
		t.Fatal(err)
	}
	var viewed []packedAnswer
	for rows.Next() {
		a := packedAnswer{period: "2017-03"}
		var v sql.NullString
		if err := rows.Scan(&a.variable, &a.version, &v); err != nil {
			t.Fatal(err)
		}
		a.value, a.blanked = v.String, !v.Valid
		viewed = append(viewed, a)
	}
	rows.Close()
	if !slices.Equal(viewed, set) {
		t.Errorf("SQLite reads %v\nwant %v", viewed, set)
	}
	// What SQLite writes (the migration of older databases).
	var sqliteText string
	if err := db.QueryRow(`SELECT json_group_array(json_array(a.value ->> 0, a.value ->> 1, a.value ->> 2)) FROM json_each(?) a`, text).Scan(&sqliteText); err != nil {
		t.Fatal(err)
	}
	if got, err := decodeAnswerSet(nil, sqliteText, "2017-03"); err != nil || !slices.Equal(got, set) {
		t.Errorf("SQLite's %q read back as %v: %v", sqliteText, got, err)
	}
}

// TestAnswerSetReadsAnyJSON: whitespace, every escape, surrogate pairs;
// and what is not an answer set is refused.
func TestAnswerSetReadsAnyJSON(t *testing.T) {
	got, err := decodeAnswerSet(nil, " [ [ \"a\\/b\\u00e9\\ud83d\\ude00\\b\\f\" , 12 , null ] ,\n[\"c\",1,\"\\\"\\\\\"]]\t", "")
	want := []packedAnswer{{variable: "a/bé😀\b\f", version: 12, blanked: true}, {variable: "c", version: 1, value: `"\`}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%v %v, want %v", got, err, want)
	}
	if got, err := decodeAnswerSet(nil, "[]", ""); err != nil || len(got) != 0 {
		t.Errorf("an empty set: %v %v", got, err)
	}
	for _, bad := range []string{"", "[", "[[", `[["a",1,"x"]`, `[["a",1,"x"]]x`, `[["a","1","x"]]`, `[["a",-1,"x"]]`, `[["a",1,2]]`,
		`[["a",1]]`, `[["a",1,"x",4]]`, `[["a",1,"x"],]`, `{"a":1}`, "[[\"a\n\",1,\"x\"]]", `[["a\q",1,"x"]]`, `[["a\u12",1,"x"]]`, `[["a",1,"x"`} {
		if got, err := decodeAnswerSet(nil, bad, ""); err == nil {
			t.Errorf("%q read as %v", bad, got)
		}
	}
}

// TestFindAnswers: the answers to one variable found without decoding the
// set are the ones a whole decoding finds, whatever the values hold (the
// element's own text among them), however the set was written.
func TestFindAnswers(t *testing.T) {
	set := exampleSet()
	set = append(set, packedAnswer{variable: "interview_date", version: 2, value: "2017-07-01"})
	set = append(set, packedAnswer{variable: "note", version: 1, value: `["interview_date",9,"2099-01-01"]`})
	texts := []string{
		string(appendAnswerSet(nil, set)),
		string(appendAnswerSet(nil, set[len(set)-1:])),
		string(appendAnswerSet(nil, set[:3])),
		`[ ["interview_date", 1, "2017-01-02"] ]`,
		`[["a",1,"x"],["interview_date",1,"2017-01-02"],["interview_date",2,null]]`,
		`[["\u0069nterview_date",1,"2017-01-02"]]`,
		`[["interview_date",1,"2017-\"01"]]`,
		`[]`,
	}
	for _, text := range texts {
		got, err := findAnswers([]byte(text), "interview_date")
		want, werr := findDecoded([]byte(text), "interview_date")
		if err != nil || werr != nil || !slices.Equal(got, want) {
			t.Errorf("%s: found %v (%v), decoded %v (%v)", text, got, err, want, werr)
		}
	}
	if got, err := findAnswers([]byte(texts[0]), "interview_date"); len(got) != 1 || got[0].value != "2017-07-01" || err != nil {
		t.Errorf("the interview date: %v %v", got, err)
	}
	for _, bad := range []string{"", "x", `{"interview_date":1}`, `[["interview_date",1,"2017`} {
		if got, err := findAnswers([]byte(bad), "interview_date"); err == nil {
			t.Errorf("%q: found %v", bad, got)
		}
	}
}

// FuzzAnswerSet: any answers round-trip; any text either is refused or
// reads as answers that round-trip.
func FuzzAnswerSet(f *testing.F) {
	for _, v := range awkward {
		f.Add("v", v, uint16(1), false)
	}
	f.Add("", "", uint16(0), true)
	f.Fuzz(func(t *testing.T, variable, value string, version uint16, blanked bool) {
		if blanked {
			value = ""
		}
		set := []packedAnswer{{variable: variable, version: int(version), value: value, blanked: blanked}, {variable: value, version: 1, value: variable}}
		text := string(appendAnswerSet(nil, set))
		got, err := decodeAnswerSet(nil, text, "")
		if err != nil || !slices.Equal(got, set) {
			t.Fatalf("%q read back as %v: %v", text, got, err)
		}
		if found, err := findAnswers([]byte(text), variable); err != nil || !slices.Equal(found, want(set, variable)) {
			t.Fatalf("%q: found %v for %q: %v", text, found, variable, err)
		}
		// value as a whole set's text.
		if got, err := decodeAnswerSet(nil, value, ""); err == nil {
			if found, err := findAnswers([]byte(value), variable); err != nil || !slices.Equal(found, want(got, variable)) {
				t.Fatalf("%q: found %v for %q: %v", value, found, variable, err)
			}
			again, err := decodeAnswerSet(nil, string(appendAnswerSet(nil, got)), "")
			if err != nil || !slices.Equal(again, got) {
				t.Fatalf("%q read as %v, written and read again as %v: %v", value, got, again, err)
			}
		}
	})
}

// want is the answers of set to variable.
func want(set []packedAnswer, variable string) []packedAnswer {
	var out []packedAnswer
	for _, a := range set {
		if a.variable == variable {
			out = append(out, a)
		}
	}
	return out
}
