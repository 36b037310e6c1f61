package latency

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestScrapeGolden renders scrape-mode results for expositions in the
// formats real servers print (TF Serving's colon names and 6-digit bounds,
// TorchServe's trailing commas, Triton's opt-in summary), with and without
// a previous snapshot, and compares them with testdata/*.golden.
func TestScrapeGolden(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		opts   Options
		before string // exposition of the previous run; "" = first run
		after  string
		warn   string
		crit   string
	}{
		{"tfserving_lifetime", Options{Server: "tfserving", Model: "half_plus_two", URL: "http://127.0.0.1:8501"}, "", "tfserving.prom", "10", "20"},
		{"tfserving_window", Options{Server: "tfserving", Model: "half_plus_two", URL: "http://127.0.0.1:8501"}, "tfserving_before.prom", "tfserving.prom", "10", "20"},
		{"tfserving_window_seconds", Options{Server: "tfserving", Model: "half_plus_two", URL: "http://127.0.0.1:8501", PerfUnit: "s", Stat: "p50"}, "tfserving_before.prom", "tfserving.prom", "10", "20"},
		{"tfserving_no_traffic", Options{Server: "tfserving", Model: "half_plus_two", URL: "http://127.0.0.1:8501"}, "tfserving_before.prom", "tfserving_before.prom", "10", "20"},
		{"tfserving_all_models", Options{Server: "tfserving", URL: "http://127.0.0.1:8501", Quantile: 0.999}, "", "tfserving.prom", "", ""},
		{"torchserve_mean", Options{Server: "torchserve", Model: "resnet-18", URL: "http://127.0.0.1:8082"}, "", "torchserve.prom", "30", "50"},
		{"torchserve_quantile_refused", Options{Server: "torchserve", Model: "resnet-18", URL: "http://127.0.0.1:8082", Stat: "p95"}, "", "torchserve.prom", "", ""},
		{"triton_summary_p99", Options{Metric: "nv_inference_request_summary_us", MetricUnit: "us", Stat: "p99", URL: "http://127.0.0.1:8002"}, "", "triton_summary.prom", "20", "50"},
		{"named_by_bucket_series", Options{Metric: ":tensorflow:serving:request_latency_bucket", MetricUnit: "us", URL: "http://127.0.0.1:8501"}, "", "tfserving.prom", "", ""},
		{"missing_metric", Options{Metric: "request_predict_seconds", URL: "http://127.0.0.1:8080"}, "", "tfserving.prom", "", ""},
		{"no_matching_series", Options{Server: "kserve", Model: "iris", URL: "http://127.0.0.1:8080", Metric: ":tensorflow:serving:request_latency"}, "", "tfserving.prom", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Mode = "scrape"
			o.URL, o.Server, o.Model, o.Metric, o.MetricUnit, o.Stat, o.Quantile = tt.opts.URL, tt.opts.Server, tt.opts.Model, tt.opts.Metric, tt.opts.MetricUnit, tt.opts.Stat, tt.opts.Quantile
			if tt.opts.PerfUnit != "" {
				o.PerfUnit = tt.opts.PerfUnit
			}
			th := plugin.Thresholds{}
			if tt.warn != "" {
				th.Warning = plugin.MustRange(tt.warn)
			}
			if tt.crit != "" {
				th.Critical = plugin.MustRange(tt.crit)
			}
			got := renderScrape(t, o, th, tt.before, tt.after, t0)
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// renderScrape evaluates one scrape over exposition files, as scrape()
// does after fetching, and renders the result as the plugin prints it.
func renderScrape(t *testing.T, o Options, th plugin.Thresholds, before, after string, t0 time.Time) string {
	t.Helper()
	ev, err := newEvaluation(o, th)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := newSelection(o, ev)
	if err != nil {
		return plugin.Unknownf("%v", err).Render("MODEL_LATENCY")
	}
	read := func(name string, at time.Time) (snapshot, string, string, error) {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		families, err := parseFamilies(f, "text/plain; version=0.0.4")
		if err != nil {
			t.Fatalf("parsing %s: %v", name, err)
		}
		snap, kind, mf, err := sel.snapshotOf(families, at)
		if err != nil {
			return snap, "", "", err
		}
		return snap, kind, mf.GetName(), nil
	}
	var prev *snapshot
	if before != "" {
		p, _, _, err := read(before, t0)
		if err != nil {
			t.Fatalf("previous snapshot: %v", err)
		}
		prev = &p
	}
	cur, kind, family, err := read(after, t0.Add(5*time.Minute))
	if err != nil {
		return plugin.Unknownf("%v", err).Render("MODEL_LATENCY")
	}
	return evaluateWindow(sel, kind, family, cur, prev, ev).Render("MODEL_LATENCY")
}
