package frame

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// both reads a file with Read and ReadFor and estimates spec from each: the
// same estimate, or an error from both.
func both(t *testing.T, path string, s Spec) (string, string, error, error) {
	t.Helper()
	var out [2]string
	var errs [2]error
	for i, read := range []func(string, Spec) (*Frame, error){func(p string, _ Spec) (*Frame, error) { return Read(p) }, ReadFor} {
		f, err := read(path, s)
		if err == nil {
			var e *Estimate
			if e, err = f.Estimate(s); err == nil {
				b, _ := json.Marshal(e)
				out[i] = string(b)
			}
		}
		errs[i] = err
	}
	return out[0], out[1], errs[0], errs[1]
}

var fastCases = []struct {
	name, text string
	err        string // "": both read and estimate; else the error both give
}{
	{"plain", "y,z,x,s\n1.5,0,3,a\n2,1,4,b\n2.5,0,5,a\n4,1,2,b\n3,0,1,a\n5,1,6,b\n", ""},
	{"crlf semicolons bom", "\ufeffy;z;x;s\r\n1,5;0;3;a\r\n2;1;4;b\r\n2,5;0;5;a\r\n4;1;2;b\r\n3;0;1;a\r\n5;1;6;b\r\n", "is not a number"},
	{"missing codes blank lines spaces", "Y , Z,x,s\n1.5,0,3,a\n\n2,1,NA,b\n 2.5 ,0,5,a\n4,1,.,b\n,,,\n3,0,1,a\n5,1,6\u00a0,b\nNaN,1,2,a\n6,0,na,b\n7,1,2,a\n", ""},
	{"short rows and empty headerless column", "y,z,x,,s\n1.5,0,3,,a\n2,1,4\n2.5,0,5,,a\n4,1,2,,b\n3,0,1,,a\n5,1,6,,b\n7,0,2,,b\n", ""},
	{"value without a header", "y,z,x,s\n1.5,0,3,a\n2,1,4,b,oops\n2.5,0,5,a\n4,1,2,b\n", "column without a header"},
	{"not a number", "y,z,x,s\n1.5,0,3,a\n2,1,4,b\n2.5,0,vijf,a\n4,1,2,b\n3,0,1,a\n", `row 4 column C (x): "vijf" is not a number`},
	{"infinity", "y,z,x,s\n1.5,0,3,a\n2,1,Inf,b\n2.5,0,5,a\n4,1,2,b\n3,0,1,a\n", "is not a number"},
	{"quoted fields go the general way", "y,z,x,s\n1.5,0,3,\"a, b\"\n2,1,4,b\n2.5,0,5,\"a, b\"\n4,1,2,b\n3,0,1,a\n5,1,6,b\n", ""},
	{"header only", "y,z,x,s\n", "no data rows"},
	{"no column", "y,z,s\n1,0,a\n2,1,b\n", `no column "x"`},
}

// TestReadForSameAsRead: the fast reader gives what the general one gives,
// on files crossing block boundaries every few lines.
func TestReadForSameAsRead(t *testing.T) {
	for _, bs := range []int{4 << 20, 7, 64} {
		blockSize = bs
		for _, c := range fastCases {
			path := filepath.Join(t.TempDir(), "d.csv")
			os.WriteFile(path, []byte(c.text), 0o644)
			for _, s := range []Spec{{Outcome: "y", Treatment: "z", Covariates: []string{"x"}, SE: "HC2"}, {Outcome: "y", Treatment: "z", Covariates: []string{"x"}, Strata: "s", Estimator: "dim"}} {
				a, b, ea, eb := both(t, path, s)
				if (ea == nil) != (eb == nil) || a != b {
					t.Errorf("block %d, %s (%s): Read %s %v; ReadFor %s %v", bs, c.name, s.Estimator, a, ea, b, eb)
					continue
				}
				if c.err != "" && (eb == nil || !strings.Contains(eb.Error(), c.err)) && s.Estimator != "dim" {
					t.Errorf("block %d, %s: error %v, want %q", bs, c.name, eb, c.err)
				}
			}
		}
	}
	blockSize = 4 << 20
}

// FuzzReadFor: whatever the file, the fast reader and the general one
// agree: both fail, or both give the same estimate.
func FuzzReadFor(f *testing.F) {
	for _, c := range fastCases {
		f.Add(c.text, 16)
	}
	f.Fuzz(func(t *testing.T, text string, bs int) {
		blockSize = max(1, bs%4096)
		defer func() { blockSize = 4 << 20 }()
		path := filepath.Join(t.TempDir(), "d.csv")
		os.WriteFile(path, []byte(text), 0o644)
		s := Spec{Outcome: "y", Treatment: "z", Covariates: []string{"x"}}
		a, b, ea, eb := both(t, path, s)
		if (ea == nil) != (eb == nil) || a != b {
			t.Errorf("Read %s %v; ReadFor %s %v", a, ea, b, eb)
		}
	})
}

// TestReadForProgress: the fast reader tells a megabyte parsed at a time,
// all of the data below the header whatever the blocks, and ends once.
func TestReadForProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString("y,z,x\n")
	for i := 0; b.Len() < 2600<<10; i++ {
		fmt.Fprintf(&b, "%d.25,%d,%d\n", i, i%2, i%7)
	}
	path := filepath.Join(t.TempDir(), "d.csv")
	os.WriteFile(path, []byte(b.String()), 0o644)
	defer func() { blockSize = 4 << 20 }()
	for _, bs := range []int{4 << 20, 100 << 10, 333} {
		blockSize = bs
		var ticks, dones atomic.Int64
		s := Spec{Outcome: "y", Treatment: "z", Covariates: []string{"x"},
			Progress: func(string, int) (func(), func()) { return func() { ticks.Add(1) }, func() { dones.Add(1) } }}
		if _, err := ReadFor(path, s); err != nil {
			t.Fatal(err)
		}
		if want := int64(b.Len()-len("y,z,x\n")) >> 20; ticks.Load() != want || dones.Load() != 1 {
			t.Errorf("block %d: %d ticks, want %d; done %d times", bs, ticks.Load(), want, dones.Load())
		}
	}
}
