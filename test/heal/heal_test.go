package heal_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// TestUnhealthyRestartedByDaemon: the payload's health endpoint turns 503
// after 5 s, its HEALTHCHECK marks it unhealthy; the daemon (interval
// 300 ms, attempts 2, grace 1 s) restarts it within interval × attempts +
// grace of the engine's verdict, the re-check finds it recovered, the
// audit log has one action line, and check_heal reports the restart.
func TestUnhealthyRestartedByDaemon(t *testing.T) {
	checkContainer := testenv.Build(t, "plugins/cmd/check_container") // before the clock starts
	e := newEnv(t, "-unhealthy-after", "5s")
	d := e.startDaemon("--container", e.name, "--interval", "300ms", "--attempts", "2", "--grace", "1s", "--backoff", "1m")
	e.dumpOnFailure(d)

	waitFor(t, 20*time.Second, "the re-check after a restart", func() bool { return countEvents(e.audit(), "recheck", "") > 0 })
	d.kill(syscall.SIGTERM)
	if d.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("daemon exited %d on SIGTERM", d.cmd.ProcessState.ExitCode())
	}

	lines := e.audit()
	if n := countEvents(lines, "action", "restarted"); n != 1 {
		t.Fatalf("%d restart lines in the audit log, want 1: %+v", n, lines)
	}
	var act, recheck auditLine
	for _, l := range lines {
		switch l.Event {
		case "action":
			act = l
		case "recheck":
			recheck = l
		}
	}
	if recheck.Result != "recovered" {
		t.Fatalf("re-check: %+v", recheck)
	}
	if act.Rule != e.name || act.Action != "restart of container "+e.name || act.Why != "HARD CRITICAL after 2 attempts" ||
		!strings.Contains(act.Output, "unhealthy") || !strings.Contains(act.Output, "HTTP 503: model not loaded") {
		t.Fatalf("action line: %+v", act)
	}
	// The engine saw exactly one start besides the first.
	if n := e.events.Starts(e.created); n != 2 {
		t.Fatalf("engine reports %d starts, want 2 (the first and one restart)", n)
	}
	// Timing, from the engine's own record: from its "unhealthy" verdict
	// to the re-check that found the container recovered, at most
	// interval × attempts + grace, plus the restart itself and 1 s of
	// scheduling slack for a loaded 2-core machine.
	unhealthy := e.events.First(e.created, "health_status: unhealthy")
	restart := e.events.First(unhealthy, "restart")
	took := recheck.Time.Sub(unhealthy)
	limit := 2*300*time.Millisecond + time.Second + time.Duration(act.DurationMS)*time.Millisecond + time.Second
	if took > limit {
		t.Errorf("recovered %s after the engine said unhealthy, want at most %s", took, limit)
	}
	t.Logf("recovery timing: engine unhealthy at %s; restart requested %s later, took %d ms (engine restart event +%s); re-check OK %s after unhealthy (limit %s)",
		unhealthy.UTC().Format("15:04:05.000"), act.Time.Add(-time.Duration(act.DurationMS)*time.Millisecond).Sub(unhealthy).Round(time.Millisecond),
		act.DurationMS, restart.Sub(unhealthy).Round(time.Millisecond), took.Round(time.Millisecond), limit)

	// check_container, the check Nagios runs on this service, is OK again.
	// (The payload turns unhealthy again 5 s after the restart.)
	cc := exec.Command(checkContainer, "--name", e.name)
	ccOut, err := cc.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(ccOut), "CONTAINER OK - ") {
		t.Errorf("check_container after the recovery (%v):\n%s", err, ccOut)
	}

	// check_heal: WARNING, one restart within the window.
	out, code := e.heal("--status", "--container", e.name)
	if code != 1 || !strings.HasPrefix(out, fmt.Sprintf("HEAL WARNING - %s: 1 restart of %s within 1h, last at ", e.name, e.name)) ||
		!strings.Contains(out, fmt.Sprintf("| %s_actions=1;;;0;5 actions=1;;;0 gave_up=0;;;0;1\n", e.name)) {
		t.Fatalf("check_heal (exit %d):\n%s", code, out)
	}
	// And the container itself is fine again.
	if info := e.inspect(); !info.State.Running {
		t.Fatalf("container not running after recovery: %+v", info.State)
	}
}

