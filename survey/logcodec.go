package survey

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
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
	put(int64(len(m.names)))
	for _, s := range m.names {
		str(s)
	}
	put(int64(len(m.Values)))
	for i := range m.Values {
		v := &m.Values[i]
		put(v.Family)
		put(int64(v.variable))
		put(int64(v.Version))
		if value, ok := m.value(v); ok {
			str(value)
		} else {
			put(-1)
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

// jsonMonth is a month as an older rct sealed it, in JSON.
type jsonMonth struct {
	Responses map[int64]int64 `json:"responses"`
	Values    []jsonValue     `json:"values"`
	Warnings  []logWarning    `json:"warnings"`
}

type jsonValue struct {
	Family   int64   `json:"f"`
	Variable string  `json:"v"`
	Version  int     `json:"n"`
	Value    *string `json:"x"` // nil: blanked
	Batch    int64   `json:"b"`
	Row      int     `json:"r"`
}

// month is j in memory.
func (j jsonMonth) month() (*logMonth, error) {
	m := &logMonth{Responses: j.Responses, Warnings: j.Warnings}
	for _, v := range j.Values {
		if err := m.add(v.Family, v.Variable, v.Version, v.Value, v.Batch, v.Row); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// monthReader reads months one after another through one inflater and
// one buffer: a month's bytes are inflated there and copied once into its
// text. With an inflater and io.ReadAll per month, each month left twice
// its size in garbage (ReadAll's chunks, then the slice it returns) and
// was copied twice.
type monthReader struct {
	inflater io.ReadCloser
	inflated bytes.Buffer
}

// decode reads a month in either form; the month holds nothing of r's.
func (r *monthReader) decode(plain []byte) (*logMonth, error) {
	if legacyMonth(plain) {
		var j jsonMonth
		if err := json.Unmarshal(plain, &j); err != nil {
			return nil, err
		}
		return j.month()
	}
	if len(plain) == 0 || plain[0] != logFormat {
		return nil, errors.New("not a month of the activity log (unknown form)")
	}
	compressed := bytes.NewReader(plain[1:])
	if r.inflater == nil {
		r.inflater = flate.NewReader(compressed)
	} else if err := r.inflater.(flate.Resetter).Reset(compressed, nil); err != nil {
		return nil, err
	}
	r.inflated.Reset()
	if _, err := r.inflated.ReadFrom(r.inflater); err != nil {
		return nil, err
	}
	raw := r.inflated.Bytes()
	// The values' bytes stay where the month has them: its text is the
	// whole month, and a value is an offset into it.
	m := &logMonth{}
	m.text.Grow(len(raw))
	m.text.Write(raw)
	d := &monthDecoder{raw: raw, text: m.text.String()}
	n := d.count(2)
	m.Responses = make(map[int64]int64, n) // at its size: not grown (and copied) a family at a time
	for ; n > 0 && d.err == nil; n-- {
		f := d.int()
		m.Responses[f] = d.int()
	}
	m.names = make([]string, d.count(1))
	for i := range m.names {
		m.names[i] = d.str()
	}
	// count bounds n by what the bytes can hold (six varints, a byte or
	// more each), so damaged bytes cannot claim more.
	if n := d.count(6); n > 0 {
		m.Values = make([]logValue, n)
	}
	for i := range m.Values {
		if d.err != nil {
			break
		}
		v := &m.Values[i]
		v.Family = d.int()
		if k := d.int(); k >= 0 && k < int64(len(m.names)) {
			v.variable = uint32(k)
		} else {
			d.fail()
		}
		v.Version = d.int32()
		v.off, v.n = d.optSpan()
		v.Batch = d.int()
		v.Row = d.int32()
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

// int32 reads a varint that must fit 32 bits.
func (d *monthDecoder) int32() int32 {
	x := d.int()
	if x != int64(int32(x)) {
		d.fail()
	}
	return int32(x)
}

// optSpan reads a string, or -1 for none: where it is in the month's text
// and its length (-1: none).
func (d *monthDecoder) optSpan() (off int64, n int32) {
	x := d.int()
	if x == -1 {
		return 0, -1
	}
	if x < 0 || x > int64(len(d.raw)) || x > math.MaxInt32 {
		d.fail()
		return 0, -1
	}
	off = int64(len(d.text) - len(d.raw))
	d.raw = d.raw[x:]
	return off, int32(x)
}

func (d *monthDecoder) str() string {
	off, n := d.optSpan()
	if n < 0 {
		d.fail()
		return ""
	}
	return d.text[off : off+int64(n)]
}
