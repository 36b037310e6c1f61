package heal

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/agent/run"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func TestCommandProbeAndAction(t *testing.T) {
	runner := run.Runner{Commands: map[string]string{
		"crit":  "/bin/sh -c 'echo \"API CRITICAL - 503 | time=0.1s\"; echo second line; exit 2'",
		"weird": "/bin/sh -c 'echo odd; exit 7'",
	}, Process: processOptions()}
	res := CommandProbe(runner, "crit", 5*time.Second)(context.Background())
	if res.Status != plugin.Critical || res.Summary != "API CRITICAL - 503" {
		t.Errorf("crit: %v %q", res.Status, res.Summary)
	}
	if res := CommandProbe(runner, "weird", 5*time.Second)(context.Background()); res.Status != plugin.Unknown {
		t.Errorf("exit 7: %v %q", res.Status, res.Summary)
	}

	ok, err := CommandAction("", "/bin/echo flushed", processOptions())(context.Background())
	if err != nil || ok != "ran: flushed" {
		t.Errorf("echo: %q %v", ok, err)
	}
	_, err = CommandAction("", "/bin/sh -c 'echo no space left >&2; exit 1'", processOptions())(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exited with code 1: no space left") {
		t.Errorf("failing action: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = CommandAction("", "/bin/sleep 30", processOptions())(ctx)
	if err == nil || !strings.Contains(err.Error(), "timed out") || time.Since(start) > 5*time.Second {
		t.Errorf("slow action: %v after %s", err, time.Since(start))
	}
	// Without systemd (this machine, CI) the action says so; with it, the
	// unit does not exist. Either way it is an error, never a success.
	if _, err := SystemdAction("vigil-no-such-unit.service", processOptions())(context.Background()); err == nil {
		t.Error("systemctl restart of a missing unit succeeded")
	} else {
		t.Log(err)
	}
}
