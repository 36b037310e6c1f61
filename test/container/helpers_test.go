// Package container_test runs check_container against the real Docker
// engine: containers from an image of our own payload program, in each
// state the check must recognise.
package container_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/vigil-monitoring/vigil/test/dockertest"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

// suffix makes container names and tags unique to this test process, so
// two runs on one engine never collide; normalize removes it again.
var suffix = fmt.Sprintf("-%d", os.Getpid())

func name(scenario string) string { return "vigil-test-" + scenario + suffix }

// healthURL is the payload's health endpoint inside its own container.
const healthURL = "http://127.0.0.1:8080/healthz"

// payload is a container config running the fixture with args.
func payload(image string, args ...string) *container.Config {
	return &container.Config{Image: image, Cmd: args}
}

// withHealth adds a HEALTHCHECK that runs the payload's own probe mode
// (a FROM scratch image has no curl).
func withHealth(cfg *container.Config, interval time.Duration, retries int) *container.Config {
	cfg.Healthcheck = &container.HealthConfig{
		Test:     []string{"CMD", "/app", "-healthcheck", healthURL},
		Interval: interval,
		Timeout:  3 * time.Second,
		Retries:  retries,
	}
	return cfg
}

// waitFor polls the container until cond holds, failing the test after
// timeout with the last state seen.
func waitFor(t *testing.T, cli *client.Client, id, what string, timeout time.Duration, cond func(container.InspectResponse) bool) container.InspectResponse {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		info, err := cli.ContainerInspect(ctx, id)
		cancel()
		if err != nil {
			t.Fatalf("inspecting %s: %v", id, err)
		}
		if cond(info) {
			return info
		}
		if time.Now().After(deadline) {
			health := ""
			if info.State.Health != nil {
				health = string(info.State.Health.Status)
			}
			t.Fatalf("container %s not %s after %s: state %s, health %q, restarts %d", info.Name, what, timeout, info.State.Status, health, info.RestartCount)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func healthIs(status string) func(container.InspectResponse) bool {
	return func(info container.InspectResponse) bool {
		return info.State.Health != nil && string(info.State.Health.Status) == status
	}
}

func stateIs(status string) func(container.InspectResponse) bool {
	return func(info container.InspectResponse) bool { return string(info.State.Status) == status }
}

// checkResult is one run of the check_container binary.
type checkResult struct {
	out     string // stdout as printed
	code    int
	elapsed time.Duration
}

// runCheck runs the built check_container with args and extra environment,
// bounded so that a hang fails the test instead of stalling it.
func runCheck(t *testing.T, env []string, args ...string) checkResult {
	t.Helper()
	bin := testenv.Build(t, "plugins/cmd/check_container")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := checkResult{out: stdout.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running check_container %q: %v\n%s", args, err, stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("check_container %q did not finish in 30s", args)
	}
	t.Logf("check_container %s\n%s(exit %d, %s)", strings.Join(args, " "), res.out, res.code, res.elapsed.Round(time.Millisecond))
	return res
}

var (
	reID       = regexp.MustCompile(`\b[0-9a-f]{12}\b`)
	reTime     = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	reAge      = regexp.MustCompile(`\b\d+[dhms](\d+[hms])?\b`)
	rePercent  = regexp.MustCompile(`\b\d+(\.\d+)?%`)
	reSize     = regexp.MustCompile(`\b\d+(\.\d+)?(B|KiB|MiB|GiB|TiB)\b`)
	reStreak   = regexp.MustCompile(`\b\d+ failed probes?\b`)
	reRestarts = regexp.MustCompile(`(restarts|restarted) \d+|_restarts(_counted)?=\d+`)
)

// normalize replaces what differs from run to run (ids, times, ages,
// measured percentages and sizes, probe streaks) with placeholders, and
// drops this process's name suffix.
func normalize(s string) string {
	s = strings.ReplaceAll(s, suffix, "")
	s = reID.ReplaceAllString(s, "<id>")
	s = reTime.ReplaceAllString(s, "<time>")
	s = reStreak.ReplaceAllString(s, "<n> failed probes")
	s = rePercent.ReplaceAllString(s, "<pct>")
	s = reSize.ReplaceAllString(s, "<size>")
	s = reAge.ReplaceAllString(s, "<t>")
	return s
}

// normalizeRestarts also replaces restart counts, for a crash loop whose
// count moves on while the test looks.
func normalizeRestarts(s string) string {
	return reRestarts.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.LastIndexAny(m, " =")
		return m[:i+1] + "<n>"
	})
}

// expect asserts the exit code and the exact normalised output lines.
func expect(t *testing.T, res checkResult, code int, lines ...string) {
	t.Helper()
	got := normalize(res.out)
	want := strings.Join(lines, "\n") + "\n"
	if res.code != code || got != want {
		t.Errorf("exit %d, want %d; output (normalised):\n%s\nwant:\n%s", res.code, code, got, want)
	}
}

// setup returns an engine client and the payload image, built once for the
// whole test and removed at its end.
func setup(t *testing.T) (*client.Client, string) {
	cli := dockertest.Client(t)
	img := dockertest.BuildImage(t, cli, "test/fixtures/payload", "vigil-test-payload:"+strings.TrimPrefix(suffix, "-"))
	return cli, img
}

// removeImage removes an image by id when the test ends (one that lost its
// tag to a rebuild, which the tag-based cleanup no longer reaches).
func removeImage(t *testing.T, cli *client.Client, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := cli.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Logf("removing image %s: %v", id, err)
		}
	})
}

// runAs runs the check binary as another user (the test runs as root), from
// a copy that user can execute.
func runAs(t *testing.T, uid int, bin string, args ...string) checkResult {
	t.Helper()
	dir, err := os.MkdirTemp("", "vigil-test-runas-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, "check_container")
	if err := os.WriteFile(copyPath, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, copyPath, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	start := time.Now()
	err = cmd.Run()
	res := checkResult{out: stdout.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running check_container as uid %d: %v", uid, err)
	}
	t.Logf("check_container (uid %d) %s\n%s(exit %d)", uid, strings.Join(args, " "), res.out, res.code)
	return res
}
