// Package heal is vigil-agent's restart-on-failure recovery: watch rules
// that run a probe on an interval, count consecutive failures the way
// Nagios counts check attempts (SOFT, then HARD at max_check_attempts), and
// on a HARD failure act (restart a container, restart a systemd unit, run a
// command), wait a grace period and re-check.
//
// Limits keep a broken service from being restarted forever: exponential
// backoff between actions and at most N actions per window, after which the
// rule gives up and says so until the window passes or an operator resets
// it. Attempts, action times and give-ups live in a state file written
// atomically, and every healer (the daemon, cron mode, an event handler)
// takes the same lock in the state directory before it probes and acts, so a
// restart or crash of the agent forgets no limit and two healers never act
// twice on one failure.
package heal

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Probe runs a rule's check once. Its Status decides: a status listed in
// the rule's FailOn is a failed attempt, anything else a success.
type Probe func(ctx context.Context) plugin.Result

// Action is what a rule does on a HARD failure. It returns a short account
// of what it did ("restarted", "started (was exited)") or an error.
type Action func(ctx context.Context) (string, error)

// CheckKind says what a rule probes.
type CheckKind string

// The probe kinds.
const (
	CheckContainer CheckKind = "container" // check_container's verdict on one container, in-process
	CheckCommand   CheckKind = "command"   // a command[NAME] of the agent's configuration
)

// ActionKind says what a rule does on a HARD failure.
type ActionKind string

// The action kinds.
const (
	ActionRestart ActionKind = "restart" // restart a container through the engine API (start it if exited)
	ActionSystemd ActionKind = "systemd" // systemctl restart UNIT
	ActionCommand ActionKind = "command" // run a command[NAME] of the agent's configuration
	ActionNone    ActionKind = "none"    // watch only: count and report, never act
)

// Rule is one watch[NAME] line.
type Rule struct {
	Name string

	Check       CheckKind
	CheckTarget string // container name or command name
	Action      ActionKind
	Target      string // container, unit or command name

	Interval      time.Duration // between probes (daemon)
	Attempts      int           // consecutive failed probes that make a HARD failure (max_check_attempts)
	Grace         time.Duration // after an action, before the re-check
	Backoff       time.Duration // wait after the first action before another; doubles per action in the window
	MaxBackoff    time.Duration // cap of that wait
	MaxActions    int           // actions allowed per Window; one more HARD failure gives up
	Window        time.Duration
	ProbeTimeout  time.Duration // bound of one probe
	ActionTimeout time.Duration // bound of one action
	StopTimeout   time.Duration // container restart: seconds the engine waits before SIGKILL
	FailOn        []plugin.Status
	DryRun        bool

	// Probe and Act are bound at run time (Bind), so that tests and the
	// agent can supply their own.
	Probe Probe  `json:"-"`
	Act   Action `json:"-"`
}

// Defaults of a rule's settings, chosen for a model server: probes every
// 30 s, three attempts, a minute to come back, at most five actions an hour.
const (
	DefaultInterval      = 30 * time.Second
	DefaultAttempts      = 3
	DefaultGrace         = 60 * time.Second
	DefaultBackoff       = 30 * time.Second
	DefaultMaxBackoff    = 10 * time.Minute
	DefaultMaxActions    = 5
	DefaultWindow        = time.Hour
	DefaultProbeTimeout  = 10 * time.Second
	DefaultActionTimeout = 60 * time.Second
	DefaultStopTimeout   = 10 * time.Second
)

// NewRule returns a rule with the defaults set.
func NewRule(name string) Rule {
	return Rule{
		Name:          name,
		Interval:      DefaultInterval,
		Attempts:      DefaultAttempts,
		Grace:         DefaultGrace,
		Backoff:       DefaultBackoff,
		MaxBackoff:    DefaultMaxBackoff,
		MaxActions:    DefaultMaxActions,
		Window:        DefaultWindow,
		ProbeTimeout:  DefaultProbeTimeout,
		ActionTimeout: DefaultActionTimeout,
		StopTimeout:   DefaultStopTimeout,
		FailOn:        []plugin.Status{plugin.Warning, plugin.Critical, plugin.Unknown},
	}
}

var (
	ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	unitName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9@:_.\\-]*$`)
)

// Validate reports the first setting that cannot work.
func (r *Rule) Validate() error {
	switch {
	case !ruleName.MatchString(r.Name):
		return fmt.Errorf("rule name %q: use letters, digits, '_', '.', '-'", r.Name)
	case r.Check != CheckContainer && r.Check != CheckCommand:
		return fmt.Errorf("rule %s: no check (want check=container:NAME or check=command:NAME)", r.Name)
	case r.CheckTarget == "":
		return fmt.Errorf("rule %s: check %s names nothing", r.Name, r.Check)
	case r.Action != ActionNone && r.Target == "":
		return fmt.Errorf("rule %s: action %s names nothing", r.Name, r.Action)
	case r.Interval <= 0:
		return fmt.Errorf("rule %s: interval must be positive", r.Name)
	case r.Attempts < 1:
		return fmt.Errorf("rule %s: attempts must be at least 1", r.Name)
	case r.Grace < 0 || r.Backoff < 0:
		return fmt.Errorf("rule %s: grace and backoff cannot be negative", r.Name)
	case r.MaxBackoff < r.Backoff:
		return fmt.Errorf("rule %s: max_backoff %s is below backoff %s", r.Name, r.MaxBackoff, r.Backoff)
	case r.MaxActions < 1:
		return fmt.Errorf("rule %s: max_actions must be at least 1", r.Name)
	case r.Window <= 0:
		return fmt.Errorf("rule %s: window must be positive", r.Name)
	case r.ActionTimeout <= 0 || r.ProbeTimeout <= 0:
		return fmt.Errorf("rule %s: action_timeout and probe_timeout must be positive", r.Name)
	case r.Action == ActionRestart && r.ActionTimeout <= r.StopTimeout:
		// The engine waits StopTimeout before SIGKILL; a shorter HTTP bound
		// would cut the restart off mid-stop (autoheal's CURL_TIMEOUT trap).
		return fmt.Errorf("rule %s: action_timeout %s must exceed stop_timeout %s", r.Name, r.ActionTimeout, r.StopTimeout)
	case r.Action == ActionSystemd && !unitName.MatchString(r.Target):
		return fmt.Errorf("rule %s: %q is not a systemd unit name", r.Name, r.Target)
	case len(r.FailOn) == 0:
		return fmt.Errorf("rule %s: fail_on lists no state", r.Name)
	}
	return nil
}

// fails reports whether a probe status counts as a failed attempt.
func (r *Rule) fails(s plugin.Status) bool {
	for _, f := range r.FailOn {
		if f == s {
			return true
		}
	}
	return false
}

// describeAction names the action for logs and reports: "restart of
// container model-api".
func (r *Rule) describeAction() string {
	switch r.Action {
	case ActionRestart:
		return "restart of container " + r.Target
	case ActionSystemd:
		return "systemctl restart " + r.Target
	case ActionCommand:
		return "command " + r.Target
	}
	return "no action"
}

// actionNoun is the plural used in the give-up message: "5 restarts of
// model-api in 1h".
func (r *Rule) actionNoun(n int) string {
	word := "actions"
	switch r.Action {
	case ActionRestart, ActionSystemd:
		word = "restarts"
	case ActionCommand:
		word = "runs"
	}
	if n == 1 {
		word = word[:len(word)-1]
	}
	return fmt.Sprintf("%d %s of %s", n, word, r.Target)
}
