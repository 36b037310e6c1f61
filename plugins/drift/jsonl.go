package drift

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// readJSONL streams JSON Lines (one object per line) into sink. The columns
// are the keys of the first object, in their order; a later row's missing
// key is a missing value and its extra keys are ignored. Values must be
// scalars: numbers, strings (a numeric string counts as a number), booleans
// (as the labels true/false) or null (missing).
func readJSONL(ctx context.Context, r io.Reader, sink *rowSink) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		index   map[string]int
		fields  [][]byte
		bufs    [][]byte
		rawKeys [][]byte
		line    int
	)
	for {
		rec, err := readLine(br)
		if len(rec) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("reading line %d: %w", line+1, err)
		}
		line++
		if line%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		// The fast scanner takes the usual flat object without copying;
		// anything it does not handle (escapes, odd spacing, errors) goes
		// through encoding/json, which also words the errors.
		rawKeys, vals, ok := scanFlatObject(rec, rawKeys[:0], bufs[:0])
		var keys []string
		if !ok {
			keys, vals, err = scanObject(rec, nil)
			if err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			rawKeys = rawKeys[:0]
			for _, k := range keys {
				rawKeys = append(rawKeys, []byte(k))
			}
		} else {
			bufs = vals
		}
		if index == nil {
			index = make(map[string]int, len(rawKeys))
			header := make([]string, len(rawKeys))
			for i, k := range rawKeys {
				header[i] = string(k)
				index[header[i]] = i
			}
			if err := sink.setHeader(header); err != nil {
				return err
			}
			fields = make([][]byte, len(header))
		}
		clear(fields)
		for i, k := range rawKeys {
			if j, ok := index[string(k)]; ok {
				fields[j] = vals[i]
			}
		}
		if err := sink.addRow(fields); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
	if index == nil {
		return errors.New("empty input: no JSON object")
	}
	return nil
}

// scanObject reads one flat JSON object, keeping its keys in order and each
// value as the text a CSV field would hold (nil for null).
func scanObject(rec []byte, vals [][]byte) ([]string, [][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(rec))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	var keys []string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("not JSON: %w", err)
		}
		key, _ := kt.(string)
		vt, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("not JSON: %w", err)
		}
		var v []byte
		switch x := vt.(type) {
		case json.Number:
			v = []byte(x)
		case string:
			v = []byte(x)
			if len(v) == 0 {
				v = nil
			}
		case bool:
			v = []byte(fmt.Sprint(x))
		case nil:
			v = nil
		default:
			return nil, nil, fmt.Errorf("key %q holds a nested array or object; check_drift compares scalar columns", key)
		}
		keys = append(keys, key)
		vals = append(vals, v)
	}
	return keys, vals, nil
}

// scanFlatObject reads the common case of a JSON Lines record in place: a
// flat object whose keys and strings hold no escapes. Values come back as
// the text a CSV field would hold (nil for null). ok is false for anything
// else, which the caller hands to encoding/json.
func scanFlatObject(rec []byte, keys, vals [][]byte) (_, _ [][]byte, ok bool) {
	i := skipWS(rec, 0)
	if i >= len(rec) || rec[i] != '{' {
		return keys, vals, false
	}
	i = skipWS(rec, i+1)
	if i < len(rec) && rec[i] == '}' {
		return keys, vals, skipWS(rec, i+1) == len(rec)
	}
	for {
		key, next, ok := scanPlainString(rec, i)
		if !ok {
			return keys, vals, false
		}
		i = skipWS(rec, next)
		if i >= len(rec) || rec[i] != ':' {
			return keys, vals, false
		}
		i = skipWS(rec, i+1)
		if i >= len(rec) {
			return keys, vals, false
		}
		var val []byte
		switch c := rec[i]; {
		case c == '"':
			s, next, ok := scanPlainString(rec, i)
			if !ok {
				return keys, vals, false
			}
			val, i = s, next
			if len(val) == 0 {
				val = nil
			}
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(rec) && (rec[j] >= '0' && rec[j] <= '9' || rec[j] == '-' || rec[j] == '+' || rec[j] == '.' || rec[j] == 'e' || rec[j] == 'E') {
				j++
			}
			val, i = rec[i:j], j
		case bytesHasPrefix(rec[i:], "true"):
			val, i = rec[i:i+4], i+4
		case bytesHasPrefix(rec[i:], "false"):
			val, i = rec[i:i+5], i+5
		case bytesHasPrefix(rec[i:], "null"):
			val, i = nil, i+4
		default:
			return keys, vals, false // nested value or not JSON
		}
		keys = append(keys, key)
		vals = append(vals, val)
		i = skipWS(rec, i)
		if i >= len(rec) {
			return keys, vals, false
		}
		switch rec[i] {
		case ',':
			i = skipWS(rec, i+1)
		case '}':
			return keys, vals, skipWS(rec, i+1) == len(rec)
		default:
			return keys, vals, false
		}
	}
}

// scanPlainString reads a JSON string starting at rec[i] == '"' that has no
// escapes and no control characters.
func scanPlainString(rec []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(rec) || rec[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(rec); j++ {
		switch c := rec[j]; {
		case c == '"':
			s := rec[i+1 : j]
			// encoding/json turns invalid UTF-8 into U+FFFD; let it.
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, i, false
		}
	}
	return nil, i, false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

func bytesHasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}
