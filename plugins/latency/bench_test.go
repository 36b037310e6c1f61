package latency

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
	"github.com/vigil-monitoring/vigil/test/fixtures/modelserver"
)

// BenchmarkProbe measures what the issue bounds: the probe's own overhead
// per request on loopback, and the wall time of 1000 samples at
// concurrency 16 against a 5 ms model. One op is one set of samples.
//
// Overhead is reported two ways: measured latency minus the fixture's
// configured latency ("vs-configured", which also holds the fixture's sleep
// overshooting on a loaded machine), and, at concurrency 1 where requests
// pair up in order, measured latency minus the time the fixture reports it
// spent in its Server-Timing header ("vs-server": the probe, net/http and
// loopback alone).
func BenchmarkProbe(b *testing.B) {
	for _, bc := range []struct {
		latency     time.Duration
		samples     int
		concurrency int
	}{
		{0, 1000, 1},
		{5 * time.Millisecond, 200, 1},
		{5 * time.Millisecond, 1000, 16},
	} {
		b.Run(fmt.Sprintf("latency=%s/samples=%d/concurrency=%d", bc.latency, bc.samples, bc.concurrency), func(b *testing.B) {
			dist, err := modelserver.ParseDistribution("fixed:" + bc.latency.String())
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(modelserver.New(modelserver.Config{Model: "simple", Latency: dist}))
			defer srv.Close()
			o := DefaultOptions()
			o.URL, o.V2Model, o.Inputs = srv.URL, "simple", []string{"input0:FP32:1,4:0.1,0.2,0.3,0.4"}
			o.Samples, o.Concurrency = bc.samples, bc.concurrency
			t, err := buildTarget(o)
			if err != nil {
				b.Fatal(err)
			}
			client, err := newHTTPClient(o, bc.concurrency)
			if err != nil {
				b.Fatal(err)
			}
			headers, _ := requestHeaders(o)
			headers.Set("Content-Type", "application/json")
			timing := &serverTiming{base: client.Transport}
			client.Transport = timing
			p := &prober{client: client, target: t, headers: headers, expectJSON: true, expect: []int{200}}
			var overhead, vsServer []float64
			var wall []float64
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				samples := p.run(context.Background(), bc.samples, bc.concurrency)
				wall = append(wall, float64(time.Since(start))/float64(time.Millisecond))
				server := timing.take()
				for i, s := range samples {
					if s.err != nil {
						b.Fatalf("request failed: %v", s.err)
					}
					ms := float64(s.dur) / float64(time.Millisecond)
					overhead = append(overhead, ms-float64(bc.latency)/float64(time.Millisecond))
					if bc.concurrency == 1 && len(server) == len(samples) {
						vsServer = append(vsServer, ms-server[i])
					}
				}
			}
			b.StopTimer()
			client.CloseIdleConnections()
			at := func(xs []float64, q float64) float64 {
				slices.Sort(xs)
				return xs[int(q*float64(len(xs)-1))]
			}
			b.ReportMetric(at(overhead, 0.5), "vs-configured-p50-ms")
			b.ReportMetric(at(overhead, 0.99), "vs-configured-p99-ms")
			if len(vsServer) > 0 {
				b.ReportMetric(at(vsServer, 0.5), "vs-server-p50-ms")
				b.ReportMetric(at(vsServer, 0.99), "vs-server-p99-ms")
			}
			b.ReportMetric(slices.Max(wall), "wall-max-ms")
		})
	}
}

// BenchmarkCheckRun is one complete in-process run as the agent would do
// it: flags, ready check, 100 samples at concurrency 8, rendering.
func BenchmarkCheckRun(b *testing.B) {
	srv := httptest.NewServer(modelserver.New(modelserver.Config{Model: "simple"}))
	defer srv.Close()
	args := []string{"-u", srv.URL, "--v2-model", "simple", "--input", "x:FP32:1:1", "--samples", "100", "--concurrency", "8"}
	for b.Loop() {
		var out nopWriter
		if st := plugin.Run(context.Background(), New(), args, &out, &out); st != plugin.OK {
			b.Fatalf("status %v", st)
		}
	}
}

// serverTiming records the duration each answer's Server-Timing header
// reports, in the order the answers arrive.
type serverTiming struct {
	base http.RoundTripper
	mu   sync.Mutex
	ms   []float64
}

func (s *serverTiming) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err == nil {
		_, dur, _ := strings.Cut(resp.Header.Get("Server-Timing"), "dur=")
		if v, perr := strconv.ParseFloat(dur, 64); perr == nil {
			s.mu.Lock()
			s.ms = append(s.ms, v)
			s.mu.Unlock()
		}
	}
	return resp, err
}

func (s *serverTiming) take() []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.ms
	s.ms = nil
	return out
}

type nopWriter struct{}

func (*nopWriter) Write(p []byte) (int, error) { return len(p), nil }
