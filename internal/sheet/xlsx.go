package sheet

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The XLSX reader below streams a worksheet's XML with a small hand-written
// scanner instead of excelize's Rows: excelize unmarshals every cell with
// encoding/xml's reflection and took 3.7 s of the 5 s budget for 100,000
// referral rows (BENCHMARKS.md). excelize still writes every workbook rct
// produces, and the tests compare this reader with excelize's on workbooks
// from excelize, openpyxl and LibreOffice.

// MaxColumns is the widest sheet read; a value further right is refused.
const MaxColumns = 4096

type book struct {
	zr       *zip.ReadCloser
	sheets   []bookSheet
	date1904 bool
	sst      []string
}

type bookSheet struct {
	Name   string
	Path   string
	Hidden bool
}

// openBook opens an XLSX package and reads its workbook part, relationships
// and shared strings. limit caps the total uncompressed size.
func openBook(file string, limit int64) (*book, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, fmt.Errorf("not a readable XLSX workbook: %v", err)
	}
	b := &book{zr: zr}
	var total uint64
	seen := map[string]bool{}
	for _, f := range zr.File {
		total += f.UncompressedSize64
		// Part names are case-insensitive (OPC): a package with two parts
		// of one name is read as its first by some programs and as its
		// last by others (Excel, openpyxl) — what an interviewer saw may
		// not be what would be imported.
		name := strings.ToLower(strings.TrimPrefix(f.Name, "/"))
		if seen[name] {
			zr.Close()
			return nil, fmt.Errorf("refused: the workbook holds two parts named %s, which programs read differently; open it in Excel or LibreOffice and save it again", f.Name)
		}
		seen[name] = true
	}
	if total > uint64(limit) {
		zr.Close()
		return nil, errZipBomb{limit}
	}
	if err := b.readWorkbook(); err != nil {
		zr.Close()
		return nil, err
	}
	return b, nil
}

type errZipBomb struct{ limit int64 }

func (e errZipBomb) Error() string {
	return fmt.Sprintf("refused: the workbook unzips to more than %d MB (a zip bomb, or far larger than any trial sheet)", e.limit>>20)
}

func (b *book) open(name string) (io.ReadCloser, error) {
	name = strings.TrimPrefix(name, "/")
	for _, f := range b.zr.File {
		if strings.EqualFold(f.Name, name) {
			return f.Open()
		}
	}
	return nil, fmt.Errorf("the workbook has no part %s", name)
}

func (b *book) readWorkbook() error {
	var wb struct {
		Pr struct {
			Date1904 string `xml:"date1904,attr"`
		} `xml:"workbookPr"`
		Sheets []struct {
			Name  string `xml:"name,attr"`
			State string `xml:"state,attr"`
			RID   string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rel []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	wbPath := "xl/workbook.xml"
	if err := b.decode("_rels/.rels", &rels); err == nil {
		for _, r := range rels.Rel {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				wbPath = strings.TrimPrefix(r.Target, "/")
			}
		}
	}
	if err := b.decode(wbPath, &wb); err != nil {
		return fmt.Errorf("not a readable XLSX workbook: %v", err)
	}
	b.date1904 = wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"
	dir := path.Dir(wbPath)
	relPath := path.Join(dir, "_rels", path.Base(wbPath)+".rels")
	rels.Rel = nil
	if err := b.decode(relPath, &rels); err != nil {
		return fmt.Errorf("not a readable XLSX workbook: %v", err)
	}
	target := map[string]string{}
	sstPath := ""
	for _, r := range rels.Rel {
		t := r.Target
		if strings.HasPrefix(t, "/") {
			t = strings.TrimPrefix(t, "/")
		} else {
			t = path.Join(dir, t)
		}
		target[r.ID] = t
		if strings.HasSuffix(r.Type, "/sharedStrings") {
			sstPath = t
		}
	}
	for _, s := range wb.Sheets {
		p, ok := target[s.RID]
		if !ok {
			continue // a chart sheet or a broken link: not a worksheet to read
		}
		b.sheets = append(b.sheets, bookSheet{Name: s.Name, Path: p, Hidden: s.State == "hidden" || s.State == "veryHidden"})
	}
	if sstPath != "" {
		rc, err := b.open(sstPath)
		if err != nil {
			return err
		}
		defer rc.Close()
		sc := newScanner(rc)
		var cur []byte
		inSI, inRPh, inT := false, false, false
		for {
			tok, err := sc.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("shared strings: %v", err)
			}
			switch {
			case tok.kind == tokText:
				if inSI && !inRPh && inT {
					cur = append(cur, tok.text...)
				}
			case tok.name == "t":
				inT = tok.kind == tokOpen
			case tok.name == "si":
				if tok.kind == tokOpen {
					inSI, cur = true, cur[:0]
				} else if tok.kind == tokClose || tok.kind == tokEmpty {
					b.sst = append(b.sst, decodeText(cur))
					inSI = false
				}
			case tok.name == "rPh":
				inRPh = tok.kind == tokOpen
			}
		}
	}
	return nil
}

