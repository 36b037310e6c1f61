package heal

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/agent/run"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Commands run through agent/run, exactly as an NRPE request for the same
// command[NAME] would: command_prefix, the shell only when the line needs
// one, a clean environment, its own process group killed at the timeout,
// and vigil's own plugins in-process.

// maxActionOutput bounds what is kept of an action's output.
const maxActionOutput = 64 * 1024

// processOptions are the defaults for a command run outside the agent's
// NRPE server (cron mode, the stand-alone heal command).
func processOptions() run.ProcessOptions {
	return run.ProcessOptions{
		Env:       run.CleanEnv(os.Getenv("HOME"), os.Getenv("USER"), nil),
		MaxOutput: maxActionOutput,
		MaxStderr: 4096,
		KillGrace: 2 * time.Second,
	}
}

// CommandProbe runs command[name] through runner (a copy, with the probe's
// timeout) and reads the reply as a plugin result: the exit code is the
// status, the first output line without its perfdata the summary.
func CommandProbe(runner run.Runner, name string, timeout time.Duration) Probe {
	runner.Timeout = timeout
	return func(ctx context.Context) plugin.Result {
		plugin.SetStage(ctx, "running command "+name)
		reply, err := runner.Handle(ctx, name)
		if err != nil {
			return plugin.Unknownf("command %s refused: %v", name, err)
		}
		first, _, _ := strings.Cut(reply.Output, "\n")
		first, _, _ = strings.Cut(first, "|")
		return plugin.Result{Status: plugin.Status(reply.Code), Summary: strings.TrimSpace(first)}
	}
}

// CommandAction runs a command line as an action: exit 0 is success.
func CommandAction(prefix, line string, opts run.ProcessOptions) Action {
	return func(ctx context.Context) (string, error) {
		cmd := run.Prepare(prefix, line, nil)
		out, err := run.RunProcess(ctx, cmd, opts)
		if err != nil {
			return "", fmt.Errorf("running %s: %w", cmd.Line, err)
		}
		text := strings.TrimSpace(string(out.Stdout))
		if text == "" {
			text = strings.TrimSpace(string(out.Stderr))
		}
		first, _, _ := strings.Cut(text, "\n")
		switch {
		case out.TimedOut:
			return "", fmt.Errorf("%s timed out (process group killed): %w", cmd.Line, ctx.Err())
		case out.Signaled:
			return "", fmt.Errorf("%s was killed by a signal", cmd.Line)
		case out.ExitCode != 0:
			return "", fmt.Errorf("%s exited with code %d: %s", cmd.Line, out.ExitCode, first)
		}
		if first == "" {
			first = "exit 0"
		}
		return "ran: " + first, nil
	}
}

// SystemdAction restarts a unit with systemctl, where systemd runs (the
// test sd_booted(3) uses: /run/systemd/system exists).
func SystemdAction(unit string, opts run.ProcessOptions) Action {
	return func(ctx context.Context) (string, error) {
		if _, err := os.Stat("/run/systemd/system"); err != nil {
			return "", fmt.Errorf("systemctl restart %s: systemd is not running on this host", unit)
		}
		start := time.Now()
		out, err := run.RunProcess(ctx, run.Command{Line: "systemctl restart " + unit, Argv: []string{"systemctl", "restart", unit}}, opts)
		if err != nil {
			return "", fmt.Errorf("systemctl restart %s: %w", unit, err)
		}
		if out.TimedOut || out.ExitCode != 0 {
			return "", fmt.Errorf("systemctl restart %s failed (exit %d, timed out %v): %s", unit, out.ExitCode, out.TimedOut,
				strings.TrimSpace(string(out.Stderr)+" "+string(out.Stdout)))
		}
		return fmt.Sprintf("restarted unit in %s", time.Since(start).Round(time.Millisecond)), nil
	}
}
