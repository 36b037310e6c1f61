// Package heal_test drives the healer end to end against the real Docker
// engine: containers of our payload fixture made unhealthy, crash-looping
// or stopped, the healer run as a process (daemon or cron mode), and
// restarts counted from the engine's own events, not from the healer's
// log.
package heal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/vigil-monitoring/vigil/test/dockertest"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

const healerPkg = "agent/cmd/vigil-agent"

// payloadImage builds the payload fixture as an image for this test (the
// binary is built once), with a fast HEALTHCHECK: a probe every 200 ms,
// unhealthy after 2 failures. The image is removed when the test ends.
func payloadImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	return dockertest.BuildImage(t, cli, "test/fixtures/payload", fmt.Sprintf("vigil-heal-payload:%s-%d", testSlug(t), os.Getpid()),
		`HEALTHCHECK --interval=200ms --timeout=1s --retries=2 CMD ["/app","-healthcheck","http://127.0.0.1:8080/healthz"]`)
}

func testSlug(t *testing.T) string {
	return strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
}

type env struct {
	events   *dockertest.Events
	t        *testing.T
	cli      *client.Client
	name, id string
	created  time.Time
	stateDir string
	bin      string
}

// newEnv starts a payload container with args and a state directory.
func newEnv(t *testing.T, args ...string) *env {
	t.Helper()
	cli := dockertest.Client(t)
	img := payloadImage(t, cli)
	e := &env{t: t, cli: cli, stateDir: t.TempDir(), bin: testenv.Build(t, healerPkg)}
	e.name = fmt.Sprintf("vigil-heal-%s-%d", testSlug(t), os.Getpid())
	dockertest.Remove(t, cli, e.name) // a container left by a killed run would feed the event stream
	e.events = dockertest.WatchEvents(t, cli, e.name)
	e.created = time.Now()
	e.id = dockertest.Run(t, cli, e.name, &container.Config{Image: img, Cmd: args}, &container.HostConfig{})
	return e
}

// stop stops the container (it stays, exited).
func (e *env) stop() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	zero := 0
	if err := e.cli.ContainerStop(ctx, e.id, container.StopOptions{Timeout: &zero}); err != nil {
		e.t.Fatalf("stopping %s: %v", e.name, err)
	}
}

func (e *env) inspect() container.InspectResponse {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := e.cli.ContainerInspect(ctx, e.id)
	if err != nil {
		e.t.Fatalf("inspecting %s: %v", e.name, err)
	}
	return info
}

// heal runs the healer once to completion and returns its output and exit
// code.
func (e *env) heal(args ...string) (string, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"heal", "--state-dir", e.stateDir}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running healer: %v", err)
	}
	if code > 3 || code < 0 {
		e.t.Fatalf("healer exited %d (crashed?):\n%s", code, out.String())
	}
	return out.String(), code
}

// daemon is a healer process in --daemon mode.
type daemon struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

// startDaemon starts `vigil-agent heal --daemon`; it is stopped (by PID)
// when the test ends if the test has not stopped it.
func (e *env) startDaemon(args ...string) *daemon {
	e.t.Helper()
	return e.startProcess(append([]string{"heal", "--daemon", "--state-dir", e.stateDir}, args...)...)
}

// startProcess starts vigil-agent with args as a long-running process.
func (e *env) startProcess(args ...string) *daemon {
	e.t.Helper()
	cmd := exec.Command(e.bin, args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("starting healer daemon: %v", err)
	}
	d := &daemon{cmd: cmd, out: out}
	e.t.Cleanup(func() { d.kill(syscall.SIGKILL) })
	return d
}

// kill sends sig to the daemon and waits for it.
func (d *daemon) kill(sig syscall.Signal) {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
}

// auditLine is one line of the audit log.
type auditLine struct {
	Time       time.Time `json:"time"`
	Msg        string    `json:"msg"`
	Event      string    `json:"event"`
	Rule       string    `json:"rule"`
	Action     string    `json:"action"`
	Why        string    `json:"why"`
	Output     string    `json:"output"`
	Result     string    `json:"result"`
	Error      string    `json:"error"`
	DurationMS int64     `json:"duration_ms"`
	DryRun     bool      `json:"dry_run"`
}

func (e *env) audit() []auditLine {
	e.t.Helper()
	f, err := os.Open(filepath.Join(e.stateDir, "audit.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	var lines []auditLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			e.t.Fatalf("audit line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

func countEvents(lines []auditLine, event, resultPrefix string) int {
	n := 0
	for _, l := range lines {
		if l.Event == event && strings.HasPrefix(l.Result, resultPrefix) {
			n++
		}
	}
	return n
}

// waitFor polls cond every 50 ms until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) dumpOnFailure(d *daemon) {
	e.t.Cleanup(func() {
		if e.t.Failed() {
			b, _ := os.ReadFile(filepath.Join(e.stateDir, "audit.log"))
			e.t.Logf("audit log:\n%s", b)
			if d != nil {
				e.t.Logf("daemon output:\n%s", d.out.String())
			}
		}
	})
}

// buildHealer builds the healer binary without needing an engine.
func buildHealer(t *testing.T) string { return testenv.Build(t, healerPkg) }