func (b *book) decode(name string, v any) error {
	rc, err := b.open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	return xml.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(v)
}

// rowReader streams one worksheet.
type rowReader struct {
	rc     io.ReadCloser
	sc     *scanner
	sst    []string
	inData bool
	done   bool
	row    int
	// formulas holds the columns of the current row's formula cells
	formulas []int
}

func (b *book) rows(sheet bookSheet) (*rowReader, error) {
	rc, err := b.open(sheet.Path)
	if err != nil {
		return nil, err
	}
	return &rowReader{rc: rc, sc: newScanner(rc), sst: b.sst}, nil
}

// next returns the cells of the next <row> and its number; io.EOF at the
// end of the sheet data. Cells with no value are "". The 1-based columns of
// cells holding a formula are in r.formulas until the next call.
func (r *rowReader) next() ([]string, int, error) {
	if r.done {
		return nil, 0, io.EOF
	}
	var cells []string
	r.formulas = nil
	inRow := false
	col, typ := 0, ""
	var val []byte
	hasV, inV, inIS, inRPh, inT := false, false, false, false, false
	for {
		tok, err := r.sc.next()
		if err == io.EOF {
			r.done = true
			if inRow {
				return nil, 0, errors.New("the sheet ends inside a row")
			}
			return nil, 0, io.EOF
		}
		if err != nil {
			return nil, 0, err
		}
		if !r.inData {
			if tok.name == "sheetData" && tok.kind == tokOpen {
				r.inData = true
			}
			continue
		}
		switch tok.kind {
		case tokText:
			if inV || (inIS && inT && !inRPh) {
				val = append(val, tok.text...)
			}
			continue
		}
		switch tok.name {
		case "sheetData":
			if tok.kind == tokClose {
				r.done = true
				return nil, 0, io.EOF
			}
		case "row":
			switch tok.kind {
			case tokOpen, tokEmpty:
				n := r.row + 1
				if s, ok := attr(tok.raw, "r"); ok {
					v, err := strconv.Atoi(s)
					if err != nil || v < 1 || v > 1048576 {
						return nil, 0, fmt.Errorf("row number %q is not valid", s)
					}
					if v <= r.row {
						return nil, 0, fmt.Errorf("row %d comes after row %d", v, r.row)
					}
					n = v
				}
				r.row = n
				if tok.kind == tokEmpty {
					return nil, n, nil
				}
				inRow, col, cells = true, 0, nil
			case tokClose:
				return cells, r.row, nil
			}
		case "c":
			if !inRow {
				return nil, 0, fmt.Errorf("a cell outside a row (after row %d)", r.row)
			}
			switch tok.kind {
			case tokOpen, tokEmpty:
				col++
				if s, ok := attrRaw(tok.raw, "r"); ok {
					c, err := columnOf(s)
					if err != nil {
						return nil, 0, fmt.Errorf("row %d: %v", r.row, err)
					}
					if c < col {
						return nil, 0, fmt.Errorf("row %d: cell %s comes after column %d", r.row, s, col-1)
					}
					col = c
				}
				typ = ""
				if t, ok := attrRaw(tok.raw, "t"); ok {
					typ = cellType(t)
				}
				val, hasV = val[:0], false
			case tokClose:
				if !hasV || col < 1 {
					continue
				}
				v, err := r.cellValue(typ, val)
				if err != nil {
					return nil, 0, fmt.Errorf("row %d column %d: %v", r.row, col, err)
				}
				if v == "" {
					continue
				}
				if col > MaxColumns {
					return nil, 0, fmt.Errorf("row %d: a value in column %d, beyond the %d columns read", r.row, col, MaxColumns)
				}
				for len(cells) < col {
					cells = append(cells, "")
				}
				cells[col-1] = v
			}
		case "v":
			inV = tok.kind == tokOpen
			if tok.kind != tokClose {
				hasV = true
			}
		case "is":
			inIS = tok.kind == tokOpen
			if tok.kind != tokClose {
				hasV = true
			}
		case "f":
			if tok.kind != tokClose && inRow && (len(r.formulas) == 0 || r.formulas[len(r.formulas)-1] != col) {
				r.formulas = append(r.formulas, col)
			}
		case "rPh":
			inRPh = tok.kind == tokOpen
		case "t":
			inT = tok.kind == tokOpen
		}
	}
}

