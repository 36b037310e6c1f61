package container

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Report is what Inspect found: one verdict per selected container and the
// notes about the selection as a whole.
type Report struct {
	// Verdicts has one entry per selected container, worst first, then by
	// name.
	Verdicts []Verdict
	// Notes are about the selection rather than one container: a count
	// outside --expect, no match, a container removed while it was being
	// checked (OK, skipped), a state file that could not be used.
	Notes []Finding
	// Selection describes what was selected, for messages ("name=model-api").
	Selection string
	// Expect is the range the count had to be in, for perfdata.
	Expect *plugin.Range
	// Stats and Restarts say whether those were measured, so that the
	// rendering shows them only then.
	Stats, Restarts bool

	opts Options // the thresholds, for perfdata

	engine     string    // address and API version, for -v
	timings    []string  // "listing containers 3ms", for -v
	stageName  string    // the stage running
	stageStart time.Time // when it started
}

// stage names the stage now starting, for the plugin runner's timeout
// message, and records how long the previous one took (shown with -v).
// An empty name ends the last stage.
func (r *Report) stage(ctx context.Context, name string) {
	now := time.Now()
	if r.stageName != "" {
		r.timings = append(r.timings, fmt.Sprintf("%s %s", r.stageName, formatElapsed(now.Sub(r.stageStart))))
	}
	r.stageName, r.stageStart = name, now
	if name != "" {
		plugin.SetStage(ctx, name)
	}
}

// formatElapsed renders a stage's duration in milliseconds.
func formatElapsed(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// Status is the worst state of the verdicts and notes.
func (r *Report) Status() plugin.Status {
	s := plugin.OK
	for _, n := range r.Notes {
		s = plugin.Worst(s, n.Status)
	}
	for _, v := range r.Verdicts {
		s = plugin.Worst(s, v.Status)
	}
	return s
}

// Verdict is one container as the engine reported it, and what the check
// makes of it. The recovery code reads it to decide whether to act.
type Verdict struct {
	Name    string // without the engine's leading "/"
	ID      string // full id
	Image   string // the reference the container was created from
	ImageID string // the image id it runs

	State      string // engine State.Status: running, paused, restarting, exited, dead, created, removing
	Running    bool   // a process is up (also true when paused)
	ExitCode   int    // of the last exit; 0 while running
	OOMKilled  bool   // the last exit was an OOM kill
	Error      string // the engine's State.Error, if any
	Created    time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	Uptime     time.Duration // while running, since StartedAt

	// Health is the HEALTHCHECK status (starting, healthy, unhealthy), or
	// "" when the container has none.
	Health        string
	FailingStreak int
	LastProbe     string // output of the most recent probe, trimmed
	LastProbeExit int

	RestartCount  int    // the engine's cumulative count (reset by an API restart)
	RestartPolicy string // no, always, unless-stopped, on-failure
	// Restarts counted by the check from its state file: since the
	// previous run, or within --restart-window. -1 when not counted.
	Restarts int

	// Usage is set when stats were fetched for a running container.
	Usage *Usage

	// ImageStale: the tag in Image now names CurrentImageID, not ImageID.
	ImageStale     bool
	CurrentImageID string

	Status   plugin.Status
	Findings []Finding // what is wrong, worst first; empty when all is well

	healthGrace time.Duration // from the container's own healthcheck config
	imageNote   string        // why staleness could not be told
}

// Finding is one thing the check noticed.
type Finding struct {
	Status plugin.Status
	Kind   Kind
	Text   string // "unhealthy (3 failed probes: \"...\")", for messages
}

// Kind names a finding for callers that act on it.
type Kind string

// The kinds of findings.
const (
	KindState     Kind = "state"     // an engine state not allowed (paused, restarting, created, dead, removing)
	KindExited    Kind = "exited"    // exited (non-zero, or not allowed)
	KindOOM       Kind = "oom"       // the last exit was an OOM kill
	KindUnhealthy Kind = "unhealthy" // HEALTHCHECK says unhealthy
	KindStarting  Kind = "starting"  // health still starting after the grace
	KindRestarts  Kind = "restarts"  // restarts outside the thresholds
	KindUptime    Kind = "uptime"    // up for less than --min-uptime
	KindCPU       Kind = "cpu"
	KindMemory    Kind = "memory"
	KindImage     Kind = "image" // running an image its tag no longer names
	KindCount     Kind = "count" // the number of containers is outside --expect
	KindNoMatch   Kind = "no-match"
	KindRemoved   Kind = "removed" // gone between list and inspect
	KindError     Kind = "error"   // something could not be measured
)

// Healthy reports a running container whose HEALTHCHECK passes.
func (v *Verdict) Healthy() bool { return v.Running && v.Health == "healthy" }

// Unhealthy reports a container whose HEALTHCHECK fails.
func (v *Verdict) Unhealthy() bool { return v.Health == "unhealthy" }

// Exited reports a container that is not running and not about to be
// restarted by its policy.
func (v *Verdict) Exited() bool { return v.State == "exited" || v.State == "dead" }

// Has reports whether the verdict has a finding of kind k.
func (v *Verdict) Has(k Kind) bool {
	for _, f := range v.Findings {
		if f.Kind == k {
			return true
		}
	}
	return false
}

// ShortID is the 12-character id docker ps shows.
func (v *Verdict) ShortID() string { return shortID(v.ID) }

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