// TestCrashLoopGivesUp: a payload that exits 1 after 300 ms is started 3
// times (max-restarts 3), then the rule gives up, reports CRITICAL, and
// nothing restarts it for the rest of the test.
func TestCrashLoopGivesUp(t *testing.T) {
	e := newEnv(t, "-exit-after", "300ms", "-exit-code", "1")
	d := e.startDaemon("--container", e.name, "--interval", "200ms", "--attempts", "1", "--grace", "500ms",
		"--backoff", "200ms", "--max-backoff", "400ms", "--max-restarts", "3", "--window", "1h")
	e.dumpOnFailure(d)
	waitFor(t, 30*time.Second, "the give-up", func() bool { return countEvents(e.audit(), "give_up", "") > 0 })
	gaveUpAt := time.Now()
	time.Sleep(2 * time.Second) // the rest of the test: the daemon keeps probing
	d.kill(syscall.SIGTERM)

	if n := e.events.Starts(e.created); n != 1+3 {
		t.Fatalf("engine reports %d starts, want 4 (the first and 3 restarts)", n)
	}
	if n := e.events.Starts(gaveUpAt); n != 0 {
		t.Fatalf("%d starts after the give-up", n)
	}
	lines := e.audit()
	if a, g := countEvents(lines, "action", "started (was exited)"), countEvents(lines, "give_up", ""); a != 3 || g != 1 {
		t.Fatalf("audit: %d actions, %d give-ups, want 3 and 1: %+v", a, g, lines)
	}
	out, code := e.heal("--status", "--container", e.name, "--max-restarts", "3")
	want := fmt.Sprintf("HEAL CRITICAL - %s gave up: 3 restarts of %s in 1h, last probe: CRITICAL - ", e.name, e.name)
	if code != 2 || !strings.HasPrefix(out, want) || !strings.Contains(out, "exited") {
		t.Fatalf("check_heal (exit %d):\n%s\nwant prefix %q", code, out, want)
	}
	// Cron mode honours the same give-up: no restart, CRITICAL.
	out, code = e.heal("--once", "--container", e.name, "--attempts", "1", "--max-restarts", "3")
	if code != 2 || !strings.Contains(out, "gave up: 3 restarts of "+e.name+" in 1h") {
		t.Fatalf("--once after the give-up (exit %d):\n%s", code, out)
	}
	// Until an operator resets it.
	if out, code := e.heal("--reset", e.name); code != 0 || !strings.Contains(out, "give-up lifted") {
		t.Fatalf("--reset (exit %d): %s", code, out)
	}
	out, code = e.heal("--once", "--container", e.name, "--attempts", "1", "--max-restarts", "3", "--grace", "100ms")
	if n := e.events.Starts(gaveUpAt); n != 1 {
		t.Fatalf("after --reset, --once made %d starts, want 1 (exit %d):\n%s", n, code, out)
	}
}

// TestSigkillKeepsWindow: the daemon is killed with SIGKILL right after
// its second restart (inside the grace) and started again; the new
// process keeps the history: 3 restarts in all, then the give-up, and no
// extra restart for the failure the killed process had already handled.
func TestSigkillKeepsWindow(t *testing.T) {
	e := newEnv(t, "-exit-after", "300ms", "-exit-code", "3")
	args := []string{"--container", e.name, "--interval", "200ms", "--attempts", "1", "--grace", "700ms",
		"--backoff", "300ms", "--max-backoff", "600ms", "--max-restarts", "3", "--window", "1h"}
	d := e.startDaemon(args...)
	e.dumpOnFailure(d)
	waitFor(t, 20*time.Second, "the second restart", func() bool { return countEvents(e.audit(), "action", "") >= 2 })
	d.kill(syscall.SIGKILL)
	if n := e.events.Starts(e.created); n != 3 {
		t.Fatalf("%d starts before the kill, want 3", n)
	}
	d2 := e.startDaemon(args...)
	e.dumpOnFailure(d2)
	waitFor(t, 20*time.Second, "the give-up", func() bool { return countEvents(e.audit(), "give_up", "") > 0 })
	time.Sleep(1500 * time.Millisecond)
	d2.kill(syscall.SIGTERM)
	if n := e.events.Starts(e.created); n != 1+3 {
		t.Fatalf("engine reports %d starts, want 4: the killed daemon's history was not kept", n)
	}
	if a := countEvents(e.audit(), "action", ""); a != 3 {
		t.Fatalf("%d action lines, want 3", a)
	}
}

