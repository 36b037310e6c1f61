package latency

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/vigil-monitoring/vigil/test/dockertest"
)

// TestFixtureInDocker runs the fixture model server as a container on the
// Docker engine and probes and scrapes it through its port published on
// 127.0.0.1.
func TestFixtureInDocker(t *testing.T) {
	cli := dockertest.Client(t)
	tag := dockertest.BuildImage(t, cli, serverPkg, "vigil-test-modelserver:latest", "EXPOSE 8080")
	port := nat.Port("8080/tcp")
	id := dockertest.Run(t, cli, "vigil-test-modelserver",
		&container.Config{
			Image:        tag,
			Cmd:          []string{"--listen", ":8080", "--model", "iris", "--latency", "fixed:10ms"},
			ExposedPorts: nat.PortSet{port: struct{}{}},
		},
		&container.HostConfig{PortBindings: nat.PortMap{port: {{HostIP: "127.0.0.1", HostPort: ""}}}},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatalf("inspecting the container: %v", err)
	}
	bindings := info.NetworkSettings.Ports[port]
	if len(bindings) == 0 {
		t.Fatalf("port %s is not published: %+v", port, info.NetworkSettings.Ports)
	}
	url := "http://127.0.0.1:" + bindings[0].HostPort
	waitReady(ctx, t, url+"/v2/health/ready")

	out, code := runCheck(t, "-u", url, "--v2-model", "iris", "--input", "input-0:FP32:1,4:5.1,3.5,1.4,0.2",
		"--samples", "40", "--concurrency", "4", "-w", "100", "-c", "500")
	if code != 0 {
		t.Fatalf("probe: exit %d\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY OK - p95 [0-9.]+ ms over 40 requests to model iris \(V2 infer\)$`)
	perf := perfdata(t, out)
	// The container's 10 ms, plus docker-proxy or NAT on the way in.
	within(t, "min", perf["min"], 10, 20, out)
	within(t, "p50", perf["p50"], 10, 25, out)

	out, code = runCheck(t, "--mode", "scrape", "--server", "mlserver", "-u", url, "--state-file", filepath.Join(t.TempDir(), "state"))
	if code != 0 {
		t.Fatalf("scrape: exit %d\n%s", code, out)
	}
	wantLine(t, out, `^MODEL_LATENCY OK - p95 [0-9.]+ ms from rest_server_request_duration_seconds, 40 requests over the server's lifetime \(first run, no earlier state\)$`)
	scraped := perfdata(t, out)
	// The server times each request inside the client's timing of it, so
	// its exact mean (Δsum/Δcount) lies between the configured 10 ms and
	// the probe's mean; its p95 is at least the 10 ms bucket's bound.
	within(t, "scraped mean", scraped["mean"], 10, perf["mean"], out)
	within(t, "scraped p95", scraped["p95"], 10, 1000, out)
}

// waitReady polls a health URL until it answers 200.
func waitReady(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not ready: %v", url, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
