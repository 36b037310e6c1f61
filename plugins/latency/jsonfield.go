package latency

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// fieldCheck is one --json-field: a dotted path into the answer (numbers
// index arrays) that must exist, and optionally equal a value.
type fieldCheck struct {
	spec  string
	path  []string
	want  string
	equal bool
}

func parseFieldChecks(specs []string) ([]fieldCheck, error) {
	var out []fieldCheck
	for _, spec := range specs {
		path, want, equal := strings.Cut(spec, "=")
		path = strings.TrimSpace(path)
		if path == "" {
			return nil, fmt.Errorf("--json-field %q has no path", spec)
		}
		out = append(out, fieldCheck{spec: spec, path: strings.Split(path, "."), want: want, equal: equal})
	}
	return out, nil
}

// check looks the path up in a decoded answer. A string value compares
// with the text as given; anything else with the text read as JSON ("[1,4]",
// "true", "0.5"), numbers by value so 1 matches 1.0.
func (f fieldCheck) check(doc any) error {
	v := doc
	for i, key := range f.path {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[key]
			if !ok {
				return fmt.Errorf("field %s is missing", strings.Join(f.path[:i+1], "."))
			}
			v = next
		case []any:
			idx, err := strconv.Atoi(key)
			if err != nil || idx < 0 || idx >= len(node) {
				return fmt.Errorf("field %s is missing (array of %d)", strings.Join(f.path[:i+1], "."), len(node))
			}
			v = node[idx]
		default:
			return fmt.Errorf("field %s is missing (%s is not an object or array)", strings.Join(f.path[:i+1], "."), strings.Join(f.path[:i], "."))
		}
	}
	if !f.equal {
		return nil
	}
	if s, ok := v.(string); ok && s == f.want {
		return nil
	}
	if want, err := decodeJSON([]byte(f.want)); err == nil && jsonEqual(v, want) {
		return nil
	}
	got := jsonText(v)
	if len(got) > 80 {
		got = got[:77] + "..."
	}
	return fmt.Errorf("field %s is %s, want %s", strings.Join(f.path, "."), got, f.want)
}

// jsonEqual compares decoded JSON values, numbers by value (1 = 1.0).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, errX := x.Float64()
		fy, errY := y.Float64()
		return errX == nil && errY == nil && fx == fy
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return a == b
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// decodeJSON decodes an answer keeping numbers exact.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}
