package survey

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"slices"
)

// A month of the activity log is sealed in a compact form: a version byte
// (logFormat), then DEFLATE of the month in varints with one table of the
// variables' names. A 100,000-family trial's month holds ~200,000 values:
// as JSON that is 12 MB, read and decoded on every keyed command; in this
// form ~0.5 MB. Months sealed by an older rct are JSON (their first byte
// '{') and still open.

// logFormat is the first byte of a month in the compact form.
const logFormat = 1

// encodeMonth returns m in the compact form.
func encodeMonth(m *logMonth) ([]byte, error) {
	var raw []byte
	put := func(x int64) { raw = binary.AppendVarint(raw, x) }
	str := func(s string) { put(int64(len(s))); raw = append(raw, s...) }

	families := make([]int64, 0, len(m.Responses))
	for f := range m.Responses {
		families = append(families, f)
	}
	slices.Sort(families)
	put(int64(len(families)))
	for _, f := range families {
		put(f)
		put(m.Responses[f])
	}
	index := map[string]int64{}
	var names []string
	for _, v := range m.Values {
		if _, ok := index[v.Variable]; !ok {
			index[v.Variable] = int64(len(names))
			names = append(names, v.Variable)
		}
	}
	put(int64(len(names)))
	for _, s := range names {
		str(s)
	}
	put(int64(len(m.Values)))
	for _, v := range m.Values {
		put(v.Family)
		put(index[v.Variable])
		put(int64(v.Version))
		if v.Value == nil {
			put(-1)
		} else {
			str(*v.Value)
		}
		put(v.Batch)
		put(int64(v.Row))
	}
	warnings, err := json.Marshal(m.Warnings) // rare: a few per import
	if err != nil {
		return nil, err
	}
	str(string(warnings))

	var out bytes.Buffer
	out.WriteByte(logFormat)
	w, err := flate.NewWriter(&out, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// legacyMonth says whether a month was sealed as JSON by an older rct.
func legacyMonth(plain []byte) bool { return len(plain) > 0 && plain[0] == '{' }

// decodeMonth reads a month in either form.
func decodeMonth(plain []byte) (*logMonth, error) {
	if legacyMonth(plain) {
		var m logMonth
		if err := json.Unmarshal(plain, &m); err != nil {
			return nil, err
		}
		return &m, nil
	}
	if len(plain) == 0 || plain[0] != logFormat {
		return nil, errors.New("not a month of the activity log (unknown form)")
	}
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(plain[1:])))
	if err != nil {
		return nil, err
	}
	// The strings are slices of one copy of the month, and the values'
	// pointers point into one slice: two allocations a month, not two a
	// value (7 million values at 80,000 families).
	d := &monthDecoder{raw: raw, text: string(raw)}
	m := &logMonth{Responses: map[int64]int64{}}
	for n := d.count(2); n > 0 && d.err == nil; n-- {
		f := d.int()
		m.Responses[f] = d.int()
	}
	names := make([]string, d.count(1))
	for i := range names {
		names[i] = d.str()
	}
	n := d.count(6)
	var texts []string
	if n > 0 {
		// count bounds n by what the bytes can hold (six varints, a byte
		// or more each), so damaged bytes cannot claim more.
		m.Values = make([]logValue, 0, n)
		texts = make([]string, n)
	}
	for range n {
		if d.err != nil {
			break
		}
		m.Values = append(m.Values, logValue{})
		v := &m.Values[len(m.Values)-1]
		v.Family = d.int()
		if k := d.int(); k >= 0 && k < int64(len(names)) {
			v.Variable = names[k]
		} else {
			d.fail()
		}
		v.Version = int(d.int())
		if s, ok := d.optStr(); ok {
			t := &texts[len(m.Values)-1]
			*t = s
			v.Value = t
		}
		v.Batch = d.int()
		v.Row = int(d.int())
	}
	warnings := d.str()
	if d.err != nil {
		return nil, d.err
	}
	if len(d.raw) != 0 {
		return nil, errors.New("a month of the activity log has bytes after its end")
	}
	if err := json.Unmarshal([]byte(warnings), &m.Warnings); err != nil {
		return nil, err
	}
	return m, nil
}

// monthDecoder reads varints and strings; the first problem sticks.
type monthDecoder struct {
	raw  []byte // what is left to read
	text string // the whole month, whose tail raw is
	err  error
}

func (d *monthDecoder) fail() {
	if d.err == nil {
		d.err = errors.New("a month of the activity log is damaged")
	}
	d.raw = nil
}

func (d *monthDecoder) int() int64 {
	x, n := binary.Varint(d.raw)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.raw = d.raw[n:]
	return x
}

// count reads a number of items, each at least min bytes long: never more
// than the bytes left could hold.
func (d *monthDecoder) count(min int) int {
	n := d.int()
	if n < 0 || n > int64(len(d.raw)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *monthDecoder) optStr() (string, bool) {
	n := d.int()
	if n == -1 {
		return "", false
	}
	if n < 0 || n > int64(len(d.raw)) {
		d.fail()
		return "", false
	}
	off := len(d.text) - len(d.raw)
	s := d.text[off : off+int(n)]
	d.raw = d.raw[n:]
	return s, true
}

func (d *monthDecoder) str() string {
	s, ok := d.optStr()
	if !ok {
		d.fail()
	}
	return s
}
