package latency

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// send makes n V2 requests whose latency the request itself fixes, through
// the check's own plain JSON probe.
func send(t *testing.T, url string, n int, latencyMS float64) {
	t.Helper()
	out, code := runCheck(t, "-u", url+"/v2/models/simple/infer", "--data", inferBody(latencyMS),
		"--samples", strconv.Itoa(n), "--concurrency", "4")
	if code != 0 {
		t.Fatalf("sending %d requests: exit %d\n%s", n, code, out)
	}
}

// TestScrapeWindow: over two runs, scrape mode gives the quantile of the
// observations made between them, not of the lifetime; a restart (counter
// reset) is handled; an empty window is said so.
func TestScrapeWindow(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	scrape := func(url string, extra ...string) (string, int) {
		return runCheck(t, append([]string{"--mode", "scrape", "--server", "mlserver", "-u", url, "--state-file", state}, extra...)...)
	}
	url := startServer(t)

	// 20 slow observations, in (0.075, 0.1] s.
	send(t, url, 20, 80)
	out, code := scrape(url)
	if code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY OK - p95 (9[0-9]|100)\.?[0-9]* ms from rest_server_request_duration_seconds, 20 requests over the server's lifetime \(first run, no earlier state\)$`)
	// Lifetime p95: rank 19 of 20 in (75, 100] ms (prometheus_client's
	// default buckets): 75 + 25·19/20.
	if p := perfdata(t, out)["p95"]; p != 98.75 {
		t.Errorf("lifetime p95 = %v ms, want 98.75\n%s", p, out)
	}

	// 20 fast ones, all in the lowest bucket (0, 0.005] s. Over the window
	// p95 is 0 + 5·19/20 ms, where the lifetime's p95 would be ~99 ms.
	send(t, url, 20, 1)
	out, code = scrape(url, "-w", "50")
	if code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY OK - p95 4\.75 ms from rest_server_request_duration_seconds, 20 requests over the last [0-9.]+m?s$`)
	perf := perfdata(t, out)
	if perf["p95"] != 4.75 || perf["requests"] != 20 {
		t.Errorf("window p95 = %v ms over %v requests, want 4.75 over 20\n%s", perf["p95"], perf["requests"], out)
	}
	out, _ = scrape(url, "--stat", "p50")
	if !strings.Contains(firstLine(out), "no requests over the last") {
		t.Errorf("empty window: %s", firstLine(out))
	}
	out, code = scrape(url, "--no-traffic-state", "OK")
	if code != 0 {
		t.Errorf("empty window with --no-traffic-state OK: exit %d\n%s", code, out)
	}

}

// TestScrapeCounterReset restarts the server between two runs on the same
// address.
func TestScrapeCounterReset(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	url, stop := startServerOn(t, "127.0.0.1:0")
	addr := strings.TrimPrefix(url, "http://")
	send(t, url, 30, 1)
	if out, code := runCheck(t, "--mode", "scrape", "--server", "mlserver", "-u", url, "--state-file", state); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	stop()
	// The same address, so the same selection and state file; every
	// counter starts again from zero, below the previous run's values.
	url, _ = startServerOn(t, addr)
	send(t, url, 5, 80)
	send(t, url, 5, 1)
	out, code := runCheck(t, "--mode", "scrape", "--server", "mlserver", "-u", url, "--state-file", state, "--stat", "p50")
	if code != 0 {
		t.Fatalf("after restart: exit %d\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY OK - p50 5\.00 ms from .*, 10 requests over the last`)
	if !strings.Contains(out, "counter reset in 1 series since the previous run") {
		t.Errorf("reset not reported:\n%s", out)
	}
}

// TestScrapeTritonMean: the Triton preset's mean from its cumulative
// microsecond counters over the window.
func TestScrapeTritonMean(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	url := startServer(t)
	// No --mode: --server implies scrape.
	args := []string{"--server", "triton", "--model", "simple", "-u", url, "--state-file", state}
	send(t, url, 4, 100)
	if out, code := runCheck(t, args...); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	send(t, url, 10, 20)
	out, code := runCheck(t, append(args, "-w", "15")...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (mean above 15 ms):\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY WARNING - mean 2[0-9.]+ ms from nv_inference_request_duration_us / nv_inference_request_success, 10 requests over the last`)
	within(t, "window mean", perfdata(t, out)["mean"], 20, 24, out)
}

// TestScrapeMissing: a metric that is not there is UNKNOWN and lists the
// histograms that are; a model the preset cannot select by is refused.
func TestScrapeMissing(t *testing.T) {
	url := startServer(t)
	// A histogram has no series, and so no family on the page, until it
	// has observed something.
	send(t, url, 1, 1)
	out, code := runCheck(t, "--mode", "scrape", "--server", "kserve", "-u", url, "--state-file", filepath.Join(t.TempDir(), "s"))
	if code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	wantLine(t, out, `^MODEL_LATENCY UNKNOWN - metric request_predict_seconds not found, histograms and summaries there: model_infer_request_duration, rest_server_request_duration_seconds$`)
	out, code = runCheck(t, "--mode", "scrape", "--server", "mlserver", "--model", "simple", "-u", url)
	if code != 3 || !strings.Contains(out, "MLServer's latency histogram is per route, not per model") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	out, code = runCheck(t, "--mode", "scrape", "--metric", "model_infer_request_duration", "--label", "model=simple", "-u", url, "--state-file", filepath.Join(t.TempDir(), "s"))
	if code != 3 || !strings.Contains(out, "summary model_infer_request_duration has no quantile 0.95 (it has none), use --stat mean") {
		t.Errorf("summary without quantiles: exit %d:\n%s", code, out)
	}
}
