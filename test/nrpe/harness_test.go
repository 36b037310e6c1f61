// Package nrpe holds vigil-agent's integration tests against the real
// peers: Debian's check_nrpe 4.1.0 (nagios-nrpe-plugin) talking to
// vigil-agent, and vigil's client talking to the stock nrpe 4.1.0 daemon
// (nagios-nrpe-server). Every process a test starts is stopped by PID.
package nrpe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

const (
	checkNRPE  = "/usr/lib/nagios/plugins/check_nrpe"
	checkDummy = "/usr/lib/nagios/plugins/check_dummy"
	stockNRPE  = "/usr/sbin/nrpe"
)

// agent is a running vigil-agent.
type agent struct {
	port int
	dir  string
	cfg  string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// workDir makes a directory the nagios user can read and traverse (checks
// run as nrpe_user when the tests run as root).
func workDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	// t.TempDir's parent is 0700 too.
	for _, p := range []string{filepath.Dir(d), d} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// userLines are the settings every test config needs: checks run as
// nagios when the tests run as root.
func userLines() string {
	if os.Geteuid() == 0 {
		return "nrpe_user=nagios\nnrpe_group=nagios\n"
	}
	return ""
}

// startAgent writes cfg (plus server_port, vigil_tls_dir and the user
// lines) and starts vigil-agent serve on it with extra flags.
func startAgent(t *testing.T, cfg string, flags ...string) *agent {
	t.Helper()
	bin := testenv.Build(t, "agent/cmd/vigil-agent")
	dir := workDir(t)
	a := &agent{port: testenv.FreePort(t), dir: dir, log: &syncBuffer{}, done: make(chan struct{})}
	if !strings.Contains(cfg, "server_address=") {
		cfg = "server_address=127.0.0.1\n" + cfg
	}
	a.cfg = filepath.Join(dir, "nrpe.cfg")
	text := fmt.Sprintf("server_port=%d\nvigil_tls_dir=%s\n%s%s", a.port, filepath.Join(dir, "tls"), userLines(), cfg)
	if err := os.WriteFile(a.cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	a.start(t, bin, append([]string{"serve", "-c", a.cfg}, flags...))
	return a
}

func (a *agent) start(t *testing.T, bin string, args []string) {
	t.Helper()
	a.cmd = exec.Command(bin, args...)
	a.cmd.Stdout = a.log
	a.cmd.Stderr = a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() { a.stop(t) })
	waitListening(t, a.addr(), a.done, a.log)
}

func (a *agent) addr() string {
	host := "127.0.0.1"
	if b, err := os.ReadFile(a.cfg); err == nil && strings.Contains(string(b), "server_address=::1") {
		host = "::1"
	}
	return net.JoinHostPort(host, strconv.Itoa(a.port))
}

// stop sends SIGTERM and waits; SIGKILL after 10 s.
func (a *agent) stop(t *testing.T) {
	select {
	case <-a.done:
		return
	default:
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		t.Errorf("agent %d ignored SIGTERM for 10 s; killing it", a.cmd.Process.Pid)
		a.cmd.Process.Kill()
		<-a.done
	}
	if t.Failed() {
		t.Logf("agent log:\n%s", a.log.String())
	}
}

func waitListening(t *testing.T, addr string, done <-chan struct{}, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("server exited before listening on %s:\n%s", addr, log)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listening on %s after 15 s:\n%s", addr, log)
}

// waitLog waits for a line containing want in the log.
func waitLog(t *testing.T, log fmt.Stringer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(log.String(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("log never showed %q:\n%s", want, log)
}

// run runs a program with a 60 s bound and returns stdout+stderr and its
// exit code.
func run(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %q: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// stock runs check_nrpe against addr ("host:port") with args.
func stock(t *testing.T, addr string, args ...string) (string, int) {
	t.Helper()
	testenv.RequireFile(t, checkNRPE)
	host, port, _ := net.SplitHostPort(addr)
	return run(t, checkNRPE, append([]string{"-H", host, "-p", port}, args...)...)
}

// query runs vigil-agent query against addr with args.
func query(t *testing.T, addr string, args ...string) (string, int) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	return run(t, testenv.Build(t, "agent/cmd/vigil-agent"), append([]string{"query", "-H", host, "-p", port}, args...)...)
}
