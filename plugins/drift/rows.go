package drift

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// rowSink receives the rows of one input, already split into fields, and
// turns them into a window: it applies the --since filter on the timestamp
// column and the --current-last ring, then hands each kept field to its
// column. Readers call setHeader once and addRow per row; the fields are
// only borrowed for the call.
type rowSink struct {
	win *window

	// Set by the check before reading.
	wanted     []string // columns to keep; nil = every column but the timestamp
	tsColumn   string   // --timestamp-column: never compared
	filterTime bool     // keep only rows at or after since
	since      time.Time
	lastN      int // --current-last; 0 = every row

	colField []int // field index of each window column
	tsField  int   // field index of the timestamp column, -1 if none
	ring     [][]cell
	ringNext int
	ringFull bool
	seen     int // rows read, before filtering
	badTimes int // rows whose timestamp could not be read
}

// setHeader resolves the wanted columns against the input's header.
func (s *rowSink) setHeader(header []string) error {
	index := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := index[h]; dup {
			return fmt.Errorf("column %q appears twice in the header", h)
		}
		index[h] = i
	}
	s.tsField = -1
	if s.tsColumn != "" {
		i, ok := index[s.tsColumn]
		if !ok {
			return fmt.Errorf("timestamp column %q not found (columns: %s)", s.tsColumn, strings.Join(header, ", "))
		}
		s.tsField = i
	}
	names := s.wanted
	if names == nil {
		for _, h := range header {
			if h != s.tsColumn {
				names = append(names, h)
			}
		}
	}
	var missing []string
	s.colField = s.colField[:0]
	for _, n := range names {
		i, ok := index[n]
		if !ok {
			missing = append(missing, strconv.Quote(n))
			continue
		}
		s.colField = append(s.colField, i)
	}
	if len(missing) > 0 {
		return fmt.Errorf("no column %s (columns: %s)", strings.Join(missing, ", "), strings.Join(header, ", "))
	}
	s.win = newWindow(s.win.source, names)
	if s.lastN > 0 {
		s.ring = make([][]cell, 0, min(s.lastN, 1<<16))
	}
	return nil
}

// addRow takes one row's fields (nil entries are missing fields).
func (s *rowSink) addRow(fields [][]byte) error {
	s.seen++
	if s.filterTime {
		if s.tsField >= len(fields) {
			s.badTimes++
			return nil
		}
		ts, err := parseTimestamp(string(trimSpace(fields[s.tsField])))
		if err != nil {
			s.badTimes++
			return nil
		}
		if ts.Before(s.since) {
			return nil
		}
	}
	if s.lastN > 0 {
		row := make([]cell, len(s.colField))
		for k, i := range s.colField {
			if i < len(fields) {
				row[k] = parseCell(fields[i])
			} else {
				row[k] = cell{kind: cellMissing}
			}
		}
		if len(s.ring) < s.lastN {
			s.ring = append(s.ring, row)
		} else {
			s.ring[s.ringNext] = row
			s.ringFull = true
		}
		s.ringNext = (s.ringNext + 1) % s.lastN
		return nil
	}
	s.win.rows++
	for k, i := range s.colField {
		if i < len(fields) {
			s.win.columns[k].addField(fields[i])
		} else {
			s.win.columns[k].missing++
		}
	}
	return nil
}

// addTypedRow is addRow for readers that already hold numbers (Parquet):
// where isNum[i] is set the value is nums[i] and fields[i] is ignored, so a
// number never makes a round trip through text.
func (s *rowSink) addTypedRow(fields [][]byte, nums []float64, isNum []bool) error {
	if s.filterTime || s.lastN > 0 {
		// Rare paths: fall back to text, which they parse anyway.
		for i, ok := range isNum {
			if ok {
				fields[i] = strconv.AppendFloat(fields[i][:0], nums[i], 'g', -1, 64)
			}
		}
		return s.addRow(fields)
	}
	s.seen++
	s.win.rows++
	for k, i := range s.colField {
		c := s.win.columns[k]
		switch {
		case i >= len(fields):
			c.missing++
		case isNum[i]:
			v := nums[i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				c.nonFinite++
			} else {
				c.appendNum(v)
			}
		default:
			c.addField(fields[i])
		}
	}
	return nil
}

// finish flushes the last-N ring into the window, oldest row first.
func (s *rowSink) finish() *window {
	if s.lastN > 0 {
		start := 0
		if s.ringFull {
			start = s.ringNext
		}
		for k := range s.ring {
			row := s.ring[(start+k)%len(s.ring)]
			s.win.rows++
			for c, v := range row {
				s.win.columns[c].add(v)
			}
		}
		s.ring = nil
	}
	for _, c := range s.win.columns {
		c.seal()
	}
	s.win.read, s.win.badTime = s.seen, s.badTimes
	return s.win
}

// parseTimestamp reads RFC 3339 (with or without fractional seconds or a
// zone), "2006-01-02 15:04:05", a date, or Unix seconds (integer or
// fractional; milliseconds when larger than 1e11).
func parseTimestamp(s string) (time.Time, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		if math.Abs(v) > 1e11 {
			v /= 1000
		}
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339, \"YYYY-MM-DD hh:mm:ss\" or Unix seconds", s)
}
