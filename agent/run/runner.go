package run

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
	"github.com/vigil-monitoring/vigil/plugins/registry"
)

// StockVersion is the NRPE version vigil-agent speaks and reports.
const StockVersion = "4.1.0"

// The stock daemon's answers, byte for byte.
const (
	msgNotDefined = "NRPE: Command '%s' not defined"
	msgTimedOut   = "NRPE: Command timed out after %d seconds"
	msgNoOutput   = "NRPE: Unable to read output"
)

// InProcessMarker prefixes a command line's program to run one of vigil's
// plugins in-process whatever vigil_inprocess says, and without needing its
// binary: command[host]=vigil:check_host -w 5 -c 10.
const InProcessMarker = "vigil:"

// Reply is the answer to a request.
type Reply struct {
	Code   int
	Output string
}

// Runner answers requests from one configuration. It holds no mutable
// state: a reload builds a new Runner.
type Runner struct {
	Policy    Policy
	Prefix    string            // command_prefix
	Commands  map[string]string // name -> command line
	Timeout   time.Duration     // command_timeout
	InProcess bool              // run registered plugins in-process
	Process   ProcessOptions
	Log       *slog.Logger
	// VersionText answers _NRPE_CHECK.
	VersionText string
	// Slots bounds how many checks run at once (max_concurrent_checks);
	// shared across reloads. nil: no bound.
	Slots chan struct{}
	// Lookup finds in-process plugins; nil means plugins/registry.
	Lookup func(program string) (func() *plugin.Plugin, bool)
	// Identify tells which vigil plugin a program file is; nil means a
	// shared Identifier reading Go build info.
	Identify func(program string) string
}

// Handle answers one query text. A *Rejection error means: close without
// an answer (and log it), as the stock daemon does.
func (r *Runner) Handle(ctx context.Context, text string) (Reply, error) {
	req, err := ParseRequest(text, r.Policy)
	if err != nil {
		return Reply{}, err
	}
	if req.Command == "_NRPE_CHECK" {
		return Reply{Code: 0, Output: r.VersionText}, nil
	}
	line, ok := r.Commands[req.Command]
	if !ok {
		return Reply{Code: 3, Output: fmt.Sprintf(msgNotDefined, req.Command)}, nil
	}
	cmd := Prepare(r.Prefix, line, req.Args)
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	log := r.logger().With("command", req.Command)
	if r.Slots != nil {
		select {
		case r.Slots <- struct{}{}:
			defer func() { <-r.Slots }()
		case <-ctx.Done():
			log.Warn("no free check slot before command_timeout (max_concurrent_checks)")
			return Reply{Code: 3, Output: fmt.Sprintf(msgTimedOut, int(r.Timeout/time.Second))}, nil
		}
	}

	if newPlugin, args, ok := r.inProcess(cmd); ok {
		log.Debug("running in-process", "argv", cmd.Argv)
		return r.runInProcess(ctx, log, newPlugin, args), nil
	}
	if strings.HasPrefix(cmd.Program(), InProcessMarker) {
		log.Warn("in-process plugin not known to this agent", "program", cmd.Program())
		return Reply{Code: 3, Output: msgNoOutput}, nil
	}
	start := time.Now()
	out, err := RunProcess(ctx, cmd, r.Process)
	if err != nil {
		log.Warn("command could not run", "line", cmd.Line, "err", err)
		return Reply{Code: 3, Output: msgNoOutput}, nil
	}
	if len(out.Stderr) > 0 {
		log.Info("command wrote to stderr", "line", cmd.Line, "stderr", strings.TrimSpace(string(out.Stderr)))
	}
	if out.TimedOut {
		log.Warn("command timed out; process group killed", "line", cmd.Line, "after", time.Since(start).Round(time.Millisecond))
		return Reply{Code: 3, Output: fmt.Sprintf(msgTimedOut, int(r.Timeout/time.Second))}, nil
	}
	code := out.ExitCode
	switch {
	case out.Signaled:
		code = 2
	case code < 0 || code > 3:
		log.Warn("bad return code, reported as 3", "line", cmd.Line, "code", code)
		code = 3
	}
	return r.reply(log, code, out.Stdout, cmd.Line), nil
}

// reply applies the stock daemon's output rules: exactly one trailing
// newline removed; no output at all is UNKNOWN "Unable to read output".
func (r *Runner) reply(log *slog.Logger, code int, stdout []byte, line string) Reply {
	stdout = bytes.TrimSuffix(stdout, []byte("\n"))
	if len(stdout) == 0 {
		log.Warn("command printed nothing on stdout", "line", line, "code", code)
		return Reply{Code: 3, Output: msgNoOutput}
	}
	return Reply{Code: code, Output: string(stdout)}
}

func (r *Runner) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// inProcess decides whether cmd runs inside the agent: never through a
// shell; always with the vigil: marker (vigil:check_host); otherwise when
// vigil_inprocess is on and the program file is one of vigil's plugin
// binaries, as its Go build info says (whatever the file is called).
func (r *Runner) inProcess(cmd Command) (func() *plugin.Plugin, []string, bool) {
	if cmd.Program() == "" {
		return nil, nil, false
	}
	lookup := r.Lookup
	if lookup == nil {
		lookup = registry.Lookup
	}
	name, marked := strings.CutPrefix(cmd.Argv[0], InProcessMarker)
	if !marked {
		if !r.InProcess {
			return nil, nil, false
		}
		identify := r.Identify
		if identify == nil {
			identify = defaultIdentifier.Plugin
		}
		if name = identify(cmd.Argv[0]); name == "" {
			return nil, nil, false
		}
	}
	newPlugin, ok := lookup(name)
	if !ok {
		return nil, nil, false
	}
	return newPlugin, cmd.Argv[1:], true
}

func (r *Runner) runInProcess(ctx context.Context, log *slog.Logger, newPlugin func() *plugin.Plugin, args []string) Reply {
	type result struct {
		code        plugin.Status
		out, stderr []byte
	}
	done := make(chan result, 1)
	go func() {
		var out, stderr bytes.Buffer
		code := plugin.Run(ctx, newPlugin(), args, &out, &stderr)
		done <- result{code, out.Bytes(), stderr.Bytes()}
	}()
	select {
	case res := <-done:
		if ctx.Err() != nil {
			// The command's time ran out as the check answered: a forked
			// check would have been killed, so answer as for one.
			log.Warn("in-process check timed out")
			return Reply{Code: 3, Output: fmt.Sprintf(msgTimedOut, int(r.Timeout/time.Second))}
		}
		if len(res.stderr) > 0 {
			log.Info("in-process check wrote to stderr", "stderr", strings.TrimSpace(string(res.stderr)))
		}
		code := int(res.code)
		if code < 0 || code > 3 {
			code = 3
		}
		out := res.out
		if max := r.Process.MaxOutput; max > 0 && len(out) > max {
			out = out[:max]
		}
		return r.reply(log, code, out, "(in-process)")
	case <-ctx.Done():
		log.Warn("in-process check timed out")
		return Reply{Code: 3, Output: fmt.Sprintf(msgTimedOut, int(r.Timeout/time.Second))}
	}
}
