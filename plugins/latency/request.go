package latency

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// target is what every probe request is built from: computed once, so the
// per-request cost is a bytes.Reader and a header clone.
type target struct {
	kind     string // "v2", "v1" or "json"
	model    string // for messages; empty for a plain JSON probe
	method   string
	url      string
	body     []byte
	readyURL string // checked once before probing; empty to skip
}

// buildTarget turns the options into the request to send.
func buildTarget(o Options) (target, error) {
	base, err := url.Parse(o.URL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return target{}, fmt.Errorf("-u %q is not an absolute http(s) URL", o.URL)
	}
	if base.Scheme != "http" && base.Scheme != "https" {
		return target{}, fmt.Errorf("-u %q: scheme %q is not http or https", o.URL, base.Scheme)
	}
	if o.V2Model != "" && o.V1Model != "" {
		return target{}, fmt.Errorf("--v2-model and --v1-model exclude each other")
	}
	if o.DataFile != "" && o.Data != "" {
		return target{}, fmt.Errorf("--data and --data-file exclude each other")
	}
	body := []byte(o.Data)
	if o.DataFile != "" {
		if body, err = os.ReadFile(o.DataFile); err != nil {
			return target{}, fmt.Errorf("reading --data-file: %w", err)
		}
	}
	root := strings.TrimRight(o.URL, "/")
	switch {
	case o.V2Model != "":
		t := target{kind: "v2", model: o.V2Model, method: "POST"}
		modelPath := "/v2/models/" + url.PathEscape(o.V2Model)
		if o.V2Version != "" {
			modelPath += "/versions/" + url.PathEscape(o.V2Version)
		}
		t.url = root + modelPath + "/infer"
		if !o.SkipReady {
			t.readyURL = root + modelPath + "/ready"
		}
		if len(body) == 0 {
			if body, err = v2Body(o.Inputs); err != nil {
				return target{}, err
			}
		} else if len(o.Inputs) > 0 {
			return target{}, fmt.Errorf("--input and --data/--data-file exclude each other")
		}
		t.body = body
		return t, nil
	case o.V1Model != "":
		t := target{kind: "v1", model: o.V1Model, method: "POST"}
		modelPath := "/v1/models/" + url.PathEscape(o.V1Model)
		if o.V1Version != "" {
			modelPath += "/versions/" + url.PathEscape(o.V1Version)
		}
		t.url = root + modelPath + ":predict"
		if !o.SkipReady {
			t.readyURL = root + modelPath
		}
		if len(body) == 0 {
			return target{}, fmt.Errorf("--v1-model needs a request body: --data '{\"instances\": [...]}' or --data-file")
		}
		t.body = body
		return t, nil
	}
	if len(o.Inputs) > 0 {
		return target{}, fmt.Errorf("--input needs --v2-model")
	}
	t := target{kind: "json", method: strings.ToUpper(o.Method), url: o.URL, body: body}
	if t.method == "" {
		t.method = "GET"
		if len(body) > 0 {
			t.method = "POST"
		}
	}
	return t, nil
}

// v2Tensor is one input of an Open Inference Protocol request.
type v2Tensor struct {
	Name     string            `json:"name"`
	Shape    []int64           `json:"shape"`
	Datatype string            `json:"datatype"`
	Data     []json.RawMessage `json:"data"`
}

// v2Datatypes are the OIP tensor types (case-sensitive in the protocol).
var v2Datatypes = map[string]bool{
	"BOOL": true, "UINT8": true, "UINT16": true, "UINT32": true, "UINT64": true,
	"INT8": true, "INT16": true, "INT32": true, "INT64": true,
	"FP16": true, "FP32": true, "FP64": true, "BYTES": true,
}

// v2Body builds {"id": ..., "inputs": [...]} from --input specs.
func v2Body(specs []string) ([]byte, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("--v2-model needs at least one --input NAME:DATATYPE:SHAPE:VALUES (or --data)")
	}
	req := struct {
		ID     string     `json:"id"`
		Inputs []v2Tensor `json:"inputs"`
	}{ID: "vigil-probe"}
	for _, spec := range specs {
		in, err := parseInput(spec)
		if err != nil {
			return nil, err
		}
		req.Inputs = append(req.Inputs, in)
	}
	return json.Marshal(req)
}

// parseInput reads NAME:DATATYPE:SHAPE:VALUES, SHAPE and VALUES
// comma-separated ("input0:FP32:1,4:0.1,0.2,0.3,0.4"). BYTES values are taken
// as strings; the values may contain further colons.
func parseInput(spec string) (v2Tensor, error) {
	parts := strings.SplitN(spec, ":", 4)
	if len(parts) != 4 || parts[0] == "" {
		return v2Tensor{}, fmt.Errorf("--input %q is not NAME:DATATYPE:SHAPE:VALUES", spec)
	}
	in := v2Tensor{Name: parts[0], Datatype: strings.ToUpper(parts[1])}
	if !v2Datatypes[in.Datatype] {
		return v2Tensor{}, fmt.Errorf("--input %q: datatype %q is not one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES", spec, parts[1])
	}
	elements := int64(1)
	for _, d := range strings.FieldsFunc(parts[2], func(r rune) bool { return r == ',' || r == 'x' }) {
		n, err := strconv.ParseInt(strings.TrimSpace(d), 10, 64)
		if err != nil || n < 0 {
			return v2Tensor{}, fmt.Errorf("--input %q: shape %q is not a list of sizes", spec, parts[2])
		}
		in.Shape = append(in.Shape, n)
		elements *= n
	}
	if len(in.Shape) == 0 {
		return v2Tensor{}, fmt.Errorf("--input %q: shape is empty", spec)
	}
	var values []string
	if parts[3] != "" {
		values = strings.Split(parts[3], ",")
	}
	if int64(len(values)) != elements {
		return v2Tensor{}, fmt.Errorf("--input %q: shape %v holds %d values, %d given", spec, in.Shape, elements, len(values))
	}
	for _, v := range values {
		v = strings.TrimSpace(v)
		var raw []byte
		switch in.Datatype {
		case "BYTES":
			raw, _ = json.Marshal(v)
		case "BOOL":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return v2Tensor{}, fmt.Errorf("--input %q: %q is not a BOOL", spec, v)
			}
			raw = []byte(strconv.FormatBool(b))
		default:
			if _, err := strconv.ParseFloat(v, 64); err != nil || strings.ContainsAny(v, "xXnN_") {
				return v2Tensor{}, fmt.Errorf("--input %q: %q is not a number", spec, v)
			}
			// Kept as written, so the server sees exactly the user's digits.
			raw = []byte(v)
			if !json.Valid(raw) {
				return v2Tensor{}, fmt.Errorf("--input %q: %q is not a JSON number", spec, v)
			}
		}
		in.Data = append(in.Data, raw)
	}
	if in.Data == nil {
		in.Data = []json.RawMessage{}
	}
	return in, nil
}