// TestCronThirdFailure: the container is stopped; cron mode with attempts
// 3 reports SOFT failures on runs 1 and 2 (exit 1, nothing done) and
// restarts on run 3; run 4 finds it healthy and does nothing.
func TestCronThirdFailure(t *testing.T) {
	e := newEnv(t)
	e.dumpOnFailure(nil)
	e.stop()
	stopped := time.Now()
	cron := []string{"--once", "--container", e.name, "--attempts", "3", "--grace", "300ms"}
	for i := 1; i <= 2; i++ {
		out, code := e.heal(cron...)
		want := fmt.Sprintf("HEAL WARNING - %s: SOFT failure %d/3: CRITICAL - 1 of 1 exited: ", e.name, i)
		if code != 1 || !strings.HasPrefix(out, want) {
			t.Fatalf("run %d (exit %d):\n%s\nwant prefix %q", i, code, out, want)
		}
		if n := e.events.Starts(stopped); n != 0 {
			t.Fatalf("run %d restarted the container", i)
		}
	}
	out, code := e.heal(cron...)
	if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("HEAL OK - %s: recovered: restart of container %s at ", e.name, e.name)) ||
		!strings.Contains(out, "started (was exited)") {
		t.Fatalf("run 3 (exit %d):\n%s", code, out)
	}
	if n := e.events.Starts(stopped); n != 1 {
		t.Fatalf("run 3: %d starts, want 1", n)
	}
	out, code = e.heal(cron...)
	if code != 0 || !strings.HasPrefix(out, "HEAL OK - "+e.name+": probe OK - ") {
		t.Fatalf("run 4 (exit %d):\n%s", code, out)
	}
	if n := e.events.Starts(stopped); n != 1 {
		t.Fatalf("run 4 restarted again: %d starts", n)
	}
}

