package latency

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBuildTarget(t *testing.T) {
	tests := []struct {
		name           string
		o              Options
		method, url    string
		readyURL, body string
	}{
		{"v2", Options{URL: "http://h:8080/", V2Model: "iris", Inputs: []string{"x:FP32:1,2:0.5,1e-3"}},
			"POST", "http://h:8080/v2/models/iris/infer", "http://h:8080/v2/models/iris/ready",
			`{"id":"vigil-probe","inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[0.5,1e-3]}]}`},
		{"v2 version", Options{URL: "http://h:8080", V2Model: "iris", V2Version: "3", Inputs: []string{"x:INT64:2:1,2"}},
			"POST", "http://h:8080/v2/models/iris/versions/3/infer", "http://h:8080/v2/models/iris/versions/3/ready",
			`{"id":"vigil-probe","inputs":[{"name":"x","shape":[2],"datatype":"INT64","data":[1,2]}]}`},
		{"v2 raw body, no ready check", Options{URL: "http://h", V2Model: "m", Data: `{"inputs":[]}`, SkipReady: true},
			"POST", "http://h/v2/models/m/infer", "", `{"inputs":[]}`},
		{"v1", Options{URL: "http://h:8501", V1Model: "half", Data: `{"instances":[1]}`},
			"POST", "http://h:8501/v1/models/half:predict", "http://h:8501/v1/models/half", `{"instances":[1]}`},
		{"v1 version", Options{URL: "http://h:8501", V1Model: "half", V1Version: "2", Data: `{"instances":[1]}`},
			"POST", "http://h:8501/v1/models/half/versions/2:predict", "http://h:8501/v1/models/half/versions/2", `{"instances":[1]}`},
		{"plain GET", Options{URL: "http://h/health"}, "GET", "http://h/health", "", ""},
		{"plain POST", Options{URL: "http://h/predict", Data: `{"a":1}`}, "POST", "http://h/predict", "", `{"a":1}`},
		{"plain PUT", Options{URL: "http://h/predict", Method: "put", Data: `{}`}, "PUT", "http://h/predict", "", `{}`},
		{"BYTES and BOOL", Options{URL: "http://h", V2Model: "m", Inputs: []string{"s:BYTES:2:a:b,c", "f:BOOL:1:true"}, SkipReady: true},
			"POST", "http://h/v2/models/m/infer", "",
			`{"id":"vigil-probe","inputs":[{"name":"s","shape":[2],"datatype":"BYTES","data":["a:b","c"]},{"name":"f","shape":[1],"datatype":"BOOL","data":[true]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := buildTarget(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got.method != tt.method || got.url != tt.url || got.readyURL != tt.readyURL || string(got.body) != tt.body {
				t.Errorf("got %s %s ready=%q body=%s\nwant %s %s ready=%q body=%s", got.method, got.url, got.readyURL, got.body, tt.method, tt.url, tt.readyURL, tt.body)
			}
			if len(got.body) > 0 && !json.Valid(got.body) {
				t.Errorf("body is not JSON: %s", got.body)
			}
		})
	}
}

func TestBuildTargetErrors(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{URL: "h:8080"}, "is not an absolute http(s) URL"},
		{Options{URL: "ftp://h/"}, `scheme "ftp" is not http or https`},
		{Options{URL: "http://h", V2Model: "m"}, "needs at least one --input"},
		{Options{URL: "http://h", V2Model: "m", Inputs: []string{"x:FP32:2:1"}}, "shape [2] holds 2 values, 1 given"},
		{Options{URL: "http://h", V2Model: "m", Inputs: []string{"x:FLOAT:1:1"}}, `datatype "FLOAT" is not one of`},
		{Options{URL: "http://h", V2Model: "m", Inputs: []string{"x:FP32:1:abc"}}, `"abc" is not a number`},
		{Options{URL: "http://h", V2Model: "m", Inputs: []string{"x:FP32:1:NaN"}}, `"NaN" is not a number`},
		{Options{URL: "http://h", V2Model: "m", Inputs: []string{"x:FP32"}}, "is not NAME:DATATYPE:SHAPE:VALUES"},
		{Options{URL: "http://h", V2Model: "m", Inputs: []string{"x:BOOL:1:yes"}}, `"yes" is not a BOOL`},
		{Options{URL: "http://h", V1Model: "m"}, "--v1-model needs a request body"},
		{Options{URL: "http://h", V1Model: "m", V2Model: "n"}, "exclude each other"},
		{Options{URL: "http://h", Inputs: []string{"x:FP32:1:1"}}, "--input needs --v2-model"},
		{Options{URL: "http://h", Data: "{}", DataFile: "/x"}, "--data and --data-file exclude each other"},
		{Options{URL: "http://h", DataFile: "/nonexistent/body.json"}, "reading --data-file"},
	}
	for _, tt := range tests {
		_, err := buildTarget(tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("buildTarget(%+v) error = %v, want it to contain %q", tt.o, err, tt.want)
		}
	}
}

func TestFieldChecks(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"model_name":"m","outputs":[{"name":"out","shape":[1,4],"data":[0.5,1]}],"ok":true,"n":1.0}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec string
		want string // "" = passes
	}{
		{"model_name", ""},
		{"model_name=m", ""},
		{"outputs.0.name=out", ""},
		{"outputs.0.shape=[1,4]", ""},
		{"outputs.0.data.1=1", ""},
		{"ok=true", ""},
		{"n=1", ""},
		{"outputs.0.data=[0.50,1.0]", ""},
		{"outputs.0={\"name\":\"out\",\"shape\":[1,4],\"data\":[0.5,1]}", ""},
		{"outputs.0.shape=[1,5]", "field outputs.0.shape is [1,4], want [1,5]"},
		{"ok=false", "field ok is true, want false"},
		{"model_name=other", "field model_name is m, want other"},
		{"outputs.1.name", "field outputs.1 is missing (array of 1)"},
		{"missing", "field missing is missing"},
		{"model_name.x", "field model_name.x is missing (model_name is not an object or array)"},
	}
	for _, tt := range tests {
		checks, err := parseFieldChecks([]string{tt.spec})
		if err != nil {
			t.Fatal(err)
		}
		err = checks[0].check(doc)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("--json-field %s: got %q, want %q", tt.spec, got, tt.want)
		}
	}
	if _, err := decodeJSON([]byte(`{} trailing`)); err == nil {
		t.Error("decodeJSON accepted trailing data")
	}
}

func TestParseMatcher(t *testing.T) {
	labels := map[string]string{"path": "/v2/models/{model_name}/infer", "code": "200"}
	tests := []struct {
		text string
		want bool
	}{
		{`code=200`, true},
		{`code!=200`, false},
		{`code=~2..`, true},
		{`code!~5..`, true},
		{`code=~0`, false}, // anchored, as in PromQL
		{`missing=`, true}, // an absent label matches ""
		{`path=~/v2/models/\{model_name\}(/versions/\{model_version\})?/infer`, true},
	}
	for _, tt := range tests {
		m, err := parseMatcher(tt.text)
		if err != nil {
			t.Fatalf("parseMatcher(%q): %v", tt.text, err)
		}
		if got := m.matches(labels); got != tt.want {
			t.Errorf("%s matches = %v, want %v", tt.text, got, tt.want)
		}
	}
	for _, bad := range []string{"code", "=x", "code~x", "code=~("} {
		if _, err := parseMatcher(bad); err == nil {
			t.Errorf("parseMatcher(%q) accepted", bad)
		}
	}
}
