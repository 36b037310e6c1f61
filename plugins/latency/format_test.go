package latency

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
	"github.com/vigil-monitoring/vigil/test/fixtures/modelserver"
)

// TestOpenMetricsAndText: the fixture's client_golang exposition read as
// OpenMetrics (where counters without _total become "unknown") and as the
// text format gives the same counts for a histogram and for Triton's
// counter pair.
func TestOpenMetricsAndText(t *testing.T) {
	srv := modelserver.New(modelserver.Config{Model: "simple"})
	for i := 0; i < 5; i++ {
		body := `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"parameters":{"latency_ms":1}}`
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v2/models/simple/infer", strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("infer: %d %s", rec.Code, rec.Body)
		}
	}
	scrape := func(accept string) (string, map[string]snapshot) {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		families, err := parseFamilies(rec.Body, ct)
		if err != nil {
			t.Fatalf("parsing %s: %v", ct, err)
		}
		out := map[string]snapshot{}
		for _, preset := range []string{"mlserver", "triton"} {
			o := DefaultOptions()
			o.URL, o.Server = "http://127.0.0.1:8080", preset
			ev, _ := newEvaluation(o, plugin.Thresholds{})
			sel, err := newSelection(o, ev)
			if err != nil {
				t.Fatal(err)
			}
			snap, _, _, err := sel.snapshotOf(families, time.Time{})
			if err != nil {
				t.Fatalf("%s over %s: %v", preset, ct, err)
			}
			out[preset] = snap
		}
		return ct, out
	}
	omType, om := scrape(acceptHeader)
	textType, text := scrape("text/plain;version=0.0.4")
	if !strings.HasPrefix(omType, "application/openmetrics-text") || !strings.HasPrefix(textType, "text/plain") {
		t.Fatalf("content types %q and %q: the negotiation did not give one of each", omType, textType)
	}
	if !reflect.DeepEqual(om, text) {
		t.Errorf("OpenMetrics and text differ:\n%+v\n%+v", om, text)
	}
	if c := om["triton"].Series[`{model="simple",version="1"}`].Count; c != 5 {
		t.Errorf("triton request count %v, want 5", c)
	}
}

// TestPluginRerun: one Plugin value run twice with different flags does not
// carry the first run's options into the second.
func TestPluginRerun(t *testing.T) {
	p := New()
	var out strings.Builder
	plugin.Run(t.Context(), p, []string{"-u", "http://127.0.0.1:1", "--v2-model", "m", "--input", "x:FP32:1:1", "--samples", "0"}, &out, &out)
	if !strings.Contains(out.String(), "--samples 0 is not between 1 and 100000") {
		t.Fatalf("first run: %s", out.String())
	}
	out.Reset()
	plugin.Run(t.Context(), p, []string{"--v2-model", "m"}, &out, &out)
	if got := strings.TrimSpace(out.String()); got != "MODEL_LATENCY UNKNOWN - -u/--url is required" {
		t.Errorf("second run kept the first run's -u: %s", got)
	}
}
