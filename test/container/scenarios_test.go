package container_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	containercheck "github.com/vigil-monitoring/vigil/plugins/container"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
	"github.com/vigil-monitoring/vigil/test/dockertest"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

// TestScenarios runs every container scenario in parallel against one
// payload image; each asserts the exit code and the exact output lines.
func TestScenarios(t *testing.T) {
	cli, img := setup(t)
	testenv.Build(t, "plugins/cmd/check_container")

	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		n := name("healthy")
		id := dockertest.Run(t, cli, n, withHealth(payload(img), 300*time.Millisecond, 3), nil)
		waitFor(t, cli, id, "healthy", 20*time.Second, healthIs("healthy"))
		expect(t, runCheck(t, nil, "--name", n), 0,
			"CONTAINER OK - vigil-test-healthy running, healthy, up <t>, restarts 0 | containers=1;;;0 vigil-test-healthy_restarts=0c vigil-test-healthy_uptime=<t>;;;0",
			"[OK] vigil-test-healthy <id>: running, healthy, up <t>, restarts 0")
		// -v adds the engine, the negotiated API version and stage times.
		res := runCheck(t, nil, "--name", n, "-v")
		res.out = regexp.MustCompile(`\d+ms\b`).ReplaceAllString(res.out, "<ms>")
		expect(t, res, 0,
			"CONTAINER OK - vigil-test-healthy running, healthy, up <t>, restarts 0 | containers=1;;;0 vigil-test-healthy_restarts=0c vigil-test-healthy_uptime=<t>;;;0",
			"[OK] vigil-test-healthy <id>: running, healthy, up <t>, restarts 0",
			fmt.Sprintf("engine %s API %s; listing containers <ms>, inspecting containers <ms>", cli.DaemonHost(), cli.ClientVersion()))
		// The same container selected by id prefix.
		expect(t, runCheck(t, nil, "--id", id[:8]), 0,
			"CONTAINER OK - vigil-test-healthy running, healthy, up <t>, restarts 0 | containers=1;;;0 vigil-test-healthy_restarts=0c vigil-test-healthy_uptime=<t>;;;0",
			"[OK] vigil-test-healthy <id>: running, healthy, up <t>, restarts 0")
	})

	t.Run("starting", func(t *testing.T) {
		t.Parallel()
		n := name("starting")
		// The first probe runs one interval after the start: an hour.
		dockertest.Run(t, cli, n, withHealth(payload(img), time.Hour, 3), nil)
		expect(t, runCheck(t, nil, "--name", n), 0,
			"CONTAINER OK - vigil-test-starting running, starting, up <t>, restarts 0 | containers=1;;;0 vigil-test-starting_restarts=0c vigil-test-starting_uptime=<t>;;;0",
			"[OK] vigil-test-starting <id>: running, starting, up <t>, restarts 0")
		time.Sleep(1500 * time.Millisecond)
		res := runCheck(t, nil, "--name", n, "--start-grace", "1")
		expect(t, res, 1,
			"CONTAINER WARNING - 1 of 1 still starting: vigil-test-starting health still starting after <t> (grace <t>) | containers=1;;;0 vigil-test-starting_restarts=0c vigil-test-starting_uptime=<t>;;;0",
			"[WARNING] vigil-test-starting <id>: health still starting after <t> (grace <t>); running, up <t>, restarts 0")
		if !strings.Contains(res.out, "(grace 1s)") {
			t.Errorf("the grace given is not quoted: %s", res.out)
		}
	})

	t.Run("unhealthy", func(t *testing.T) {
		t.Parallel()
		n := name("unhealthy")
		id := dockertest.Run(t, cli, n, withHealth(payload(img, "-close-after", "1s"), 300*time.Millisecond, 2), nil)
		waitFor(t, cli, id, "unhealthy", 20*time.Second, healthIs("unhealthy"))
		res := runCheck(t, nil, "--name", n)
		expect(t, res, 2,
			`CONTAINER CRITICAL - 1 of 1 unhealthy: vigil-test-unhealthy unhealthy (<n> failed probes: "dial tcp 127.0.0.1:8080: connect: connection refused") | containers=1;;;0 vigil-test-unhealthy_restarts=0c vigil-test-unhealthy_uptime=<t>;;;0`,
			`[CRITICAL] vigil-test-unhealthy <id>: unhealthy (<n> failed probes: "dial tcp 127.0.0.1:8080: connect: connection refused"); running, up <t>, restarts 0`)
		if m := regexp.MustCompile(`\((\d+) failed probes`).FindStringSubmatch(res.out); m == nil || atoi(t, m[1]) < 2 {
			t.Errorf("failing streak below the 2 retries: %v", m)
		}
	})

	t.Run("exited", func(t *testing.T) {
		t.Parallel()
		n1, n0 := name("exited-1"), name("exited-0")
		id1 := dockertest.Run(t, cli, n1, payload(img, "-exit-after", "100ms", "-exit-code", "1"), nil)
		id0 := dockertest.Run(t, cli, n0, payload(img, "-exit-after", "100ms", "-exit-code", "0"), nil)
		waitFor(t, cli, id1, "exited", 20*time.Second, stateIs("exited"))
		waitFor(t, cli, id0, "exited", 20*time.Second, stateIs("exited"))
		expect(t, runCheck(t, nil, "--name", n1), 2,
			"CONTAINER CRITICAL - 1 of 1 exited: vigil-test-exited-1 exited 1 | containers=1;;;0 vigil-test-exited-1_restarts=0c vigil-test-exited-1_uptime=<t>;;;0",
			"[CRITICAL] vigil-test-exited-1 <id>: exited 1; finished <time>, restarts 0")
		// A finished batch job is fine once "exited" is allowed; a failed
		// one is not.
		expect(t, runCheck(t, nil, "--name", n0, "--name", n1, "--allow-state", "exited"), 2,
			"CONTAINER CRITICAL - 1 of 2 exited: vigil-test-exited-1 exited 1 | containers=2;;;0 vigil-test-exited-0_restarts=0c vigil-test-exited-0_uptime=<t>;;;0 vigil-test-exited-1_restarts=0c vigil-test-exited-1_uptime=<t>;;;0",
			"[CRITICAL] vigil-test-exited-1 <id>: exited 1; finished <time>, restarts 0",
			"[OK] vigil-test-exited-0 <id>: exited 0, finished <time>, restarts 0")
		expect(t, runCheck(t, nil, "--name", n0, "--allow-state", "exited"), 0,
			"CONTAINER OK - vigil-test-exited-0 exited 0, finished <time>, restarts 0 | containers=1;;;0 vigil-test-exited-0_restarts=0c vigil-test-exited-0_uptime=<t>;;;0",
			"[OK] vigil-test-exited-0 <id>: exited 0, finished <time>, restarts 0")
	})

	t.Run("oom-killed", func(t *testing.T) {
		t.Parallel()
		n := name("oom")
		id := dockertest.Run(t, cli, n, payload(img, "-alloc-mb", "8"),
			&container.HostConfig{Resources: container.Resources{Memory: 32 << 20, MemorySwap: 32 << 20}})
		waitFor(t, cli, id, "exited", 30*time.Second, stateIs("exited"))
		expect(t, runCheck(t, nil, "--name", n), 2,
			"CONTAINER CRITICAL - 1 of 1 OOM-killed: vigil-test-oom OOM-killed (exited 137) | containers=1;;;0 vigil-test-oom_restarts=0c vigil-test-oom_uptime=<t>;;;0",
			"[CRITICAL] vigil-test-oom <id>: OOM-killed (exited 137); finished <time>, restarts 0")
	})

	t.Run("crash-loop", func(t *testing.T) {
		t.Parallel()
		n := name("crashloop")
		id := dockertest.Run(t, cli, n, payload(img, "-exit-after", "2s", "-exit-code", "3"),
			&container.HostConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyAlways}})
		// Catch it running again after at least two policy restarts, so
		// the state is "running" and only restarts and uptime tell.
		waitFor(t, cli, id, "running after 2 restarts", 40*time.Second, func(info container.InspectResponse) bool {
			return info.RestartCount >= 2 && info.State.Status == "running"
		})
		res := runCheck(t, nil, "--name", n, "--restarts-warning", "0", "--restarts-critical", "1",
			"--restart-window", "10m", "--min-uptime", "1m", "--state-dir", t.TempDir())
		got := normalizeRestarts(normalize(res.out))
		want := "CONTAINER CRITICAL - 1 of 1 restarting too often: vigil-test-crashloop restarted <n> times in <t>, up <t> (less than <t>) | containers=1;;;0 vigil-test-crashloop_restarts=<n>c vigil-test-crashloop_uptime=<t>;60:;;0 vigil-test-crashloop_restarts_counted=<n>;0;1;0\n" +
			"[CRITICAL] vigil-test-crashloop <id>: restarted <n> times in <t>, up <t> (less than <t>); running, restarts <n>\n"
		if res.code != 2 || got != want {
			t.Errorf("exit %d, want 2; output (normalised):\n%s\nwant:\n%s", res.code, got, want)
		}
		if m := regexp.MustCompile(`restarted (\d+) times in 10m, up \d+s \(less than 1m\)`).FindStringSubmatch(res.out); m == nil || atoi(t, m[1]) < 2 {
			t.Errorf("restarts not counted from the engine's count (want >= 2): %q", res.out)
		}
		// Without a restarts threshold, --min-uptime alone still catches
		// the loop the restart policy hides.
		res = runCheck(t, nil, "--name", n, "--min-uptime", "1m", "--allow-state", "restarting")
		if res.code != 1 || !strings.Contains(res.out, "CONTAINER WARNING - 1 of 1 recently started: "+n+" up ") {
			t.Errorf("exit %d, want 1 with \"recently started\": %s", res.code, res.out)
		}
	})

	t.Run("paused", func(t *testing.T) {
		t.Parallel()
		n := name("paused")
		id := dockertest.Run(t, cli, n, payload(img), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := cli.ContainerPause(ctx, id); err != nil {
			t.Fatalf("pausing: %v", err)
		}
		expect(t, runCheck(t, nil, "--name", n), 2,
			"CONTAINER CRITICAL - 1 of 1 paused: vigil-test-paused paused | containers=1;;;0 vigil-test-paused_restarts=0c vigil-test-paused_uptime=<t>;;;0",
			"[CRITICAL] vigil-test-paused <id>: paused; restarts 0")
		expect(t, runCheck(t, nil, "--name", n, "--allow-state", "paused"), 0,
			"CONTAINER OK - vigil-test-paused paused, restarts 0 | containers=1;;;0 vigil-test-paused_restarts=0c vigil-test-paused_uptime=<t>;;;0",
			"[OK] vigil-test-paused <id>: paused, restarts 0")
	})

	t.Run("labels-and-expect", func(t *testing.T) {
		t.Parallel()
		label := "vigil.test=replicas" + suffix
		labelled := func(cfg *container.Config, extra map[string]string) *container.Config {
			cfg.Labels = map[string]string{"vigil.test": "replicas" + suffix}
			for k, v := range extra {
				cfg.Labels[k] = v
			}
			return cfg
		}
		a := dockertest.Run(t, cli, name("replica-a"), labelled(withHealth(payload(img), 300*time.Millisecond, 2), map[string]string{"tier": "gpu"}), nil)
		b := dockertest.Run(t, cli, name("replica-b"), labelled(withHealth(payload(img), 300*time.Millisecond, 2), nil), nil)
		c := dockertest.Run(t, cli, name("replica-c"), labelled(withHealth(payload(img, "-unhealthy-after", "1s"), 300*time.Millisecond, 2), map[string]string{"tier": "gpu"}), nil)
		// A container without the label must not be counted.
		dockertest.Run(t, cli, name("replica-other"), withHealth(payload(img), 300*time.Millisecond, 2), nil)
		waitFor(t, cli, a, "healthy", 20*time.Second, healthIs("healthy"))
		waitFor(t, cli, b, "healthy", 20*time.Second, healthIs("healthy"))
		waitFor(t, cli, c, "unhealthy", 20*time.Second, healthIs("unhealthy"))
		perf := "containers=3;;3:3;0 vigil-test-replica-a_restarts=0c vigil-test-replica-a_uptime=<t>;;;0 vigil-test-replica-b_restarts=0c vigil-test-replica-b_uptime=<t>;;;0 vigil-test-replica-c_restarts=0c vigil-test-replica-c_uptime=<t>;;;0"
		lines := []string{
			`[CRITICAL] vigil-test-replica-c <id>: unhealthy (<n> failed probes: "HTTP 503: model not loaded (unhealthy since <t>)"); running, up <t>, restarts 0`,
			"[OK] vigil-test-replica-a <id>: running, healthy, up <t>, restarts 0",
			"[OK] vigil-test-replica-b <id>: running, healthy, up <t>, restarts 0",
		}
		expect(t, runCheck(t, nil, "--label", label, "--expect", "3"), 2, append([]string{
			`CONTAINER CRITICAL - 1 of 3 unhealthy: vigil-test-replica-c unhealthy (<n> failed probes: "HTTP 503: model not loaded (unhealthy since <t>)") | ` + perf}, lines...)...)
		expect(t, runCheck(t, nil, "--label", label, "--expect", "4"), 2, append([]string{
			`CONTAINER CRITICAL - 3 containers match label=vigil.test=replicas, expected 4, 1 of 3 unhealthy: vigil-test-replica-c unhealthy (<n> failed probes: "HTTP 503: model not loaded (unhealthy since <t>)") | ` + strings.Replace(perf, "3:3", "4:4", 1)},
			append(lines, "[CRITICAL] 3 containers match label=vigil.test=replicas, expected 4")...)...)
		// Labels AND: both replicas with tier=gpu, in a range.
		expect(t, runCheck(t, nil, "--label", label, "--label", "tier=gpu", "--expect-range", "2:3"), 2,
			`CONTAINER CRITICAL - 1 of 2 unhealthy: vigil-test-replica-c unhealthy (<n> failed probes: "HTTP 503: model not loaded (unhealthy since <t>)") | containers=2;;2:3;0 vigil-test-replica-a_restarts=0c vigil-test-replica-a_uptime=<t>;;;0 vigil-test-replica-c_restarts=0c vigil-test-replica-c_uptime=<t>;;;0`,
			lines[0], lines[1])
		// The healthy ones by name pattern.
		expect(t, runCheck(t, nil, "--name", "^vigil-test-replica-[ab]"+suffix+"$", "--name-regex", "--expect", "2"), 0,
			"CONTAINER OK - 2 containers OK: 2 running (2 healthy) | containers=2;;2:2;0 vigil-test-replica-a_restarts=0c vigil-test-replica-a_uptime=<t>;;;0 vigil-test-replica-b_restarts=0c vigil-test-replica-b_uptime=<t>;;;0",
			lines[1], lines[2])
	})

	t.Run("no-match", func(t *testing.T) {
		t.Parallel()
		n := name("nonexistent")
		expect(t, runCheck(t, nil, "--name", n), 2,
			"CONTAINER CRITICAL - no container matches name=vigil-test-nonexistent | containers=0;;;0",
			"[CRITICAL] no container matches name=vigil-test-nonexistent")
		expect(t, runCheck(t, nil, "--name", n, "--no-match", "ok"), 0,
			"CONTAINER OK - no container matches name=vigil-test-nonexistent | containers=0;;;0",
			"[OK] no container matches name=vigil-test-nonexistent")
	})

	t.Run("cpu", func(t *testing.T) {
		t.Parallel()
		n := name("cpu")
		// A memory limit makes the memory percentage's base fixed: 64 MiB.
		dockertest.Run(t, cli, n, payload(img, "-burn-cpu", "2"),
			&container.HostConfig{Resources: container.Resources{Memory: 64 << 20}})
		time.Sleep(time.Second)
		state := t.TempDir()
		res := runCheck(t, nil, "--name", n, "--cpu-warning", "10", "--cpu-critical", "400", "--memory-warning", "90", "--state-dir", state)
		got := normalize(res.out)
		want := "CONTAINER WARNING - 1 of 1 over the CPU threshold: vigil-test-cpu cpu <pct> | containers=1;;;0 vigil-test-cpu_restarts=0c vigil-test-cpu_uptime=<t>;;;0 vigil-test-cpu_cpu=<pct>;10;400;0;200 vigil-test-cpu_memory=<pct>;90;;0;100 vigil-test-cpu_memory_used=<size>;;;0;67108864\n" +
			"[WARNING] vigil-test-cpu <id>: cpu <pct>; running, up <t>, restarts 0, memory <pct> (<size> of <size>)\n"
		if res.code != 1 || got != want {
			t.Errorf("exit %d, want 1; output (normalised):\n%s\nwant:\n%s", res.code, got, want)
		}
		if !strings.Contains(res.out, "of 64MiB)") {
			t.Errorf("memory not measured against the 64 MiB limit: %s", res.out)
		}
		// The next run averages since this one, from the state file.
		time.Sleep(2500 * time.Millisecond)
		res = runCheck(t, nil, "--name", n, "--cpu-warning", "10", "--cpu-critical", "400", "--memory-warning", "90", "--state-dir", state)
		want = strings.Replace(want, "cpu <pct> |", "cpu <pct> (avg <t>) |", 1)
		want = strings.Replace(want, "cpu <pct>;", "cpu <pct> (avg <t>);", 1)
		if got := normalize(res.out); res.code != 1 || got != want {
			t.Errorf("second run: exit %d, want 1; output (normalised):\n%s\nwant:\n%s", res.code, got, want)
		}
	})

	t.Run("library", func(t *testing.T) {
		t.Parallel()
		// The recovery agent calls Inspect in-process and acts on the
		// verdicts: it needs the state, health and last probe per container.
		sick := dockertest.Run(t, cli, name("lib-sick"), withHealth(payload(img, "-close-after", "500ms"), 300*time.Millisecond, 2), nil)
		done := dockertest.Run(t, cli, name("lib-done"), payload(img, "-exit-after", "100ms", "-exit-code", "4"), nil)
		waitFor(t, cli, sick, "unhealthy", 20*time.Second, healthIs("unhealthy"))
		waitFor(t, cli, done, "exited", 20*time.Second, stateIs("exited"))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		opts := containercheck.Options{Names: []string{"vigil-test-lib-.*" + suffix}, NameRegex: true}
		rep, err := containercheck.Inspect(ctx, cli, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Verdicts) != 2 {
			t.Fatalf("%d verdicts, want 2", len(rep.Verdicts))
		}
		byID := map[string]containercheck.Verdict{}
		for _, v := range rep.Verdicts {
			byID[v.ID] = v
		}
		v := byID[sick]
		if !v.Unhealthy() || v.Healthy() || v.Exited() || v.State != "running" || !v.Has(containercheck.KindUnhealthy) ||
			v.Status != plugin.Critical || v.Name != name("lib-sick") || v.FailingStreak < 2 ||
			v.LastProbe != "dial tcp 127.0.0.1:8080: connect: connection refused" {
			t.Errorf("unhealthy verdict: %+v", v)
		}
		v = byID[done]
		if !v.Exited() || v.ExitCode != 4 || v.Running || !v.Has(containercheck.KindExited) || v.Status != plugin.Critical {
			t.Errorf("exited verdict: %+v", v)
		}
		if got := rep.Status(); got != plugin.Critical {
			t.Errorf("report status %v, want CRITICAL", got)
		}
		// The in-process plugin keeps no state between runs: two runs with
		// different flags give their own answers.
		var out1, out2 bytes.Buffer
		st1 := plugin.Run(ctx, containercheck.New(), []string{"--name", name("lib-done"), "--allow-state", "exited"}, &out1, io.Discard)
		st2 := plugin.Run(ctx, containercheck.New(), []string{"--name", name("lib-nothing"), "--no-match", "warning"}, &out2, io.Discard)
		if st1 != plugin.Critical || !strings.HasPrefix(out1.String(), "CONTAINER CRITICAL - 1 of 1 exited: "+name("lib-done")+" exited 4 |") {
			t.Errorf("first in-process run: %v %q", st1, out1.String())
		}
		if st2 != plugin.Warning || !strings.HasPrefix(out2.String(), "CONTAINER WARNING - no container matches name="+name("lib-nothing")+" |") {
			t.Errorf("second in-process run: %v %q", st2, out2.String())
		}
	})

	t.Run("image-stale", func(t *testing.T) {
		t.Parallel()
		tag := "vigil-test-stale:" + strings.TrimPrefix(suffix, "-")
		// Each build ends in its own LABEL step, so the two images are
		// siblings in the build cache, not parent and child.
		dockertest.BuildImage(t, cli, "test/fixtures/payload", tag, "LABEL vigil.build=1")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		old, err := cli.ImageInspect(ctx, tag)
		if err != nil {
			t.Fatal(err)
		}
		// The rebuild below takes the tag: remove the old image by id once
		// the container is gone (cleanups run last first).
		removeImage(t, cli, old.ID)
		n := name("stale")
		dockertest.Run(t, cli, n, payload(tag), nil)
		expect(t, runCheck(t, nil, "--name", n, "--image-stale"), 0,
			"CONTAINER OK - vigil-test-stale running, up <t>, restarts 0 | containers=1;;;0 vigil-test-stale_restarts=0c vigil-test-stale_uptime=<t>;;;0",
			"[OK] vigil-test-stale <id>: running, up <t>, restarts 0")
		// A new build takes the tag; the container still runs the old id.
		dockertest.BuildImage(t, cli, "test/fixtures/payload", tag, "LABEL vigil.build=2")
		res := runCheck(t, nil, "--name", n, "--image-stale")
		expect(t, res, 1,
			"CONTAINER WARNING - 1 of 1 running a stale image: vigil-test-stale image stale (vigil-test-stale:"+strings.TrimPrefix(suffix, "-")+" is now <id>, running <id>) | containers=1;;;0 vigil-test-stale_restarts=0c vigil-test-stale_uptime=<t>;;;0",
			"[WARNING] vigil-test-stale <id>: image stale (vigil-test-stale:"+strings.TrimPrefix(suffix, "-")+" is now <id>, running <id>); running, up <t>, restarts 0")
		if !strings.Contains(res.out, "running "+strings.TrimPrefix(old.ID, "sha256:")[:12]) {
			t.Errorf("the running image id %s is not named: %s", old.ID, res.out)
		}
	})
}

