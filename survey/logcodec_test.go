package survey

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func exampleMonth() *logMonth {
	s := func(x string) *string { return &x }
	return &logMonth{
		Responses: map[int64]int64{7: 3, 2: 3, 90001: 4},
		Values: []logValue{
			{Family: 7, Variable: "contacts_home", Version: 1, Value: s("3"), Batch: 3, Row: 2},
			{Family: 2, Variable: "contacts_phone", Version: 1, Value: s(""), Batch: 3, Row: 3},
			{Family: 7, Variable: "contacts_home", Version: 2, Value: nil, Batch: 4, Row: 9},
			{Family: 90001, Variable: "note", Version: 1, Value: s("visite à domicile, 2×"), Batch: 4, Row: 1 << 20},
		},
		Warnings: []logWarning{{Batch: 4, Family: 7, Variable: "contacts_home", Sheet: "log", Row: 9, Col: "C", Value: "99", Rule: "range", Message: "above 40"}},
	}
}

// TestMonthCodec: a month comes back from the compact form as it went in
// (a blanked answer stays nil, an empty one empty), and a month sealed as
// JSON by an older rct still opens.
func TestMonthCodec(t *testing.T) {
	for name, m := range map[string]*logMonth{
		"example": exampleMonth(),
		"empty":   {Responses: map[int64]int64{}},
	} {
		b, err := encodeMonth(m)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != logFormat {
			t.Errorf("%s: first byte %d", name, b[0])
		}
		got, err := decodeMonth(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s: got %+v, want %+v", name, got, m)
		}
	}
	legacy, _ := json.Marshal(exampleMonth())
	got, err := decodeMonth(legacy)
	if err != nil || !reflect.DeepEqual(got, exampleMonth()) {
		t.Errorf("a JSON month: %v, %+v", err, got)
	}
	for _, bad := range [][]byte{nil, {}, {2, 0}, {logFormat}, {logFormat, 1, 2, 3}} {
		if _, err := decodeMonth(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	b, _ := encodeMonth(exampleMonth())
	for n := 1; n < len(b); n++ {
		if _, err := decodeMonth(b[:n]); err == nil {
			t.Errorf("cut at %d of %d bytes: no error", n, len(b))
		}
	}
}

// FuzzDecodeMonth: whatever the bytes, decodeMonth returns a month or an
// error, and a month it returns encodes to one that decodes the same.
func FuzzDecodeMonth(f *testing.F) {
	b, _ := encodeMonth(exampleMonth())
	f.Add(b)
	legacy, _ := json.Marshal(exampleMonth())
	f.Add(legacy)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMonth(data)
		if err != nil {
			return
		}
		again, err := encodeMonth(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := decodeMonth(again)
		if err != nil {
			t.Fatal(err)
		}
		if third, _ := encodeMonth(m2); !bytes.Equal(third, again) {
			t.Fatalf("%+v became %+v", m, m2)
		}
	})
}

// TestEachCurrent: the current answer is the highest version (the last
// stored of equal ones); a blanked one is left out; families interleave.
func TestEachCurrent(t *testing.T) {
	s := func(x string) *string { return &x }
	l := &ActivityLog{codes: map[int64]string{1: "K-0001", 2: "K-0002"}, months: map[string]*logMonth{
		"2017-04": {Values: []logValue{{Family: 2, Variable: "a", Version: 1, Value: s("x")}}},
		"2017-03": {Values: []logValue{
			{Family: 1, Variable: "a", Version: 1, Value: s("1")},
			{Family: 2, Variable: "a", Version: 1, Value: s("2")},
			{Family: 1, Variable: "b", Version: 2, Value: s("new")},
			{Family: 1, Variable: "b", Version: 1, Value: s("old")},
			{Family: 2, Variable: "a", Version: 2, Value: nil},
			{Family: 1, Variable: "a", Version: 2, Value: s("3")},
			{Family: 1, Variable: "c", Version: 1, Value: s("first")},
			{Family: 1, Variable: "c", Version: 1, Value: s("second")},
		}},
	}}
	var got []string
	l.EachCurrent(func(code, period, variable, value string) {
		got = append(got, code+" "+period+" "+variable+"="+value)
	})
	want := []string{"K-0001 2017-03 b=new", "K-0001 2017-03 a=3", "K-0001 2017-03 c=second", "K-0002 2017-04 a=x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if a := l.Answers("a"); !reflect.DeepEqual(a, map[string]string{"K-0001 2017-03": "3", "K-0002 2017-04": "x"}) {
		t.Errorf("Answers: %v", a)
	}
}
