package survey

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// decodeMonth reads one month in either form, as openLog's reader does.
func decodeMonth(plain []byte) (*logMonth, error) {
	return new(monthReader).decode(plain)
}

// monthOf is the month j holds.
func monthOf(t testing.TB, j jsonMonth) *logMonth {
	t.Helper()
	m, err := j.month()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// json is m as an older rct sealed it: what it holds, whatever its bytes'
// layout, for comparing months.
func (m *logMonth) json() jsonMonth {
	j := jsonMonth{Responses: m.Responses, Warnings: m.Warnings}
	for i := range m.Values {
		v := &m.Values[i]
		var value *string
		if s, ok := m.value(v); ok {
			value = &s
		}
		j.Values = append(j.Values, jsonValue{Family: v.Family, Variable: m.name(v), Version: int(v.Version), Value: value, Batch: v.Batch, Row: int(v.Row)})
	}
	return j
}

func exampleMonth() jsonMonth {
	s := func(x string) *string { return &x }
	return jsonMonth{
		Responses: map[int64]int64{7: 3, 2: 3, 90001: 4},
		Values: []jsonValue{
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
	for name, j := range map[string]jsonMonth{
		"example": exampleMonth(),
		"empty":   {Responses: map[int64]int64{}},
	} {
		m := monthOf(t, j)
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
		if !reflect.DeepEqual(got.json(), j) {
			t.Errorf("%s: got %+v, want %+v", name, got.json(), j)
		}
	}
	legacy, _ := json.Marshal(exampleMonth())
	got, err := decodeMonth(legacy)
	if err != nil || !reflect.DeepEqual(got.json(), exampleMonth()) {
		t.Errorf("a JSON month: %v, %+v", err, got)
	}
	// A month decoded, then added to: the new value's bytes follow the
	// month's, and both read back.
	s := func(x string) *string { return &x }
	added := exampleMonth()
	added.Values = append(added.Values, jsonValue{Family: 2, Variable: "contacts_text", Version: 1, Value: s("5"), Batch: 6, Row: 4},
		jsonValue{Family: 2, Variable: "note", Version: 2, Value: s(""), Batch: 6, Row: 4})
	b, _ := encodeMonth(monthOf(t, exampleMonth()))
	m, err := decodeMonth(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range added.Values[len(exampleMonth().Values):] {
		if err := m.add(v.Family, v.Variable, v.Version, v.Value, v.Batch, v.Row); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(m.json(), added) {
		t.Errorf("added to: got %+v, want %+v", m.json(), added)
	}
	if again, err := encodeMonth(m); err != nil {
		t.Fatal(err)
	} else if m2, err := decodeMonth(again); err != nil || !reflect.DeepEqual(m2.json(), added) {
		t.Errorf("added to, sealed again: %v, %+v", err, m2)
	}
	for _, big := range []jsonValue{{Family: 1, Variable: "a", Version: 1 << 31, Value: s("x")}, {Family: 1, Variable: "a", Version: 1, Row: -1 << 40}} {
		if err := monthOf(t, exampleMonth()).add(big.Family, big.Variable, big.Version, big.Value, big.Batch, big.Row); err == nil {
			t.Errorf("%+v: no error", big)
		}
	}
	for _, bad := range [][]byte{nil, {}, {2, 0}, {logFormat}, {logFormat, 1, 2, 3}} {
		if _, err := decodeMonth(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	b, _ = encodeMonth(monthOf(t, exampleMonth()))
	for n := 1; n < len(b); n++ {
		if _, err := decodeMonth(b[:n]); err == nil {
			t.Errorf("cut at %d of %d bytes: no error", n, len(b))
		}
	}
}

// FuzzDecodeMonth: whatever the bytes, decodeMonth returns a month or an
// error, and a month it returns encodes to one that decodes the same.
func FuzzDecodeMonth(f *testing.F) {
	b, _ := encodeMonth(monthOf(f, exampleMonth()))
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
		"2017-04": monthOf(t, jsonMonth{Values: []jsonValue{{Family: 2, Variable: "a", Version: 1, Value: s("x")}}}),
		"2017-03": monthOf(t, jsonMonth{Values: []jsonValue{
			{Family: 1, Variable: "a", Version: 1, Value: s("1")},
			{Family: 2, Variable: "a", Version: 1, Value: s("2")},
			{Family: 1, Variable: "b", Version: 2, Value: s("new")},
			{Family: 1, Variable: "b", Version: 1, Value: s("old")},
			{Family: 2, Variable: "a", Version: 2, Value: nil},
			{Family: 1, Variable: "a", Version: 2, Value: s("3")},
			{Family: 1, Variable: "c", Version: 1, Value: s("first")},
			{Family: 1, Variable: "c", Version: 1, Value: s("second")},
		}}),
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

// TestEachFamily: the runs of a month sorted by family (read in one pass)
// and of one that is not (through byFamily) are byFamily's groups.
func TestEachFamily(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for trial := range 200 {
		values := make([]logValue, r.IntN(40))
		for i := range values {
			values[i] = logValue{Family: int64(r.IntN(6)), Version: int32(i)}
		}
		if trial%2 == 0 {
			slices.SortStableFunc(values, func(a, b logValue) int { return cmp.Compare(a.Family, b.Family) })
		}
		var got [][]int32
		eachFamily(values, func(run []int32) { got = append(got, slices.Clone(run)) })
		if want := byFamily(values); !reflect.DeepEqual(got, want) {
			t.Fatalf("sorted %v: runs %v, byFamily %v", trial%2 == 0, got, want)
		}
	}
}

// monthsJSON is each month's json.
func monthsJSON(months map[string]*logMonth) map[string]jsonMonth {
	out := map[string]jsonMonth{}
	for p, m := range months {
		out[p] = m.json()
	}
	return out
}

// BenchmarkDecodeMonths opens twelve months of 200,000 values each (what
// a month of a 100,000-family trial holds) as a keyed command does: one
// reader for all of them ("reader"), or a new one for each ("each").
func BenchmarkDecodeMonths(b *testing.B) {
	m := &logMonth{Responses: map[int64]int64{}}
	vars := []string{"contacts_home", "contacts_phone", "contacts_text", "received", "minutes"}
	for f := range int64(40000) {
		m.Responses[f] = 1
		for i, v := range vars {
			value := fmt.Sprint((f + int64(i)) % 7)
			if err := m.add(f, v, 1, &value, 1, int(f)*5+i); err != nil {
				b.Fatal(err)
			}
		}
	}
	month, err := encodeMonth(m)
	if err != nil {
		b.Fatal(err)
	}
	for _, how := range []string{"reader", "each"} {
		b.Run(how, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r monthReader
				for range 12 {
					var err error
					if how == "reader" {
						_, err = r.decode(month)
					} else {
						_, err = decodeMonth(month)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