// TestEngineErrors covers an engine that cannot be reached or refuses the
// check: always UNKNOWN, with the reason, within -t.
func TestEngineErrors(t *testing.T) {
	t.Run("no-socket", func(t *testing.T) {
		t.Parallel()
		res := runCheck(t, []string{"DOCKER_HOST=unix:///nonexistent.sock"}, "--all", "-t", "3")
		expect(t, res, 3, "CONTAINER UNKNOWN - cannot reach the Docker engine at unix:///nonexistent.sock: connect: no such file or directory")
	})
	t.Run("closed-port", func(t *testing.T) {
		t.Parallel()
		port := testenv.FreePort(t)
		res := runCheck(t, nil, "--all", "-t", "3", "--docker-host", fmt.Sprintf("tcp://127.0.0.1:%d", port))
		expect(t, res, 3, fmt.Sprintf("CONTAINER UNKNOWN - cannot reach the Docker engine at tcp://127.0.0.1:%d: connect: connection refused", port))
	})
	t.Run("hung-engine", func(t *testing.T) {
		t.Parallel()
		// A listener that accepts and never answers: the check must give
		// up at -t, saying where it was.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu    sync.Mutex
			conns []net.Conn
		)
		t.Cleanup(func() {
			ln.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, conn)
				mu.Unlock()
			}
		}()
		res := runCheck(t, nil, "--all", "-t", "2", "--docker-host", "tcp://"+ln.Addr().String())
		expect(t, res, 3, "CONTAINER UNKNOWN - timed out after <t> while connecting to the engine")
		if !strings.Contains(res.out, "after 2s") || res.elapsed > 3*time.Second {
			t.Errorf("took %s with -t 2: %s", res.elapsed, res.out)
		}
		// The state -t asks for is the one reported.
		res = runCheck(t, nil, "--all", "-t", "1:CRITICAL", "--docker-host", "tcp://"+ln.Addr().String())
		expect(t, res, 2, "CONTAINER CRITICAL - timed out after <t> while connecting to the engine")
	})
	t.Run("permission-denied", func(t *testing.T) {
		t.Parallel()
		dockertest.Client(t)
		if os.Getuid() != 0 {
			t.Skip("needs root to run the check as another user")
		}
		const sock = "/var/run/docker.sock"
		var st syscall.Stat_t
		if h := os.Getenv("DOCKER_HOST"); (h != "" && h != "unix://"+sock) || syscall.Stat(sock, &st) != nil || st.Mode&0o007 != 0 {
			t.Skip("needs the engine on /var/run/docker.sock, closed to others")
		}
		group := strconv.Itoa(int(st.Gid))
		if g, err := user.LookupGroupId(group); err == nil {
			group = g.Name
		}
		nobody := "65534"
		if u, err := user.LookupId(nobody); err == nil {
			nobody += " (" + u.Username + ")"
		}
		bin := testenv.Build(t, "plugins/cmd/check_container")
		res := runAs(t, 65534, bin, "--all")
		expect(t, res, 3, fmt.Sprintf("CONTAINER UNKNOWN - permission denied on the Docker socket unix://%s for uid %s, socket mode %04o group %s: add the user that runs the check (for NRPE, the nrpe user) to the socket's group (usually docker, which is root-equivalent), or point --docker-host at a read-only socket proxy", sock, nobody, st.Mode&0o7777, group))
	})
	t.Run("api-too-old", func(t *testing.T) {
		t.Parallel()
		cli := dockertest.Client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := cli.ServerVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A version pinned (by the user, through DOCKER_API_VERSION) below
		// the engine's minimum is refused by the engine itself.
		res := runCheck(t, []string{"DOCKER_API_VERSION=1.11"}, "--all")
		expect(t, res, 3, fmt.Sprintf("CONTAINER UNKNOWN - the engine at %s refuses this client's API version: client version 1.11 is too old. Minimum supported API version is %s, please upgrade your client to a newer version", cli.DaemonHost(), v.MinAPIVersion))
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
