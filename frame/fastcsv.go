package frame

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/sheet"
)

// ReadFor reads what an estimate needs. A CSV file's numeric columns are
// parsed straight into numbers, in blocks on every core, without a string
// per cell, and columns the spec does not name are not kept: memory is
// about the size of the numeric columns. Anything the fast reader does not
// take the way the general one does (a quoted field, text that is not
// UTF-8, an XLSX workbook) goes through Read.
func ReadFor(path string, s Spec) (*Frame, error) {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".csv" && ext != ".tsv" && ext != ".txt" {
		return Read(path)
	}
	f, err := readCSVFast(path, s)
	if errors.Is(err, errSlowPath) {
		return Read(path)
	}
	return f, err
}

// errSlowPath sends a file to the general reader.
var errSlowPath = errors.New("frame: not for the fast reader")

// blockSize is how much of the file a worker parses at once (a variable: tests
// make it small to cross many block boundaries).
var blockSize = 4 << 20

// block is a run of whole lines of the file and the number of its first.
type block struct {
	seq  int
	line int
	data []byte
}

// parsed is a block's columns.
type parsed struct {
	rows []int
	nums [][]float64
	txt  [][]string
	err  *dataerr.Error
	slow bool
}

func readCSVFast(path string, s Spec) (*Frame, error) {
	t, err := sheet.Open(path, sheet.Options{})
	if err != nil {
		return nil, err
	}
	t.Close() // its At still places errors
	p, numNames, txtNames := newParser(t, s)
	header, headerLine := t.Header, t.HeaderRow
	fh, err := os.Open(path)
	if err != nil {
		return nil, dataerr.File(path, err)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 1<<16)
	head, _ := br.Peek(64 << 10)
	head = bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	p.delim = byte(sheet.SniffDelimiter(head))
	// Skip to the line after the header.
	for line := 0; line < headerLine; line++ {
		if _, err := br.ReadSlice('\n'); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF {
				break
			}
			return nil, dataerr.File(path, err)
		} else if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errSlowPath // a header line longer than the buffer
		}
	}
	tick, done := s.Progress.Start("reading "+filepath.Base(path)+", MB parsed", 0)
	defer done()
	var parsedBytes atomic.Int64
	work := make(chan block)
	results := map[int]*parsed{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				r := p.parse(b)
				mu.Lock()
				results[b.seq] = r
				mu.Unlock()
				// A tick per megabyte: the blocks' byte ranges, whatever
				// their order, tile the file below its header, so the
				// ticks add up to that size in MB.
				after := parsedBytes.Add(int64(len(b.data)))
				for range after>>20 - (after-int64(len(b.data)))>>20 {
					tick()
				}
			}
		}()
	}
	readErr := func() error {
		defer close(work)
		line, seq := headerLine+1, 0
		var carry []byte
		buf := make([]byte, blockSize)
		for {
			n, err := io.ReadFull(br, buf)
			data := append(carry, buf[:n]...)
			carry = nil
			if err == nil {
				// Keep the last partial line for the next block.
				i := bytes.LastIndexByte(data, '\n')
				if i < 0 {
					carry = data
					continue
				}
				carry = append([]byte(nil), data[i+1:]...)
				data = data[:i+1]
			}
			if len(data) > 0 {
				work <- block{seq: seq, line: line, data: data}
				line += bytes.Count(data, []byte{'\n'})
				if data[len(data)-1] != '\n' {
					line++
				}
				seq++
			}
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			if err != nil {
				return dataerr.File(path, err)
			}
		}
	}()
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}
	f := &Frame{File: path, Names: header, cols: map[string][]string{}, nums: map[string][]float64{}, t: t}
	var firstErr *dataerr.Error
	for seq := 0; seq < len(results); seq++ {
		r := results[seq]
		if r.slow {
			return nil, errSlowPath
		}
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	n := 0
	for seq := 0; seq < len(results); seq++ {
		n += len(results[seq].rows)
	}
	if n == 0 {
		return nil, dataerr.New(path, "no data rows below the header")
	}
	f.rows = make([]int, 0, n)
	for j, name := range numNames {
		col := make([]float64, 0, n)
		for seq := 0; seq < len(results); seq++ {
			col = append(col, results[seq].nums[j]...)
		}
		f.nums[name] = col
	}
	for j, name := range txtNames {
		col := make([]string, 0, n)
		for seq := 0; seq < len(results); seq++ {
			col = append(col, results[seq].txt[j]...)
		}
		f.cols[name] = col
	}
	for seq, blocks := 0, len(results); seq < blocks; seq++ {
		f.rows = append(f.rows, results[seq].rows...)
		delete(results, seq) // its columns are copied: let them go
	}
	return f, nil
}