func (r *rowReader) cellValue(typ string, val []byte) (string, error) {
	switch typ {
	case "s":
		i, err := strconv.Atoi(string(bytes.TrimSpace(val)))
		if err != nil || i < 0 || i >= len(r.sst) {
			return "", fmt.Errorf("shared string %q does not exist", val)
		}
		return r.sst[i], nil
	case "b":
		// A boolean cell reads as 1 or 0, as excelize's raw value does.
		switch strings.TrimSpace(string(val)) {
		case "1", "true":
			return "1", nil
		case "0", "false":
			return "0", nil
		}
		return "", fmt.Errorf("boolean %q", val)
	}
	return decodeText(val), nil
}

// cellType names a cell's t attribute without allocating for the usual ones.
func cellType(t []byte) string {
	switch string(t) {
	case "s":
		return "s"
	case "n":
		return "n"
	case "b":
		return "b"
	case "str":
		return "str"
	case "inlineStr":
		return "inlineStr"
	}
	return decodeText(t)
}

// columnOf returns the 1-based column of a cell reference such as "AB12".
func columnOf(ref []byte) (int, error) {
	col, i := 0, 0
	for ; i < len(ref); i++ {
		c := ref[i]
		switch {
		case c >= 'A' && c <= 'Z':
			col = col*26 + int(c-'A'+1)
		case c >= 'a' && c <= 'z':
			col = col*26 + int(c-'a'+1)
		default:
			goto digits
		}
		if col > 16384 {
			return 0, fmt.Errorf("cell reference %q is beyond column XFD", ref)
		}
	}
digits:
	if i == 0 || i == len(ref) {
		return 0, fmt.Errorf("cell reference %q is not valid", ref)
	}
	for _, c := range ref[i:] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("cell reference %q is not valid", ref)
		}
	}
	return col, nil
}

func (r *rowReader) Close() error { return r.rc.Close() }

// --- a minimal XML scanner for SpreadsheetML parts ---

type tokKind int

const (
	tokText  tokKind = iota
	tokOpen          // <name ...>
	tokClose         // </name>
	tokEmpty         // <name .../>
)

type token struct {
	kind tokKind
	name string // local name, without a namespace prefix
	raw  []byte // the tag's bytes between < and >, valid until the next call
	text []byte // text, valid until the next call
}

type scanner struct {
	r    *bufio.Reader
	buf  []byte
	tag  []byte
	text []byte
	// A tag read after text is kept here and returned next.
	pend              token
	hasPend           bool
	pendRaw, pendText []byte
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: bufio.NewReaderSize(r, 256<<10)}
}

// readTo reads up to and including delim. The result is valid until the
// next read.
func (s *scanner) readTo(delim byte) ([]byte, error) {
	b, err := s.r.ReadSlice(delim)
	if err != bufio.ErrBufferFull {
		return b, err
	}
	s.buf = append(s.buf[:0], b...)
	for err == bufio.ErrBufferFull {
		b, err = s.r.ReadSlice(delim)
		s.buf = append(s.buf, b...)
		if len(s.buf) > 64<<20 {
			return nil, errors.New("an XML token longer than 64 MB")
		}
	}
	return s.buf, err
}

// next returns the next token. Comments, processing instructions and
// declarations are skipped; CDATA sections are text.
func (s *scanner) next() (token, error) {
	if s.hasPend {
		s.hasPend = false
		return s.pend, nil
	}
	for {
		b, err := s.readTo('<')
		if err == io.EOF {
			if len(bytes.TrimSpace(b)) > 0 {
				return token{}, errors.New("text after the last element")
			}
			return token{}, io.EOF
		}
		if err != nil {
			return token{}, err
		}
		// Keep the text: reading the tag reuses the reader's buffer.
		s.text = append(s.text[:0], b...)
		text := s.text
		tag, err := s.readTag()
		if err != nil {
			return token{}, err
		}
		tok, skip, err := s.parseTag(tag)
		if err != nil {
			return token{}, err
		}
		if len(text) > 1 {
			// Text before the tag: return it first, keep the tag.
			if !skip {
				s.pendRaw = append(s.pendRaw[:0], tok.raw...)
				s.pendText = append(s.pendText[:0], tok.text...)
				s.pend, s.hasPend = tok, true
				s.pend.raw, s.pend.text = s.pendRaw, s.pendText
			}
			return token{kind: tokText, text: text[:len(text)-1]}, nil
		}
		if skip {
			continue
		}
		return tok, nil
	}
}

// readTag reads a tag after its '<', up to its '>', minding quotes,
// comments and CDATA sections, which may contain '>'.
func (s *scanner) readTag() ([]byte, error) {
	b, err := s.readTo('>')
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("the XML ends inside a tag")
		}
		return nil, err
	}
	s.tag = append(s.tag[:0], b...)
	complete := func() bool {
		t := s.tag[:len(s.tag)-1]
		switch {
		case bytes.HasPrefix(t, []byte("!--")):
			return len(t) >= 5 && bytes.HasSuffix(t, []byte("--"))
		case bytes.HasPrefix(t, []byte("![CDATA[")):
			return bytes.HasSuffix(t, []byte("]]"))
		}
		var q byte
		for _, c := range t {
			switch {
			case q == 0 && (c == '"' || c == '\''):
				q = c
			case c == q:
				q = 0
			}
		}
		return q == 0
	}
	for !complete() {
		b, err := s.readTo('>')
		if err != nil {
			return nil, errors.New("the XML ends inside a tag")
		}
		s.tag = append(s.tag, b...)
	}
	return s.tag[:len(s.tag)-1], nil
}

