package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// Version is stamped at build time with -ldflags "-X ...plugin.Version=...".
var Version = "dev"

// DefaultTimeout is the -t default, as in the stock plugins.
const DefaultTimeout = 10 * time.Second

// timeoutGrace is how long Run waits, once the deadline has passed, for the
// check to return its own verdict (a check may know that a socket timeout is
// CRITICAL) before it reports the timeout itself.
const timeoutGrace = 200 * time.Millisecond

// Plugin describes one check program.
type Plugin struct {
	Program     string   // binary name, "check_host"
	Name        string   // status-line prefix, "HOST"
	Description string   // one paragraph for --help
	Examples    []string // shown under Examples: in --help
	// Thresholds registers the standard -w/--warning and -c/--critical for
	// a check that has one main metric.
	Thresholds bool
	// Args, when set, accepts positional arguments; most checks take none.
	Args bool
	// Flags registers the check's own flags.
	Flags func(fs *pflag.FlagSet)
	// Check does the work. It must honour ctx and never print or exit.
	Check func(ctx context.Context, env Env) Result
}

// Env is what Run hands a check besides its own flags.
type Env struct {
	Thresholds Thresholds
	Verbose    int
	Timeout    time.Duration
	Args       []string  // positional arguments, when Plugin.Args is set
	Stderr     io.Writer // for debugging output at -vvv; never the status
}

// Main runs the plugin as a process and exits with its status. SIGINT and
// SIGTERM cancel the check like a timeout does.
func Main(p *Plugin) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status := Run(ctx, p, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(int(status))
}

// Run parses args, runs the check under its deadline, writes the rendered
// result to stdout and returns the status, which is the exit code. A bad flag,
// --help and --version return UNKNOWN (3), as the stock plugins do; pflag's
// own handling would exit 2, which Nagios reads as CRITICAL.
func Run(ctx context.Context, p *Plugin, args []string, stdout, stderr io.Writer) Status {
	fs := pflag.NewFlagSet(p.Program, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	var (
		help, version bool
		env           = Env{Stderr: stderr}
		timeout       = Timeout{Duration: DefaultTimeout, State: Unknown}
	)
	if p.Thresholds {
		RangeVarP(fs, &env.Thresholds.Warning, "warning", "w", "warning range, e.g. 10, 10:, ~:10, 10:20, @10:20")
		RangeVarP(fs, &env.Thresholds.Critical, "critical", "c", "critical range, same syntax as --warning")
	}
	if p.Flags != nil {
		p.Flags(fs)
	}
	fs.VarP(&timeout, "timeout", "t", "seconds before the check gives up, optionally with the state to report then (UNKNOWN unless given)")
	fs.CountVarP(&env.Verbose, "verbose", "v", "more detail; repeat for more (-vvv)")
	fs.BoolVarP(&version, "version", "V", false, "print the version and exit")
	fs.BoolVarP(&help, "help", "h", false, "print this help and exit")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			io.WriteString(stdout, Help(p, fs))
			return Unknown
		}
		io.WriteString(stdout, Unknownf("%v (see %s --help)", err, p.Program).Render(p.Name))
		return Unknown
	}
	if help {
		io.WriteString(stdout, Help(p, fs))
		return Unknown
	}
	if version {
		fmt.Fprintf(stdout, "%s %s (vigil)\n", p.Program, Version)
		return Unknown
	}
	env.Args = fs.Args()
	if len(env.Args) > 0 && !p.Args {
		io.WriteString(stdout, Unknownf("unexpected argument %q (see %s --help)", env.Args[0], p.Program).Render(p.Name))
		return Unknown
	}
	env.Timeout = timeout.Duration
	res := Execute(ctx, p, env, timeout.State)
	io.WriteString(stdout, res.Render(p.Name))
	return res.Status
}

// Execute runs p.Check under a deadline of env.Timeout, turning a panic into
// UNKNOWN and a check that outlives its deadline into timeoutState with a
// message naming the stage it was in.
func Execute(ctx context.Context, p *Plugin, env Env, timeoutState Status) Result {
	tracker := &stageTracker{}
	ctx = context.WithValue(ctx, stageKey{}, tracker)
	// A caller with an earlier deadline (the agent's command_timeout) caps
	// the budget, and the timeout message then names the budget really had.
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); left < env.Timeout {
			env.Timeout = max(left, 0)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, env.Timeout)
	defer cancel()

	done := make(chan Result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				if env.Verbose >= 3 && env.Stderr != nil {
					fmt.Fprintf(env.Stderr, "panic: %v\n%s", v, debug.Stack())
				}
				done <- Unknownf("internal error: %v (please report this bug)", v)
			}
		}()
		done <- p.Check(ctx, env)
	}()

	select {
	case res := <-done:
		return timedOut(ctx, res, env.Timeout, tracker, timeoutState)
	case <-ctx.Done():
	}
	grace := time.NewTimer(timeoutGrace)
	defer grace.Stop()
	select {
	case res := <-done:
		return timedOut(ctx, res, env.Timeout, tracker, timeoutState)
	case <-grace.C:
	}
	return timeoutResult(ctx, env.Timeout, tracker, timeoutState)
}

// timedOut keeps a check's own verdict unless the deadline passed and the
// check could only say UNKNOWN (a client library returning "context deadline
// exceeded"): then the runner's message, naming the stage, in the state -t
// asked for, says more.
func timedOut(ctx context.Context, res Result, timeout time.Duration, tracker *stageTracker, timeoutState Status) Result {
	if ctx.Err() != nil && res.Status == Unknown {
		return timeoutResult(ctx, timeout, tracker, timeoutState)
	}
	return res
}

func timeoutResult(ctx context.Context, timeout time.Duration, tracker *stageTracker, timeoutState Status) Result {
	what := "timed out"
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		what = "cancelled"
	}
	msg := fmt.Sprintf("%s after %s", what, formatDuration(timeout))
	if stage := tracker.get(); stage != "" {
		msg += " while " + stage
	}
	return Result{Status: timeoutState, Summary: msg}
}

func formatDuration(d time.Duration) string {
	return FormatNumber(d.Round(100*time.Millisecond).Seconds()) + "s"
}

type stageKey struct{}

type stageTracker struct {
	mu   sync.Mutex
	name string
}

func (s *stageTracker) get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

// SetStage records what the check is doing, so that a timeout can say which
// stage ran out of time ("timed out after 10s while listing containers").
func SetStage(ctx context.Context, stage string) {
	if s, ok := ctx.Value(stageKey{}).(*stageTracker); ok {
		s.mu.Lock()
		s.name = stage
		s.mu.Unlock()
	}
}

// Help renders --help: version, description, usage, every flag, examples.
func Help(p *Plugin, fs *pflag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (vigil)\n\n", p.Program, Version)
	if p.Description != "" {
		b.WriteString(strings.TrimSpace(p.Description))
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "Usage: %s [options]\n\nOptions:\n", p.Program)
	b.WriteString(fs.FlagUsagesWrapped(100))
	if len(p.Examples) > 0 {
		b.WriteString("\nExamples:\n")
		for _, e := range p.Examples {
			b.WriteString("  ")
			b.WriteString(e)
			b.WriteByte('\n')
		}
	}
	b.WriteString("\nExit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n")
	return b.String()
}