// newParser says, for each source column of t's header, whether the spec
// reads it as a number, as text (a factor) or not at all, and where it
// goes; the names of the number and text columns in their order.
func newParser(t *sheet.Table, s Spec) (*csvParser, []string, []string) {
	header, srcCols := t.Header, t.SourceCols()
	numeric, factors := s.columns()
	width := 0
	for _, c := range srcCols {
		width = max(width, c+1)
	}
	p := &csvParser{t: t, kind: make([]int8, width), slot: make([]int, width), at: make([]int, width)}
	for i := range p.kind {
		p.kind[i] = -1 // no header
	}
	var numNames, txtNames []string
	for i, name := range header {
		c := srcCols[i]
		p.at[c] = i
		switch {
		case slices.Contains(numeric, name):
			p.kind[c], p.slot[c] = 1, len(numNames)
			numNames = append(numNames, name)
		case slices.Contains(factors, name):
			p.kind[c], p.slot[c] = 2, len(txtNames)
			txtNames = append(txtNames, name)
		default:
			p.kind[c] = 0
		}
	}
	p.nNum, p.nTxt = len(numNames), len(txtNames)
	return p, numNames, txtNames
}

// csvParser parses blocks of lines of one file.
type csvParser struct {
	t          *sheet.Table // the header's table: it places errors
	kind       []int8       // of each source column: 0 not kept, 1 number, 2 text, -1 no header
	slot       []int        // source column → index among its kind's columns
	at         []int        // source column → index in the header
	delim      byte
	nNum, nTxt int
}

// parse reads a block's lines: numbers into their columns (NaN where
// missing), the factors as text; a blank line is skipped, as Read does.
func (p *csvParser) parse(b block) *parsed {
	r := &parsed{nums: make([][]float64, p.nNum), txt: make([][]string, p.nTxt)}
	if bytes.IndexByte(b.data, '"') >= 0 || !utf8.Valid(b.data) {
		r.slow = true
		return r
	}
	est := bytes.Count(b.data, []byte{'\n'}) + 1
	for j := range r.nums {
		r.nums[j] = make([]float64, 0, est)
	}
	r.rows = make([]int, 0, est)
	data, line := b.data, b.line
	fieldNum := make([]float64, p.nNum)
	fieldTxt := make([]string, p.nTxt)
	for len(data) > 0 {
		end := bytes.IndexByte(data, '\n')
		var ln []byte
		if end < 0 {
			ln, data = data, nil
		} else {
			ln, data = data[:end], data[end+1:]
		}
		ln = bytes.TrimSuffix(ln, []byte{'\r'})
		blank := true
		for j := range fieldNum {
			fieldNum[j] = math.NaN()
		}
		for j := range fieldTxt {
			fieldTxt[j] = ""
		}
		for c := 0; ; c++ {
			var cell []byte
			i := bytes.IndexByte(ln, p.delim)
			if i < 0 {
				cell = ln
			} else {
				cell = ln[:i]
			}
			v := sheet.CleanBytes(cell)
			if len(v) > 0 {
				blank = false
			}
			switch k := p.kindOf(c); {
			case k == -1 && len(v) > 0:
				r.err = &dataerr.Error{File: p.t.File, Row: line, Col: c + 1, Err: fmt.Errorf("value %q in a column without a header", string(v))}
				return r
			case k == 1 && !missingBytes(v):
				x, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(v), len(v)), 64)
				if err != nil || math.IsInf(x, 0) {
					r.err = p.t.At(line, p.at[c], "%q is not a number", string(v))
					return r
				}
				fieldNum[p.slot[c]] = x
			case k == 2 && !missingBytes(v):
				fieldTxt[p.slot[c]] = string(v)
			}
			if i < 0 {
				break
			}
			ln = ln[i+1:]
		}
		if !blank {
			r.rows = append(r.rows, line)
			for j, x := range fieldNum {
				r.nums[j] = append(r.nums[j], x)
			}
			for j, s := range fieldTxt {
				r.txt[j] = append(r.txt[j], s)
			}
		}
		line++
	}
	return r
}

func (p *csvParser) kindOf(c int) int8 {
	if c < len(p.kind) {
		return p.kind[c]
	}
	return -1
}

// missingBytes is missing for a cleaned cell: empty, NA, na, "." or NaN.
func missingBytes(v []byte) bool {
	switch string(v) {
	case "", "NA", "na", ".", "NaN":
		return true
	}
	return false
}
