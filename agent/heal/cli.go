package heal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigil-monitoring/vigil/agent/run"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// DefaultStateDir holds state.json, heal.lock and audit.log: under
// /var/lib/vigil, the one directory the packaged systemd unit lets the
// agent write (ReadWritePaths). Every healer of a host must use the same
// directory, or they do not share the lock.
const DefaultStateDir = "/var/lib/vigil/heal"

// CLI is `vigil-agent heal`. LoadConfig reads -c FILE; nil uses the
// agent's config parser (LoadAgentConfig: include, include_dir).
type CLI struct {
	Program       string // "vigil-agent heal"
	DefaultConfig string
	LoadConfig    func(file string) (Loaded, error)
}

// Loaded is what a config file gives the heal command.
type Loaded struct {
	Entries  []Entry           // watch[...] lines
	Commands map[string]string // command[...] lines
	StateDir string            // vigil_heal_state_dir; "" for the default
	Runner   run.Runner        // how command[...] lines run (prefix, policy, in-process)
}

const cliUsage = `Usage:
  %[1]s --once [-c FILE]            step every watch rule once (for cron); exit 0 when all are OK
  %[1]s --once --container NAME     the same for one container, with no config file
  %[1]s --daemon [-c FILE]          step every rule on its interval until stopped
  %[1]s --act RULE [-c FILE]        act now on a HARD failure seen by Nagios/Icinga (event handler)
  %[1]s --status [-c FILE]          check_heal: recovery activity as a Nagios check
  %[1]s --reset RULE                forget RULE's history and lift its give-up

Every mode takes the lock in --state-dir and honours the same limits, so
the daemon, cron and event handlers never restart one thing twice for one
failure.

Options:
%[2]s
Exit status: 0 OK, 1 WARNING (failing SOFT, or waiting for a re-check),
2 CRITICAL (HARD failure, failed action, gave up), 3 UNKNOWN.
`

