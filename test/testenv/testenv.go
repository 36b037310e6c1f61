// Package testenv holds what the integration tests under test/ share: how a
// missing component is treated (skipped locally, a failure under CI=true),
// building vigil's own binaries once per test process, and free ports.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
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
		d, err := os.MkdirTemp("", "vigil-test-bin-")
		if err != nil {
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
