// Package latency holds the integration tests of check_model_latency: the
// check's binary against the fixture model server, as a process on
// 127.0.0.1 and as a container on the Docker engine.
package latency

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

const (
	checkPkg  = "plugins/cmd/check_model_latency"
	serverPkg = "test/fixtures/modelserver/cmd/modelserver"
)

// startServer runs the fixture model server on a port of its choosing and
// returns its base URL; the process is stopped (by its PID) when the test
// ends.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	url, _ := startServerOn(t, "127.0.0.1:0", args...)
	return url
}

// startServerOn runs the fixture on listen and returns its base URL and a
// function that stops it (also called when the test ends).
func startServerOn(t *testing.T, listen string, args ...string) (string, func()) {
	t.Helper()
	bin := testenv.Build(t, serverPkg)
	cmd := exec.Command(bin, append([]string{"--listen", listen}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting modelserver: %v", err)
	}
	done := make(chan struct{})
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(stop)
	go func() { cmd.Wait(); close(done) }()
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		addr <- strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	}()
	select {
	case a := <-addr:
		if a == "" {
			t.Fatal("modelserver exited before listening")
		}
		return "http://" + a, stop
	case <-time.After(10 * time.Second):
		t.Fatal("modelserver did not report its address within 10s")
	}
	return "", stop
}

// runCheck runs check_model_latency and returns its output and exit code.
func runCheck(t *testing.T, args ...string) (string, int) {
	t.Helper()
	bin := testenv.Build(t, checkPkg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("running check_model_latency %v: %v", args, err)
	return "", -1
}

var perfItem = regexp.MustCompile(`([a-z0-9_.]+)=([0-9.]+|U)(ms|s|%)?[;\s]`)

// perfdata returns the perfdata values of a plugin output, in the unit
// printed.
func perfdata(t *testing.T, out string) map[string]float64 {
	t.Helper()
	first, _, _ := strings.Cut(out, "\n")
	_, perf, ok := strings.Cut(first, " | ")
	if !ok {
		t.Fatalf("no perfdata in %q", out)
	}
	vals := map[string]float64{}
	for _, m := range perfItem.FindAllStringSubmatch(perf+" ", -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue // U
		}
		vals[m[1]] = v
	}
	return vals
}

// within fails the test unless lo <= v <= hi.
func within(t *testing.T, what string, v, lo, hi float64, out string) {
	t.Helper()
	if v < lo || v > hi {
		t.Errorf("%s = %v, want within [%v, %v]\n%s", what, v, lo, hi, out)
	}
}

func firstLine(out string) string {
	line, _, _ := strings.Cut(out, "\n")
	return line
}

// wantLine fails unless the output's first line (before the perfdata)
// matches the pattern.
func wantLine(t *testing.T, out, pattern string) {
	t.Helper()
	status, _, _ := strings.Cut(firstLine(out), " | ")
	if !regexp.MustCompile(pattern).MatchString(status) {
		t.Errorf("status line %q does not match %s", status, pattern)
	}
}

func v2Args(url string, extra ...string) []string {
	return append([]string{"-u", url, "--v2-model", "simple", "--input", "input0:FP32:1,4:0.1,0.2,0.3,0.4"}, extra...)
}

// inferBody is a V2 request whose parameters fix the fixture's latency.
func inferBody(latencyMS float64) string {
	return fmt.Sprintf(`{"inputs":[{"name":"input0","shape":[1],"datatype":"FP32","data":[1]}],"parameters":{"latency_ms":%g}}`, latencyMS)
}
