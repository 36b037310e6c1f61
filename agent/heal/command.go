package heal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// shellChars make a command line run through /bin/sh -c, the rule the
// agent's command runner follows too; any other line is split on blanks
// and run directly.
const shellChars = "|&;<>()$`\\\"'*?[]{}~#\n\r"

// maxCommandOutput bounds what is kept of a command's output.
const maxCommandOutput = 64 * 1024

// runLine runs a configured command line under ctx in its own process
// group, killed as a group when ctx ends, and returns its exit code and
// output.
func runLine(ctx context.Context, line string) (int, string, error) {
	var cmd *exec.Cmd
	if strings.ContainsAny(line, shellChars) {
		cmd = exec.Command("/bin/sh", "-c", line)
	} else {
		f := strings.Fields(line)
		if len(f) == 0 {
			return -1, "", errors.New("empty command line")
		}
		cmd = exec.Command(f[0], f[1:]...)
	}
	var out bytes.Buffer
	cmd.Stdout = &limitWriter{w: &out, n: maxCommandOutput}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return -1, "", fmt.Errorf("starting %s: %w", line, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return -1, out.String(), fmt.Errorf("%s: %w", line, ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String(), nil
	}
	if err != nil {
		return -1, out.String(), fmt.Errorf("running %s: %w", line, err)
	}
	return 0, out.String(), nil
}

type limitWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if room := l.n - l.w.Len(); room > 0 {
		if len(p) > room {
			l.w.Write(p[:room])
		} else {
			l.w.Write(p)
		}
	}
	return len(p), nil
}

// CommandProbe runs a plugin command line and reads its exit code as the
// plugin status (0..3; anything else, or a failure to run, is UNKNOWN) and
// its first output line as the summary.
func CommandProbe(line string) Probe {
	return func(ctx context.Context) plugin.Result {
		plugin.SetStage(ctx, "running "+line)
		code, out, err := runLine(ctx, line)
		if err != nil {
			return plugin.Unknownf("%v", err)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		first, _, _ = strings.Cut(first, "|") // perfdata is not part of the verdict
		st := plugin.Status(code)
		if code < 0 || code > 3 {
			st = plugin.Unknown
			first = fmt.Sprintf("exit code %d: %s", code, first)
		}
		return plugin.Result{Status: st, Summary: strings.TrimSpace(first)}
	}
}

// CommandAction runs a command line as an action: exit 0 is success.
func CommandAction(line string) Action {
	return func(ctx context.Context) (string, error) {
		code, out, err := runLine(ctx, line)
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		if err != nil {
			return "", err
		}
		if code != 0 {
			return "", fmt.Errorf("%s exited with code %d: %s", line, code, first)
		}
		if first == "" {
			first = "exit 0"
		}
		return "ran: " + first, nil
	}
}

// SystemdAction restarts a unit with systemctl, where systemd runs (the
// test sd_booted(3) uses: /run/systemd/system exists).
func SystemdAction(unit string) Action {
	return func(ctx context.Context) (string, error) {
		if _, err := os.Stat("/run/systemd/system"); err != nil {
			return "", fmt.Errorf("systemctl restart %s: systemd is not running on this host", unit)
		}
		start := time.Now()
		code, out, err := runLine(ctx, "systemctl restart "+unit)
		if err != nil {
			return "", err
		}
		if code != 0 {
			return "", fmt.Errorf("systemctl restart %s exited with code %d: %s", unit, code, strings.TrimSpace(out))
		}
		return fmt.Sprintf("restarted unit in %s", time.Since(start).Round(time.Millisecond)), nil
	}
}
