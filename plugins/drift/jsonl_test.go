package drift

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// FuzzJSONLFastScan: whatever the fast scanner accepts, encoding/json reads
// the same way (same keys, same values).
func FuzzJSONLFastScan(f *testing.F) {
	for _, s := range []string{
		`{"a": 1, "b": "x", "c": null, "d": true}`,
		`{"a":-1.5e3,"b":""}`,
		`{}`,
		`{"a": [1]}`,
		`{"a": "\u00e9"}`,
		` {"k" : false } `,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rec string) {
		keys, vals, ok := scanFlatObject([]byte(rec), nil, nil)
		if !ok {
			return
		}
		wantKeys, wantVals, err := scanObject([]byte(rec), nil)
		if err != nil {
			// The fast path is lenient only about number spelling, which
			// ParseFloat then judges; anything else must agree.
			for _, v := range vals {
				if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
					return
				}
			}
			t.Fatalf("fast scanner accepted %q, encoding/json: %v", rec, err)
		}
		if len(keys) != len(wantKeys) {
			t.Fatalf("%q: %d keys, encoding/json %d", rec, len(keys), len(wantKeys))
		}
		for i := range keys {
			if string(keys[i]) != wantKeys[i] || !bytes.Equal(vals[i], wantVals[i]) {
				t.Fatalf("%q: field %d = %q:%q, encoding/json %q:%q", rec, i, keys[i], vals[i], wantKeys[i], wantVals[i])
			}
		}
	})
}

func TestReadJSONLMixed(t *testing.T) {
	text := `{"score": 0.5, "label": "a"}
{"label": "caf\u00e9", "score": 1.5, "extra": 1}

{"score": null, "label": "b"}
`
	s := &rowSink{win: newWindow("t", nil)}
	if err := readJSONL(context.Background(), strings.NewReader(text), s); err != nil {
		t.Fatal(err)
	}
	w := s.finish()
	if got := w.byName["score"].nums; len(got) != 2 || got[1] != 1.5 || w.byName["score"].missing != 1 {
		t.Errorf("score = %v, missing %d", got, w.byName["score"].missing)
	}
	if l := w.byName["label"].labelCounts(); l["café"] != 1 || l["a"] != 1 || l["b"] != 1 {
		t.Errorf("labels %v", l)
	}
	s = &rowSink{win: newWindow("t", nil)}
	err := readJSONL(context.Background(), strings.NewReader("{\"a\": 1}\n{\"a\": [1, 2]}\n"), s)
	if err == nil || err.Error() != `line 2: key "a" holds a nested array or object; check_drift compares scalar columns` {
		t.Errorf("nested: %v", err)
	}
}