// Main runs the heal command with args and returns the exit code.
func (c CLI) Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	prog := c.Program
	if prog == "" {
		prog = "vigil-agent heal"
	}
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	var (
		once, daemon, status, help bool
		act, reset                 string
		configFile                 = c.DefaultConfig
		stateDir                   = DefaultStateDir
		auditPath, dockerHost      string
		dryRun                     bool
		one                        = NewRule("")
		name                       string
		stale                      time.Duration
		containerName              string
	)
	fs.BoolVar(&once, "once", false, "step every rule once and exit")
	fs.BoolVar(&daemon, "daemon", false, "step rules on their intervals until SIGTERM")
	fs.StringVar(&act, "act", "", "event-handler action for `RULE`: re-probe and act at once within the limits")
	fs.BoolVar(&status, "status", false, "report recovery activity as a Nagios check (check_heal)")
	fs.StringVar(&reset, "reset", "", "forget `RULE`'s history and lift its give-up")
	fs.DurationVar(&stale, "stale", 0, "with --status: WARNING when a rule has not been probed for this long (is healing running?); 0: off")
	fs.StringVarP(&configFile, "config", "c", configFile, "config `FILE` with watch[...] and command[...] lines")
	fs.StringVar(&stateDir, "state-dir", stateDir, "`DIR` of the state file, lock and audit log")
	fs.StringVar(&auditPath, "audit-log", "", "audit log `FILE` (default STATE-DIR/audit.log; - for stderr)")
	fs.StringVar(&dockerHost, "docker-host", "", "engine address (default DOCKER_HOST or the local socket)")
	fs.BoolVar(&dryRun, "dry-run", false, "log what would be done, do nothing")
	fs.StringVar(&containerName, "container", "", "one rule, no config: watch container `NAME` (not running, exited or unhealthy = failure) and restart it")
	fs.StringVar(&name, "name", "", "rule name for --container (default: the container name)")
	fs.IntVar(&one.Attempts, "attempts", one.Attempts, "consecutive failures that make a HARD failure (max_check_attempts)")
	fs.IntVar(&one.MaxActions, "max-restarts", one.MaxActions, "restarts allowed per --window, then give up")
	fs.DurationVar(&one.Window, "window", one.Window, "the window of --max-restarts")
	fs.DurationVar(&one.Backoff, "backoff", one.Backoff, "wait after a restart before another; doubles per restart in the window")
	fs.DurationVar(&one.MaxBackoff, "max-backoff", one.MaxBackoff, "cap of the backoff")
	fs.DurationVar(&one.Grace, "grace", one.Grace, "wait after a restart before the re-check")
	fs.DurationVar(&one.Interval, "interval", one.Interval, "between probes (--daemon)")
	fs.DurationVar(&one.StopTimeout, "stop-timeout", one.StopTimeout, "engine's wait before SIGKILL on restart")
	fs.DurationVar(&one.ActionTimeout, "action-timeout", one.ActionTimeout, "bound of one restart")
	fs.BoolVarP(&help, "help", "h", false, "this help")

	usage := func() string { return fmt.Sprintf(cliUsage, prog, fs.FlagUsagesWrapped(100)) }
	fail := func(format string, a ...any) int {
		io.WriteString(stdout, plugin.Unknownf(format, a...).Render("HEAL"))
		return int(plugin.Unknown)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			io.WriteString(stdout, usage())
			return int(plugin.Unknown)
		}
		return fail("%v (see %s --help)", err, prog)
	}
	if help {
		io.WriteString(stdout, usage())
		return int(plugin.Unknown)
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q (see %s --help)", fs.Arg(0), prog)
	}
	modes := 0
	for _, on := range []bool{once, daemon, act != "", status, reset != ""} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return fail("give exactly one of --once, --daemon, --act, --status, --reset (see %s --help)", prog)
	}

	var loaded Loaded
	if containerName == "" && configFile != "" {
		load := c.LoadConfig
		if load == nil {
			load = LoadAgentConfig
		}
		var err error
		if loaded, err = load(configFile); err != nil {
			return fail("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		if loaded.StateDir != "" && !fs.Changed("state-dir") {
			stateDir = loaded.StateDir
		}
	}
	if reset != "" {
		h, closeAudit, err := openHealer(stateDir, auditPath)
		if err != nil {
			return fail("%v", err)
		}
		defer closeAudit()
		found, err := h.Reset(ctx, reset)
		switch {
		case err != nil:
			return fail("resetting %s: %v", reset, err)
		case !found:
			fmt.Fprintf(stdout, "HEAL OK - %s had no recorded history; nothing to reset\n", reset)
		default:
			fmt.Fprintf(stdout, "HEAL OK - %s reset: history forgotten, give-up lifted\n", reset)
		}
		return int(plugin.OK)
	}

	var rules []Rule
	if containerName != "" {
		one.Name = name
		if one.Name == "" {
			one.Name = containerName
		}
		one.Check, one.CheckTarget = CheckContainer, containerName
		one.Action, one.Target = ActionRestart, containerName
		if err := one.Validate(); err != nil {
			return fail("%v", err)
		}
		rules = []Rule{one}
	} else {
		if configFile == "" {
			return fail("no rules: give -c FILE or --container NAME")
		}
		var err error
		rules, err = ParseRules(loaded.Entries, loaded.Commands)
		if err != nil {
			return fail("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	if status {
		// Read only: no lock, no audit log, no engine; the NRPE user
		// (nrpe_user) that runs it may read the state and nothing more.
		res := (&Healer{StateDir: stateDir}).Status(rules, stale)
		io.WriteString(stdout, res.Render("HEAL"))
		return int(res.Status)
	}
	loaded.StateDir = stateDir
	h, ptrs, closeAll, err := prepare(loaded, rules, auditPath, dockerHost, dryRun)
	if err != nil {
		return fail("%v", err)
	}
	defer closeAll()
	switch {
	case act != "":
		for _, r := range ptrs {
			if r.Name == act {
				res := Summarize(h.RunOnce(ctx, []*Rule{r}, EventHandler))
				io.WriteString(stdout, res.Render("HEAL"))
				return int(res.Status)
			}
		}
		return fail("no watch rule named %q", act)
	case daemon:
		if len(ptrs) == 0 {
			return fail("no watch rules configured")
		}
		fmt.Fprintf(stderr, "%s: watching %d rules, state in %s\n", prog, len(ptrs), stateDir)
		h.Daemon(ctx, ptrs, nil)
		return int(plugin.OK)
	}
	res := Summarize(h.RunOnce(ctx, ptrs, Scheduled))
	io.WriteString(stdout, res.Render("HEAL"))
	return int(res.Status)
}

func needsEngine(rules []Rule) bool {
	for _, r := range rules {
		if r.Check == CheckContainer || r.Action == ActionRestart {
			return true
		}
	}
	return false
}

// openHealer creates the state directory and opens the audit log.
func openHealer(stateDir, auditPath string) (*Healer, func(), error) {
	// Readable by all: check_heal runs as the NRPE user (nrpe_user),
	// which reads state.json; nothing in it is secret beyond what the
	// monitoring server already sees.
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating state directory: %w", err)
	}
	audit, closeAudit, err := OpenAudit(auditPath, stateDir)
	if err != nil {
		return nil, nil, err
	}
	return &Healer{StateDir: stateDir, Audit: audit}, closeAudit, nil
}

// prepare opens the healer over loaded.StateDir (default DefaultStateDir)
// and binds the rules: a docker client when a rule needs one, commands
// through loaded.Runner.
func prepare(loaded Loaded, rules []Rule, auditPath, dockerHost string, dryRun bool) (*Healer, []*Rule, func(), error) {
	stateDir := loaded.StateDir
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	h, closeAudit, err := openHealer(stateDir, auditPath)
	if err != nil {
		return nil, nil, nil, err
	}
	closers := []func(){closeAudit}
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	binding := Binding{Runner: loaded.Runner}
	binding.Runner.Commands = loaded.Commands
	if needsEngine(rules) {
		eng, err := ConnectEngine(dockerHost)
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		closers = append(closers, func() { eng.Close() })
		binding.Engine = eng
	}
	ptrs := make([]*Rule, len(rules))
	for i := range rules {
		r := rules[i]
		if err := binding.Bind(&r); err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		r.DryRun = r.DryRun || dryRun
		ptrs[i] = &r
	}
	return h, ptrs, closeAll, nil
}
