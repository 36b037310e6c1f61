package drift

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

var latencyBounds = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"}

// exposition renders a histogram family with one series per path, the way
// prometheus_client prints it (cumulative buckets, _sum, _count, _created).
func exposition(series map[string][]int) string {
	var b strings.Builder
	b.WriteString("# HELP request_seconds Request latency.\n# TYPE request_seconds histogram\n")
	for path, counts := range series {
		cum := 0
		for i, le := range latencyBounds {
			cum += counts[i]
			fmt.Fprintf(&b, "request_seconds_bucket{le=%q,path=%q} %d\n", le, path, cum)
		}
		fmt.Fprintf(&b, "request_seconds_sum{path=%q} 12.5\nrequest_seconds_count{path=%q} %d\n", path, path, cum)
	}
	b.WriteString("# HELP request_seconds_created Created.\n# TYPE request_seconds_created gauge\nrequest_seconds_created{path=\"/infer\"} 1.7e9\n")
	return b.String()
}

func add(a, b []int) []int {
	out := make([]int, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

func TestHistogramWindow(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	refCounts := []int{100, 300, 800, 1200, 900, 400, 200, 80, 20}
	base := []int{1000, 3000, 8000, 12000, 9000, 4000, 2000, 800, 200}
	slower := []int{10, 40, 150, 400, 700, 900, 500, 250, 50} // the window's own requests
	health := []int{5000, 0, 0, 0, 0, 0, 0, 0, 0}

	ref := write("ref.prom", exposition(map[string][]int{"/infer": refCounts}))
	basePath := write("base.prom", exposition(map[string][]int{"/infer": base, "/health": health}))
	nowPath := write("now.prom", exposition(map[string][]int{"/infer": add(base, slower), "/health": add(health, health)}))

	opts := func(h HistogramOptions, method string) Options {
		h.Metric = "request_seconds"
		return Options{Reference: ref, Current: nowPath, Format: FormatHistogram, Method: method, Histogram: h}
	}
	res := Check(context.Background(), opts(HistogramOptions{CurrentBase: basePath, Labels: []string{"path=/infer"}}, MethodPSI), plugin.Thresholds{})
	// Window = slower; compared with refCounts by bucket.
	wantPSI := PSI(floats(refCounts), floats(slower), DefaultPSIEpsilon)
	if res.Status != plugin.Critical || len(res.Perfdata) == 0 || !closeRel(res.Perfdata[0].Value, wantPSI, 1e-12) {
		t.Fatalf("got %s, want PSI %g", res.Render("DRIFT"), wantPSI)
	}
	if !strings.Contains(res.Details[0], "reference 4000 / current 3000 values") {
		t.Errorf("detail %q", res.Details[0])
	}

	// Auto: 3000 observations → Jensen–Shannon.
	res = Check(context.Background(), opts(HistogramOptions{CurrentBase: basePath, Labels: []string{"path=/infer"}}, MethodAuto), plugin.Thresholds{})
	if res.Perfdata[0].Label != "request_seconds_jensenshannon" || !closeRel(res.Perfdata[0].Value, JensenShannon(floats(refCounts), floats(slower)), 1e-12) {
		t.Errorf("auto: %s", res.Render("DRIFT"))
	}

	// KS needs raw values.
	res = Check(context.Background(), opts(HistogramOptions{CurrentBase: basePath}, MethodKS), plugin.Thresholds{})
	if res.Status != plugin.Unknown || !strings.Contains(res.Summary, "needs raw values, not histogram buckets") {
		t.Errorf("ks: %s", res.Render("DRIFT"))
	}

	// State file: the first run saves the baseline, the next measures since.
	state := filepath.Join(dir, "state.json")
	h := HistogramOptions{StateFile: state, Labels: []string{"path=/infer"}}
	o := opts(h, MethodHellinger)
	o.Current = basePath
	res = Check(context.Background(), o, plugin.Thresholds{})
	if res.Status != plugin.Unknown || !strings.Contains(res.Summary, "first run") {
		t.Fatalf("first run: %s", res.Render("DRIFT"))
	}
	o.Current = nowPath
	res = Check(context.Background(), o, plugin.Thresholds{})
	if res.Status == plugin.Unknown || !closeRel(res.Perfdata[0].Value, Hellinger(floats(refCounts), floats(slower)), 1e-12) {
		t.Fatalf("second run: %s", res.Render("DRIFT"))
	}
	// A third run with no new requests: an empty window.
	res = Check(context.Background(), o, plugin.Thresholds{})
	if res.Status != plugin.Unknown || !strings.Contains(res.Summary, "no values in current window") {
		t.Errorf("idle run: %s", res.Render("DRIFT"))
	}
	// Counter reset (server restarted): the whole new scrape is the window.
	o.Current = write("restarted.prom", exposition(map[string][]int{"/infer": slower}))
	res = Check(context.Background(), o, plugin.Thresholds{})
	if res.Status == plugin.Unknown || !closeRel(res.Perfdata[0].Value, Hellinger(floats(refCounts), floats(slower)), 1e-12) {
		t.Errorf("after reset: %s", res.Render("DRIFT"))
	}

	// Errors: unknown metric, not a histogram, missing window start.
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Reference: ref, Current: nowPath, Format: FormatHistogram, Histogram: HistogramOptions{Metric: "nope", CurrentBase: basePath}}, `no metric "nope" (histograms here: request_seconds)`},
		{Options{Reference: ref, Current: nowPath, Format: FormatHistogram, Histogram: HistogramOptions{Metric: "request_seconds_created", CurrentBase: basePath}}, "is a gauge, not a histogram"},
		{Options{Reference: ref, Current: nowPath, Format: FormatHistogram, Histogram: HistogramOptions{Metric: "request_seconds"}}, "needs --current-base or --state-file"},
		{Options{Reference: ref, Current: nowPath, Format: FormatHistogram, Histogram: HistogramOptions{Metric: "request_seconds", CurrentBase: basePath, Labels: []string{"path=/nowhere"}}}, "no series"},
	} {
		res := Check(context.Background(), c.o, plugin.Thresholds{})
		if res.Status != plugin.Unknown || !strings.Contains(res.Summary, c.want) {
			t.Errorf("got %q, want it to contain %q", res.Summary, c.want)
		}
	}
}

func floats(x []int) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
