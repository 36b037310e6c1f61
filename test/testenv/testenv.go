// Package testenv holds what the integration tests under test/ share: how a
// missing component is treated (skipped locally, a failure under CI=true),
// building vigil's own binaries once per test process, and free ports.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI (CI=true), where every
// component must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require skips the test when ok is false, naming what is missing; under CI
// it fails instead, because there a missing component is a broken set-up.
func Require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("required component missing under CI: %s", what)
	}
	t.Skipf("skipping: %s is missing (run `make deps` to install it)", what)
}

// RequireFile requires an executable or file at path and returns path.
func RequireFile(t testing.TB, path string) string {
	t.Helper()
	_, err := os.Stat(path)
	Require(t, err == nil, path)
	return path
}

// RequireCommand requires a program on PATH and returns its path.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Require(t, err == nil, name)
	return p
}

// RepoRoot returns the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// buildDirPrefix names the per-process directories Build compiles into:
// the suffix is the test process's PID.
const buildDirPrefix = "vigil-test-bin-"

// removeStaleBuildDirs removes the build directories of test processes that
// have ended. A test binary has no hook at its exit to remove its own, so
// each run sweeps its predecessors': the binaries never pile up.
func removeStaleBuildDirs() {
	entries, _ := os.ReadDir(os.TempDir())
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), buildDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		if pid, err := strconv.Atoi(rest); err == nil && pid > 0 && syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // that test process is still running
		}
		os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
	}
}

// Build compiles one of vigil's packages (relative to the repo root, such as
// "plugins/cmd/check_host") as a static binary, once per test process, and
// returns its path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if buildDir == "" {
		removeStaleBuildDirs()
		d := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d", buildDirPrefix, os.Getpid()))
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("creating build dir: %v", err)
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./"+strings.TrimPrefix(pkg, "./"))
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// HoldPort serialises the tests that must listen on a fixed port (NRPE's
// 5666, where Debian's unmodified nrpe.cfg and the shipped Nagios commands
// look) across test packages, which go test runs in parallel processes: it
// takes an exclusive flock on a file named after the port, released when
// the test ends. It waits up to five minutes for the port's other user.
func HoldPort(t testing.TB, port int) {
	t.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("vigil-test-port-%d.lock", port))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("port %d still held by another test after 5 minutes", port)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() })
}

// ProcessesWith lists the live (non-zombie) processes whose command line
// contains s, as "PID: command line": what the tests that kill process
// groups look for to prove nothing was left behind.
func ProcessesWith(s string) []string {
	var found []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// The state follows the command name, which may hold spaces and ")".
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		if f := strings.Fields(rest); len(f) > 0 && f[0] == "Z" {
			continue
		}
		found = append(found, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return found
}
