package drift

import (
	"math"
	"strconv"
	"unsafe"
)

// columnData is what a window keeps of one column while its rows stream
// past: the finite numbers, counts of each non-numeric label, and counts of
// what was set aside. It never holds the raw rows.
type columnData struct {
	name      string
	nums      []float64       // finite numeric values, in row order until sorted; set by seal
	chunks    [][]float64     // full blocks of values while reading
	block     []float64       // the block being filled
	labels    map[string]*int // non-numeric text, counted (pointers: no key allocation per row)
	text      int             // cells holding non-numeric text
	nonFinite int             // NaN, Inf, -Inf
	missing   int             // empty cells, JSON null
}

func newColumnData(name string) *columnData {
	return &columnData{name: name, labels: map[string]*int{}}
}

// cellKind classifies one cell as it is added.
type cellKind uint8

const (
	cellNumber cellKind = iota
	cellText
	cellNonFinite
	cellMissing
)

// cell is one parsed value, kept only where a window must hold rows back
// (the last-N ring).
type cell struct {
	kind cellKind
	num  float64
	text string
}

// parseCell reads one field. Numbers are parsed as Go's ParseFloat reads a
// decimal string, which gives the same double as Python's float(); text
// that ParseFloat would take as NaN or infinity is kept apart so it never
// enters a statistic. The byte slice is only borrowed.
func parseCell(b []byte) cell {
	b = trimSpace(b)
	if len(b) == 0 {
		return cell{kind: cellMissing}
	}
	s := unsafe.String(&b[0], len(b))
	if v, ok := parseNumber(b); ok {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return cell{kind: cellNonFinite}
		}
		return cell{kind: cellNumber, num: v}
	}
	if isMissingWord(s) {
		return cell{kind: cellMissing}
	}
	return cell{kind: cellText, text: string(b)}
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (c *columnData) add(v cell) {
	switch v.kind {
	case cellNumber:
		c.appendNum(v.num)
	case cellText:
		c.addLabel(v.text)
	case cellNonFinite:
		c.nonFinite++
	default:
		c.missing++
	}
}

// window is one side of the comparison (reference or current): its columns
// in file order and how many rows it kept.
type window struct {
	source  string
	columns []*columnData
	byName  map[string]*columnData
	rows    int // rows kept
	read    int // rows read before the window was cut
	badTime int // rows skipped because their timestamp was unreadable
}

func newWindow(source string, names []string) *window {
	w := &window{source: source, byName: make(map[string]*columnData, len(names))}
	for _, n := range names {
		c := newColumnData(n)
		w.columns = append(w.columns, c)
		w.byName[n] = c
	}
	return w
}

func (c *columnData) addLabel(text string) {
	c.text++
	if p := c.labels[text]; p != nil {
		*p++
		return
	}
	n := 1
	c.labels[text] = &n
}

// addField adds one raw field without keeping the bytes: numbers are parsed
// in place, a label is copied only the first time it is seen.
func (c *columnData) addField(b []byte) {
	b = trimSpace(b)
	if len(b) == 0 {
		c.missing++
		return
	}
	if v, ok := parseNumber(b); ok {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			c.nonFinite++
			return
		}
		c.appendNum(v)
		return
	}
	s := unsafe.String(&b[0], len(b))
	if isMissingWord(s) {
		c.missing++
		return
	}
	c.text++
	if p := c.labels[s]; p != nil {
		*p++
		return
	}
	n := 1
	c.labels[string(b)] = &n
}

// labelCounts returns the text labels and their counts.
func (c *columnData) labelCounts() map[string]int {
	out := make(map[string]int, len(c.labels))
	for l, n := range c.labels {
		out[l] = *n
	}
	return out
}

// isMissingWord reports the spellings of a missing value that pandas'
// read_csv also treats as NaN (besides the empty field).
func isMissingWord(s string) bool {
	switch s {
	case "NA", "N/A", "n/a", "null", "NULL", "None", "<NA>", "#N/A":
		return true
	}
	return false
}

// numBlock is the size of the blocks numbers are gathered in: appending to
// one growing slice would copy a million-row column about twenty times.
const numBlock = 1 << 16

func (c *columnData) appendNum(v float64) {
	if len(c.block) == cap(c.block) {
		if c.block != nil {
			c.chunks = append(c.chunks, c.block)
		}
		c.block = make([]float64, 0, numBlock)
	}
	c.block = append(c.block, v)
}

// seal gathers the blocks into nums, exactly sized.
func (c *columnData) seal() {
	n := len(c.nums) + len(c.block)
	for _, b := range c.chunks {
		n += len(b)
	}
	out := make([]float64, 0, n)
	out = append(out, c.nums...)
	for _, b := range c.chunks {
		out = append(out, b...)
	}
	out = append(out, c.block...)
	c.nums, c.chunks, c.block = out, nil, nil
}
