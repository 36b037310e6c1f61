package nrpe

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// SIGHUP reloads the file in place; a broken file is rejected and logged,
// and the running configuration keeps serving.
func TestReloadOnSIGHUP(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	a := startAgent(t, "command[ok]="+checkDummy+" 0 OK\n", "-n")
	orig, _ := os.ReadFile(a.cfg)
	if err := os.WriteFile(a.cfg, append(orig, []byte("command[added]="+checkDummy+" 1 added-later\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	a.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, a.log, "configuration reloaded")
	if out, code := stock(t, a.addr(), "-n", "-c", "added"); out != "WARNING: added-later\n" || code != 1 {
		t.Errorf("after reload: rc %d %q", code, out)
	}
	if err := os.WriteFile(a.cfg, append(orig, []byte("command_timeout=soon\ncommand[broken]=/bin/true\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	a.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, a.log, `reload rejected: `+a.cfg+`:`)
	waitLog(t, a.log, `command_timeout: \"soon\" is not a number`)
	if out, code := stock(t, a.addr(), "-n", "-c", "added"); out != "WARNING: added-later\n" || code != 1 {
		t.Errorf("after a rejected reload: rc %d %q", code, out)
	}
	if out, _ := stock(t, a.addr(), "-n", "-c", "broken"); out != "NRPE: Command 'broken' not defined\n" {
		t.Errorf("a rejected file was applied: %q", out)
	}
}

// The pid file refuses a second instance and is removed at SIGTERM; a
// check in flight at SIGTERM still gets its answer. Started as root the
// agent drops to nagios, so, like Debian's /run/nagios for the stock
// daemon, the pid file's directory belongs to nagios.
func TestPidFileAndGracefulShutdown(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	dir := workDir(t)
	runDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nagios")
		if err != nil {
			t.Fatalf("the nagios user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(runDir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	pid := filepath.Join(runDir, "agent.pid")
	a := startAgent(t, "pid_file="+pid+"\nvigil_shutdown_timeout=120\ncommand[slow]="+script(t, dir, "slow", "sleep 1; echo 'OK - slow'")+"\n", "-n")
	b, err := os.ReadFile(pid)
	if err != nil || strings.TrimSpace(string(b)) == "" {
		t.Fatalf("pid file: %q %v", b, err)
	}
	second := exec.Command(testenv.Build(t, "agent/cmd/vigil-agent"), "serve", "-n", "-c", a.cfg)
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "there's already an agent running (PID "+strings.TrimSpace(string(b))) {
		t.Errorf("second instance: %v\n%s", err, out)
	}
	type answer struct {
		out  string
		code int
	}
	got := make(chan answer, 1)
	go func() { o, c := stock(t, a.addr(), "-n", "-c", "slow"); got <- answer{o, c} }()
	// An idle connection (no request yet) must not hold the shutdown.
	idle, err := net.Dial("tcp", a.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(300 * time.Millisecond)
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case ans := <-got:
		if ans.out != "OK - slow\n" || ans.code != 0 {
			t.Errorf("check in flight at SIGTERM: rc %d %q", ans.code, ans.out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer for the check in flight at SIGTERM")
	}
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the agent still runs 20 s after SIGTERM: an idle connection holds the shutdown")
	}
	if _, err := os.Stat(pid); err == nil {
		t.Error("pid file left after SIGTERM")
	}
}

// log_file receives the log; check-config lists errors with lines and
// exits non-zero.
func TestLogFileAndCheckConfig(t *testing.T) {
	dir := workDir(t)
	logFile := filepath.Join(dir, "agent.log")
	a := startAgent(t, "log_file="+logFile+"\ndebug=1\n", "-n")
	stock(t, a.addr(), "-n", "-c", "nosuch")
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(logFile)
		if strings.Contains(string(b), `query=nosuch`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log_file lacks the request:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	bad := filepath.Join(dir, "bad.cfg")
	os.WriteFile(bad, []byte("server_port=x\nfrobnicate=1\ncommand[ok]=/bin/true\nssl_client_certs=7\n"), 0o644)
	out, code := run(t, testenv.Build(t, "agent/cmd/vigil-agent"), "check-config", "-c", bad)
	want := "warning: frobnicate: unknown option, ignored (" + bad + ":2)\n" +
		"error: " + bad + `:1: server_port: "x" is not a number` + "\n" +
		"error: " + bad + ":4: ssl_client_certs: 7 is outside 0..2\n"
	if out != want || code != 1 {
		t.Errorf("check-config: rc %d\n%s\nwant:\n%s", code, out, want)
	}
}

// max_concurrent_checks=1: checks sent at once never overlap (each one
// takes a lock directory and fails loudly if another holds it).
func TestMaxConcurrentChecks(t *testing.T) {
	dir := workDir(t)
	locks := filepath.Join(dir, "locks")
	os.Mkdir(locks, 0o777)
	os.Chmod(locks, 0o777) // checks run as nagios
	lock := filepath.Join(locks, "lock")
	body := "mkdir " + lock + " 2>/dev/null || { echo 'CRITICAL - overlap'; exit 2; }\nsleep 0.3\nrmdir " + lock + "\necho 'OK - alone'"
	a := startAgent(t, "max_concurrent_checks=1\ncommand_timeout=20\ncommand[one]="+script(t, dir, "one", body)+"\n", "-n")
	type answer struct {
		out  string
		code int
	}
	answers := make(chan answer, 4)
	for i := 0; i < 4; i++ {
		go func() { o, c := stock(t, a.addr(), "-n", "-t", "30", "-c", "one"); answers <- answer{o, c} }()
	}
	for i := 0; i < 4; i++ {
		if ans := <-answers; ans.out != "OK - alone\n" || ans.code != 0 {
			t.Errorf("rc %d %q", ans.code, ans.out)
		}
	}
}

// Started as root, the agent drops to nrpe_user for good once its port is
// bound, as the stock daemon does, so an in-process check has no more
// rights than a forked one: the whole process runs as nagios, with
// nagios's groups, and its log says so.
func TestAgentDropsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start as root")
	}
	u, err := user.Lookup("nagios")
	if err != nil {
		t.Fatalf("the nagios user: %v", err)
	}
	a := startAgent(t, "command[load]=vigil:check_host --mode load\n", "-n")
	waitLog(t, a.log, `dropped root: running as nagios`)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
			want := u.Uid
			if f[0] == "Gid:" {
				want = u.Gid
			}
			for _, id := range f[1:5] { // real, effective, saved, filesystem
				if id != want {
					t.Errorf("%s %v, want all %s", f[0], f[1:5], want)
					break
				}
			}
		}
	}
	if out, code := stock(t, a.addr(), "-n", "-c", "load"); code != 0 || !strings.HasPrefix(out, "HOST OK - load average") {
		t.Errorf("in-process check after dropping root: rc %d %q", code, out)
	}
}
