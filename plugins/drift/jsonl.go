package drift

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// readJSONL streams JSON Lines (one object per line) into sink. The columns
// are the keys of the first object, in their order; a later row's missing
// key is a missing value and its extra keys are ignored. Values must be
// scalars: numbers, strings (a numeric string counts as a number), booleans
// (as the labels true/false) or null (missing).
func readJSONL(ctx context.Context, r io.Reader, sink *rowSink) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		index  map[string]int
		fields [][]byte
		bufs   [][]byte
		line   int
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
		keys, vals, err := scanObject(rec, bufs[:0])
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		bufs = vals
		if index == nil {
			index = make(map[string]int, len(keys))
			for i, k := range keys {
				index[k] = i
			}
			if err := sink.setHeader(keys); err != nil {
				return err
			}
			fields = make([][]byte, len(keys))
		}
		clear(fields)
		for i, k := range keys {
			if j, ok := index[k]; ok {
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