// TestCronAndDaemonOneRestart: with the container stopped, the daemon
// inside `vigil-agent serve` (a watch[...] rule in its nrpe.cfg) and a
// burst of concurrent cron runs (attempts 1 each) race for the failure;
// the lock lets exactly one of them restart it. check_heal through the
// agent's own NRPE listener then reports that one restart.
func TestCronAndDaemonOneRestart(t *testing.T) {
	e := newEnv(t)
	testenv.Require(t, os.Geteuid() == 0, "root (vigil-agent serve as root runs checks as nrpe_user)")
	// The agent runs its checks as nagios, so check_heal's binary, config
	// and state must be readable by it: t.TempDir() sits in a 0700 parent.
	dir, err := os.MkdirTemp("", "vigil-heal-serve-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "vigil-agent")
	copyFile(t, e.bin, bin, 0o755)
	e.bin, e.stateDir = bin, filepath.Join(dir, "state")
	port := testenv.FreePort(t)
	cfg := filepath.Join(dir, "nrpe.cfg")
	write(t, cfg, 0o644, fmt.Sprintf(`server_address=127.0.0.1
server_port=%d
allowed_hosts=127.0.0.1
nrpe_user=nagios
nrpe_group=nagios
vigil_heal_state_dir=%s
command[check_heal]=%s heal --status -c %s
watch[api]=check=container:%s interval=100ms attempts=1 grace=1s
`, port, e.stateDir, e.bin, cfg, e.name))
	e.stop()
	stopped := time.Now()
	d := e.startProcess("serve", "-c", cfg, "-n")
	e.dumpOnFailure(d)
	done := make(chan string, 6)
	for i := 0; i < 6; i++ {
		go func() {
			out, code := e.heal("--once", "-c", cfg)
			done <- fmt.Sprintf("exit %d: %s", code, out)
		}()
	}
	for i := 0; i < 6; i++ {
		t.Log(<-done)
	}
	waitFor(t, 10*time.Second, "the re-check", func() bool { return countEvents(e.audit(), "recheck", "recovered") == 1 })
	time.Sleep(500 * time.Millisecond)
	if n := e.events.Starts(stopped); n != 1 {
		t.Fatalf("daemon and cron together started the container %d times, want 1", n)
	}
	if a := countEvents(e.audit(), "action", ""); a != 1 {
		t.Fatalf("%d action lines, want 1", a)
	}
	out, err := exec.Command(e.bin, "query", "-H", "127.0.0.1", "-p", fmt.Sprint(port), "-n", "-c", "check_heal").CombinedOutput()
	if !strings.HasPrefix(string(out), "HEAL WARNING - api: 1 restart of "+e.name+" within 1h") || !strings.Contains(string(out), "| api_actions=1;;;0;5") {
		t.Fatalf("check_heal through the agent (%v):\n%s", err, out)
	}
	d.kill(syscall.SIGTERM)
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("vigil-agent serve exited %d on SIGTERM", code)
	}
}

// TestDryRun: a stopped container stays stopped; the audit log says what
// would have been done.
func TestDryRun(t *testing.T) {
	e := newEnv(t)
	e.dumpOnFailure(nil)
	e.stop()
	stopped := time.Now()
	for i := 0; i < 3; i++ {
		out, code := e.heal("--once", "--container", e.name, "--attempts", "1", "--backoff", "0s", "--dry-run")
		if code != 2 || !strings.Contains(out, "dry run: would do restart of container "+e.name) {
			t.Fatalf("dry run %d (exit %d):\n%s", i, code, out)
		}
	}
	if n := e.events.Starts(stopped); n != 0 {
		t.Fatalf("dry run started the container %d times", n)
	}
	if info := e.inspect(); info.State.Running {
		t.Fatal("container running after a dry run")
	}
	lines := e.audit()
	if n := countEvents(lines, "action", "dry run: nothing done"); n != 3 || !lines[0].DryRun {
		t.Fatalf("audit: %+v", lines)
	}
	// The dry run left nothing that limits a real run.
	out, code := e.heal("--status", "--container", e.name)
	if code != 0 {
		t.Fatalf("check_heal after dry runs (exit %d):\n%s", code, out)
	}
}

// TestUnreachableEngine: with no engine at the socket the probe is
// UNKNOWN, the restart fails, the failure is logged with the engine's
// error and reported CRITICAL, and nothing crashes.
func TestUnreachableEngine(t *testing.T) {
	e := &env{t: t, stateDir: t.TempDir(), bin: buildHealer(t)}
	e.dumpOnFailure(nil)
	host := "unix://" + t.TempDir() + "/docker.sock"
	out, code := e.heal("--once", "--container", "model-api", "--attempts", "1", "--docker-host", host)
	if code != 2 || !strings.HasPrefix(out, "HEAL CRITICAL - model-api: restart of container model-api failed after ") ||
		!strings.Contains(out, "docker engine unreachable") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	lines := e.audit()
	if len(lines) != 1 || lines[0].Event != "action" || lines[0].Result != "failed" || !strings.Contains(lines[0].Error, "docker.sock") ||
		!strings.HasPrefix(lines[0].Output, "UNKNOWN - ") {
		t.Fatalf("audit: %+v", lines)
	}
	out, code = e.heal("--status", "--container", "model-api", "--docker-host", host)
	if code != 2 || !strings.Contains(out, "restart of container model-api failed: ") {
		t.Fatalf("check_heal (exit %d):\n%s", code, out)
	}
}
