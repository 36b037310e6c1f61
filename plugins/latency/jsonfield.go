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

// check looks the path up in a decoded answer. A string compares as its
// text; anything else as its compact JSON ("[1,4]", "true", "0.5"), with
// numbers compared by value so "1" matches 1.0.
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
	got := jsonText(v)
	if got == f.want {
		return nil
	}
	if n, ok := v.(json.Number); ok {
		a, errA := n.Float64()
		b, errB := strconv.ParseFloat(strings.TrimSpace(f.want), 64)
		if errA == nil && errB == nil && a == b {
			return nil
		}
	}
	if len(got) > 80 {
		got = got[:77] + "..."
	}
	return fmt.Errorf("field %s is %s, want %s", strings.Join(f.path, "."), got, f.want)
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
