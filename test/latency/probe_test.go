package latency

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestProbePercentiles: the probe's percentiles lie within a stated
// tolerance of the fixture's configured latency distribution. Lower bounds
// are tight (a request cannot be faster than the sleep it asks for, or than
// the distribution allows); upper bounds allow sampling error and a loaded,
// shared test machine, more for tail statistics, which a few slow
// scheduler wake-ups move. The probe's own overhead is measured by
// BenchmarkProbe.
func TestProbePercentiles(t *testing.T) {
	tests := []struct {
		name    string
		latency string
		samples int
		conc    int
		// Expected values in ms and the tolerance around them.
		checks []struct {
			stat   string
			lo, hi float64
		}
	}{
		{"fixed 20ms", "fixed:20ms", 40, 4, []struct {
			stat   string
			lo, hi float64
		}{
			{"min", 20, 25}, {"p50", 20, 25}, {"p95", 20, 45},
		}},
		// Uniform 10..30 ms: p50 20, p90 28; ±3 ms sampling at n=200.
		{"uniform 10-30ms", "uniform:10ms:30ms", 200, 8, []struct {
			stat   string
			lo, hi float64
		}{
			{"min", 10, 14}, {"p50", 17, 24}, {"p90", 25, 36},
		}},
		// Log-normal, median 20 ms, sigma 0.5: p50 20, p90 20·e^(0.5·1.2816) = 37.9.
		{"lognormal 20ms 0.5", "lognormal:20ms:0.5", 300, 16, []struct {
			stat   string
			lo, hi float64
		}{
			{"p50", 17.5, 24}, {"p90", 32, 50},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := startServer(t, "--latency", tt.latency, "--seed", "7")
			out, code := runCheck(t, v2Args(url, "--samples", fmt.Sprint(tt.samples), "--concurrency", fmt.Sprint(tt.conc), "-w", "1000", "-c", "2000")...)
			if code != 0 {
				t.Fatalf("exit %d, want 0:\n%s", code, out)
			}
			wantLine(t, out, fmt.Sprintf(`^MODEL_LATENCY OK - p95 [0-9.]+ ms over %d requests to model simple \(V2 infer\)$`, tt.samples))
			perf := perfdata(t, out)
			for _, c := range tt.checks {
				within(t, c.stat, perf[c.stat], c.lo, c.hi, out)
			}
			if perf["error_rate"] != 0 || perf["failed"] != 0 {
				t.Errorf("error_rate %v, failed %v; want 0, 0", perf["error_rate"], perf["failed"])
			}
		})
	}
}

// TestProbeThresholds: -w/-c in milliseconds apply to --stat, and perfdata
// carries them in the chosen unit.
func TestProbeThresholds(t *testing.T) {
	url := startServer(t, "--latency", "fixed:30ms")
	out, code := runCheck(t, v2Args(url, "--samples", "8", "--concurrency", "4", "--stat", "p50", "-w", "10", "-c", "1000")...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (WARNING):\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY WARNING - p50 3[0-9.]+ ms over 8 requests`)
	out, code = runCheck(t, v2Args(url, "--samples", "4", "--stat", "max", "-w", "10", "-c", "20", "--perf-unit", "s")...)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (CRITICAL):\n%s", code, out)
	}
	// Thresholds follow the value into seconds.
	wantLine(t, out, `^MODEL_LATENCY CRITICAL - max 3[0-9.]+ ms`)
	if p := perfdata(t, out)["max"]; p < 0.03 || p > 0.1 {
		t.Errorf("max perfdata %v, want seconds around 0.03\n%s", p, out)
	}
	if !regexp.MustCompile(`max=0\.0[0-9]+s;0\.01;0\.02;0 `).MatchString(firstLine(out)) {
		t.Errorf("max perfdata does not carry thresholds in seconds: %s", firstLine(out))
	}
}

// TestProbeV1: TF-Serving style :predict, its status endpoint, and a JSON
// field check on the answer.
func TestProbeV1(t *testing.T) {
	url := startServer(t, "--model", "half_plus_two", "--latency", "fixed:2ms")
	out, code := runCheck(t, "-u", url, "--v1-model", "half_plus_two", "--data", `{"instances":[1.0,2.0,5.0]}`,
		"--json-field", "predictions=[1,2,5]", "--samples", "5")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY OK - p95 [0-9.]+ ms over 5 requests to model half_plus_two \(V1 predict\)$`)

	notReady := startServer(t, "--model", "half_plus_two", "--not-ready")
	out, code = runCheck(t, "-u", notReady, "--v1-model", "half_plus_two", "--data", `{"instances":[1.0]}`)
	if code != 2 {
		t.Fatalf("exit %d, want 2:\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY CRITICAL - model half_plus_two not ready \(no version AVAILABLE\)$`)
}

// TestProbePlainJSON: any JSON endpoint, with method, body file and a
// header.
func TestProbePlainJSON(t *testing.T) {
	url := startServer(t, "--latency", "fixed:1ms")
	out, code := runCheck(t, "-u", url+"/v2/models/simple/infer", "--data", inferBody(3), "--header", "X-Request-Id: vigil",
		"--json-field", "model_name=simple", "--json-field", "outputs.0.data.0=1", "--samples", "5")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY OK - p95 [0-9.]+ ms over 5 requests to POST http://127\.0\.0\.1:[0-9]+/v2/models/simple/infer$`)
	if p := perfdata(t, out)["min"]; p < 3 {
		t.Errorf("min %v ms, want >= 3 (the latency the request asked for)", p)
	}
	body := filepath.Join(t.TempDir(), "request.json")
	if err := os.WriteFile(body, []byte(inferBody(2)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = runCheck(t, "-u", url, "--v2-model", "simple", "--data-file", body, "--samples", "3", "--stat", "min", "-c", "2:")
	if code != 0 {
		t.Fatalf("--data-file: exit %d:\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY OK - min [0-9.]+ ms over 3 requests to model simple \(V2 infer\)$`)
	out, code = runCheck(t, "-u", url+"/v2/health/ready", "--samples", "3")
	if code != 0 {
		t.Fatalf("GET probe: exit %d:\n%s", code, out)
	}
	wantLine(t, out, `to GET http://127\.0\.0\.1:[0-9]+/v2/health/ready$`)
}