func (s *scanner) parseTag(t []byte) (token, bool, error) {
	if len(t) == 0 {
		return token{}, false, errors.New("an empty tag <>")
	}
	switch t[0] {
	case '?', '!':
		if bytes.HasPrefix(t, []byte("![CDATA[")) {
			// CDATA is text; hand it back as such.
			return token{kind: tokText, text: t[8 : len(t)-2]}, false, nil
		}
		return token{}, true, nil
	}
	tok := token{kind: tokOpen, raw: t}
	if t[0] == '/' {
		tok.kind = tokClose
		t = t[1:]
	} else if t[len(t)-1] == '/' {
		tok.kind = tokEmpty
		t = t[:len(t)-1]
	}
	end := indexSpace(t)
	if end < 0 {
		end = len(t)
	}
	name := t[:end]
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	tok.name = internName(name)
	return tok, false, nil
}

// internName avoids allocating the names the reader compares against.
func internName(b []byte) string {
	switch string(b) {
	case "c":
		return "c"
	case "v":
		return "v"
	case "row":
		return "row"
	case "t":
		return "t"
	case "f":
		return "f"
	case "is":
		return "is"
	case "si":
		return "si"
	case "r":
		return "r"
	case "rPh":
		return "rPh"
	case "sheetData":
		return "sheetData"
	}
	return string(b)
}

// isSpace says whether c is XML white space.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// indexSpace is the index of the first XML white space in b, or -1:
// bytes.IndexAny builds its set on every call, once per cell of a sheet.
func indexSpace(b []byte) int {
	for i, c := range b {
		if isSpace(c) {
			return i
		}
	}
	return -1
}

// trimSpaceLeft is b without its leading XML white space.
func trimSpaceLeft(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

// attr returns the value of attribute name in a tag's bytes.
func attr(tag []byte, name string) (string, bool) {
	v, ok := attrRaw(tag, name)
	if !ok {
		return "", false
	}
	return decodeText(v), true
}

// attrRaw returns the undecoded bytes of attribute name, valid as long as tag.
func attrRaw(tag []byte, name string) ([]byte, bool) {
	i := indexSpace(tag)
	if i < 0 {
		return nil, false
	}
	t := tag[i:]
	for len(t) > 0 {
		t = trimSpaceLeft(t)
		eq := bytes.IndexByte(t, '=')
		if eq < 0 {
			return nil, false
		}
		key := bytes.TrimSpace(t[:eq])
		t = trimSpaceLeft(t[eq+1:])
		if len(t) == 0 || (t[0] != '"' && t[0] != '\'') {
			return nil, false
		}
		q := t[0]
		end := bytes.IndexByte(t[1:], q)
		if end < 0 {
			return nil, false
		}
		val := t[1 : 1+end]
		t = t[2+end:]
		if string(key) == name {
			return val, true
		}
	}
	return nil, false
}

// decodeText resolves XML entities and the _xHHHH_ escapes of OOXML.
func decodeText(b []byte) string {
	if bytes.IndexByte(b, '&') < 0 && !bytes.Contains(b, []byte("_x")) {
		if utf8.Valid(b) {
			return string(b)
		}
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	var out strings.Builder
	out.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '&' {
			end := bytes.IndexByte(b[i:], ';')
			if end > 0 && end < 12 {
				ent := string(b[i+1 : i+end])
				if r, ok := entity(ent); ok {
					out.WriteRune(r)
					i += end
					continue
				}
			}
		}
		if c == '_' && i+6 < len(b) && b[i+1] == 'x' && b[i+6] == '_' {
			if v, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32); err == nil {
				out.WriteRune(rune(v))
				i += 6
				continue
			}
		}
		out.WriteByte(c)
	}
	return strings.ToValidUTF8(out.String(), "\uFFFD")
}

func entity(e string) (rune, bool) {
	switch e {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if strings.HasPrefix(e, "#x") || strings.HasPrefix(e, "#X") {
		v, err := strconv.ParseUint(e[2:], 16, 32)
		return rune(v), err == nil && utf8.ValidRune(rune(v))
	}
	if strings.HasPrefix(e, "#") {
		v, err := strconv.ParseUint(e[1:], 10, 32)
		return rune(v), err == nil && utf8.ValidRune(rune(v))
	}
	return 0, false
}
