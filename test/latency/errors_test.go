package latency

import (
	"fmt"
	"testing"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// TestProbeErrors: each way a probe fails gets its own message and state.
func TestProbeErrors(t *testing.T) {
	failing := startServer(t, "--error-rate", "1")
	flaky := startServer(t, "--error-rate", "0.3", "--seed", "3", "--latency", "fixed:1ms")
	notReady := startServer(t, "--not-ready")
	badJSON := startServer(t, "--bad-json", "--latency", "fixed:1ms")
	slow := startServer(t, "--latency", "fixed:5s")
	ok := startServer(t, "--latency", "fixed:1ms")
	closed := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))

	tests := []struct {
		name string
		args []string
		code int
		line string // pattern for the status line
	}{
		{"all requests fail", v2Args(failing, "--samples", "10"), 2,
			`^MODEL_LATENCY CRITICAL - all 10 requests to model simple \(V2 infer\) failed: HTTP 500: \{"error":"injected failure"\}$`},
		{"some fail, over the default budget of 0", v2Args(flaky, "--samples", "40", "--concurrency", "4"), 2,
			`^MODEL_LATENCY CRITICAL - p95 [0-9.]+ ms over [0-9]+ requests to model simple \(V2 infer\), [0-9]+ of 40 failed \([0-9]+ unexpected HTTP status\), more than --max-errors 0$`},
		{"some fail, within a 60% budget", v2Args(flaky, "--samples", "40", "--concurrency", "4", "--max-errors", "60%"), 0,
			`^MODEL_LATENCY OK - p95 [0-9.]+ ms over [0-9]+ requests to model simple \(V2 infer\), [0-9]+ of 40 failed \([0-9]+ unexpected HTTP status\)$`},
		{"expected error status accepted", v2Args(failing, "--samples", "3", "--expect-status", "500", "--json-field", "error=injected failure"), 0,
			`^MODEL_LATENCY OK - p95 [0-9.]+ ms over 3 requests`},
		{"model not ready", v2Args(notReady), 2,
			`^MODEL_LATENCY CRITICAL - model simple not ready \(HTTP 503\)$`},
		{"unknown model", []string{"-u", ok, "--v2-model", "nosuch", "--input", "x:FP32:1:1"}, 2,
			`^MODEL_LATENCY CRITICAL - model nosuch not ready \(HTTP 404\)$`},
		{"answer not JSON", v2Args(badJSON, "--samples", "3"), 2,
			`^MODEL_LATENCY CRITICAL - all 3 requests to model simple \(V2 infer\) failed: answer is not JSON \(text/html\): <html><body>upstream says hello</body></html>$`},
		{"JSON field differs", v2Args(ok, "--samples", "3", "--json-field", "model_name=other"), 2,
			`^MODEL_LATENCY CRITICAL - all 3 requests to model simple \(V2 infer\) failed: field model_name is simple, want other$`},
		{"connection refused", v2Args(closed), 2,
			`^MODEL_LATENCY CRITICAL - connection refused: checking that model simple is ready: Get "http://127\.0\.0\.1:[0-9]+/v2/models/simple/ready": dial tcp 127\.0\.0\.1:[0-9]+: connect: connection refused$`},
		{"connection refused, own state", v2Args(closed, "--refused-state", "WARNING"), 1,
			`^MODEL_LATENCY WARNING - connection refused: `},
		{"connection refused without ready check", v2Args(closed, "--skip-ready", "--samples", "2"), 2,
			`^MODEL_LATENCY CRITICAL - all 2 requests to model simple \(V2 infer\) failed: Post "http://127\.0\.0\.1:[0-9]+/v2/models/simple/infer": dial tcp 127\.0\.0\.1:[0-9]+: connect: connection refused$`},
		{"timeout", v2Args(slow, "--samples", "2", "-t", "1"), 2,
			`^MODEL_LATENCY CRITICAL - timed out: none of 2 requests to model simple \(V2 infer\) answered in time$`},
		{"timeout, own state", v2Args(slow, "--samples", "2", "-t", "1", "--timeout-state", "WARNING"), 1,
			`^MODEL_LATENCY WARNING - timed out: none of 2 requests`},
		{"bad input spec", []string{"-u", ok, "--v2-model", "simple", "--input", "x:FP32:2:1"}, 3,
			`^MODEL_LATENCY UNKNOWN - --input "x:FP32:2:1": shape \[2\] holds 2 values, 1 given$`},
		{"no URL", []string{"--v2-model", "simple"}, 3, `^MODEL_LATENCY UNKNOWN - -u/--url is required$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runCheck(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, out)
			}
			wantLine(t, out, tt.line)
		})
	}
}
