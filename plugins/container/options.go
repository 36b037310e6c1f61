// Package container is check_container: the health of Docker containers as
// the engine itself reports it (state, HEALTHCHECK, restarts, last exit,
// uptime, CPU and memory, image staleness).
//
// Inspect returns one Verdict per selected container, for callers that act
// on containers (the agent's recovery); Evaluate and Check turn verdicts into
// a plugin.Result. Neither prints nor exits.
package container

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Options are check_container's settings, one field per flag.
type Options struct {
	// DockerHost overrides DOCKER_HOST (unix:///path or tcp://host:port;
	// TLS still comes from DOCKER_CERT_PATH and DOCKER_TLS_VERIFY).
	DockerHost string

	// Selection. Names are matched exactly, or as unanchored regular
	// expressions with NameRegex; IDs by full id or unique prefix; labels
	// ("key" or "key=value") must all match. All selects every container.
	Names     []string
	NameRegex bool
	IDs       []string
	Labels    []string
	All       bool

	// Expect is the range the number of selected containers must be in
	// (CRITICAL otherwise); nil accepts any number but zero, which is
	// NoMatch.
	Expect  *plugin.Range
	NoMatch plugin.Status

	// AllowStates are engine states (exited, paused, created, restarting,
	// dead, removing) that are not CRITICAL by themselves.
	AllowStates []string
	// StartGrace is how long a container may stay in health "starting"
	// before it is a WARNING; 0 derives it from the container's own
	// healthcheck (start period + (retries+1) × interval).
	StartGrace time.Duration

	// Restarts are thresholds on the restarts counted since the previous
	// run, or within RestartWindow when it is set; both need the state file.
	Restarts      plugin.Thresholds
	RestartWindow time.Duration
	StateFile     string // explicit state file; else one per selection in StateDir
	StateDir      string // default /var/tmp/vigil-<uid>

	MinUptime time.Duration // running for less than this is a WARNING

	// CPU is in percent of one CPU (0..100 × online CPUs, as docker stats
	// shows it); Memory in percent of the container's limit, or of the
	// host's memory when it has none.
	CPU    plugin.Thresholds
	Memory plugin.Thresholds
	// CPUSample is CPUSampleSinceLast (the default, "") or
	// CPUSampleOneSecond.
	CPUSample string
	// Stats fetches CPU and memory for perfdata even without thresholds.
	Stats bool
	// StatsConcurrency bounds the concurrent stats requests.
	StatsConcurrency int

	// Perfdata is PerfdataAll (default, ""), PerfdataTotals or
	// PerfdataNone.
	Perfdata string

	// Verbose (-v) adds a long-output line with the engine's address, the
	// negotiated API version and how long each stage took.
	Verbose int

	// ImageStale reports a container whose image tag now points to another
	// image id (a deploy that was never rolled out) as a WARNING.
	ImageStale bool
}

// DefaultStatsConcurrency lets 50 containers' stats, each of which the
// engine answers only after two samples one second apart, arrive together.
const DefaultStatsConcurrency = 64

// The CPU sampling modes: the average since the previous run (from the
// state file; the engine's one-second pair on the first run), or always the
// engine's one-second pair, as docker stats shows it.
const (
	CPUSampleSinceLast = "since-last"
	CPUSampleOneSecond = "1s"
)

// Perfdata modes: per container and metric; totals over the selection
// (for fleets whose per-container perfdata would pass Nagios' 8 KB output
// limit); none.
const (
	PerfdataAll    = "all"
	PerfdataTotals = "totals"
	PerfdataNone   = "none"
)

// engineStates are the values of State.Status that --allow-state accepts.
var engineStates = []string{"created", "running", "paused", "restarting", "removing", "exited", "dead"}

// validate checks what flags alone cannot.
func (o *Options) validate() error {
	if len(o.Names) == 0 && len(o.IDs) == 0 && len(o.Labels) == 0 && !o.All {
		return fmt.Errorf("no containers selected: give --name, --id, --label or --all")
	}
	if o.NameRegex {
		for _, n := range o.Names {
			if _, err := regexp.Compile(n); err != nil {
				return fmt.Errorf("--name %q is not a regular expression: %v", n, err)
			}
		}
	}
	for _, s := range o.AllowStates {
		if !contains(engineStates, s) {
			return fmt.Errorf("--allow-state %q is not one of %s", s, strings.Join(engineStates, ", "))
		}
	}
	for _, l := range o.Labels {
		if k, _, _ := strings.Cut(l, "="); k == "" {
			return fmt.Errorf("--label %q has no key", l)
		}
	}
	if o.CPUSample != "" && o.CPUSample != CPUSampleSinceLast && o.CPUSample != CPUSampleOneSecond {
		return fmt.Errorf("--cpu-sample %q is not %s or %s", o.CPUSample, CPUSampleSinceLast, CPUSampleOneSecond)
	}
	if o.Perfdata != "" && o.Perfdata != PerfdataAll && o.Perfdata != PerfdataTotals && o.Perfdata != PerfdataNone {
		return fmt.Errorf("--perfdata %q is not %s, %s or %s", o.Perfdata, PerfdataAll, PerfdataTotals, PerfdataNone)
	}
	if o.RestartWindow < 0 || o.MinUptime < 0 || o.StartGrace < 0 {
		return fmt.Errorf("durations must not be negative")
	}
	return nil
}

func (o *Options) wantStats() bool { return o.Stats || o.CPU.Set() || o.Memory.Set() }

func (o *Options) wantRestarts() bool { return o.Restarts.Set() || o.RestartWindow > 0 }

// wantState: restarts need the state file; CPU since the previous run uses it.
func (o *Options) wantState() bool {
	return o.wantRestarts() || (o.wantStats() && o.CPUSample != CPUSampleOneSecond)
}

func (o *Options) allowed(state string) bool { return contains(o.AllowStates, state) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
