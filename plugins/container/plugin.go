package container

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// New returns check_container as a plugin, its flags bound to a fresh
// Options, so that every call is independent (the agent runs it in-process).
func New() *plugin.Plugin {
	opts := &Options{NoMatch: plugin.Critical, StatsConcurrency: DefaultStatsConcurrency}
	return &plugin.Plugin{
		Program: "check_container",
		Name:    "CONTAINER",
		Description: `Checks Docker containers as the engine reports them: state, HEALTHCHECK status
(quoting the last probe), restarts, OOM kills and exit codes, uptime, CPU and memory (as docker stats
computes them) and images whose tag has moved. The engine is DOCKER_HOST (TLS from DOCKER_CERT_PATH and
DOCKER_TLS_VERIFY) or --docker-host. Durations are seconds or Go durations (90, 90s, 5m, 1h30m).`,
		Examples: []string{
			"check_container --name model-api --cpu-warning 150 --cpu-critical 190 --memory-critical 90",
			"check_container --label app=model-server --expect 3 --min-uptime 5m",
			"check_container --name 'worker-.*' --name-regex --restarts-critical 3 --restart-window 1h",
			"check_container --all --allow-state exited,created --image-stale",
		},
		Flags: func(fs *pflag.FlagSet) { bindFlags(fs, opts) },
		Check: func(ctx context.Context, env plugin.Env) plugin.Result {
			o := *opts
			o.Verbose = env.Verbose
			return Check(ctx, o)
		},
	}
}

// bindFlags resets o to its defaults and binds the flags to it, so that a
// Plugin run again (the agent keeps one) carries nothing from an earlier run.
func bindFlags(fs *pflag.FlagSet, o *Options) {
	*o = Options{NoMatch: plugin.Critical, StatsConcurrency: DefaultStatsConcurrency}
	fs.StringVar(&o.DockerHost, "docker-host", "", "engine address, unix:///var/run/docker.sock or tcp://host:2376 (default $DOCKER_HOST)")
	fs.StringArrayVar(&o.Names, "name", nil, "container name; repeatable")
	fs.BoolVar(&o.NameRegex, "name-regex", false, "treat --name values as unanchored regular expressions")
	fs.StringArrayVar(&o.IDs, "id", nil, "container id or unique prefix; repeatable")
	fs.StringArrayVar(&o.Labels, "label", nil, "label key or key=value the container must carry; repeatable, all must match")
	fs.BoolVar(&o.All, "all", false, "select every container, running or not")
	fs.Var(&expectValue{&o.Expect}, "expect", "exact number of containers that must match (CRITICAL otherwise)")
	plugin.RangeVarP(fs, &o.Expect, "expect-range", "", "range the number of matching containers must be in, e.g. 2:4")
	fs.Var(&statusValue{&o.NoMatch}, "no-match", "state when no container matches")
	fs.StringSliceVar(&o.AllowStates, "allow-state", nil, "engine states that are not CRITICAL (exited,paused,created,restarting,dead); an exit code other than 0 still is")
	fs.Var(&durationValue{&o.StartGrace}, "start-grace", "how long health may stay \"starting\" before a WARNING (default: the healthcheck's start period + (retries+1) × interval)")
	plugin.RangeVarP(fs, &o.Restarts.Warning, "restarts-warning", "", "range for restarts since the previous run, or within --restart-window")
	plugin.RangeVarP(fs, &o.Restarts.Critical, "restarts-critical", "", "range for restarts, as --restarts-warning")
	fs.Var(&durationValue{&o.RestartWindow}, "restart-window", "count restarts within this window instead of since the previous run")
	fs.StringVar(&o.StateFile, "state-file", "", "file remembering restarts and CPU samples between runs (default: one per engine and selection in --state-dir)")
	fs.StringVar(&o.StateDir, "state-dir", "", "directory for the state file (default /var/tmp/vigil-<uid>)")
	fs.Var(&durationValue{&o.MinUptime}, "min-uptime", "a running container up for less than this is a WARNING (crash loops hidden by a restart policy)")
	plugin.RangeVarP(fs, &o.CPU.Warning, "cpu-warning", "", "range for CPU %, 100 = one CPU (as docker stats)")
	plugin.RangeVarP(fs, &o.CPU.Critical, "cpu-critical", "", "range for CPU %")
	plugin.RangeVarP(fs, &o.Memory.Warning, "memory-warning", "", "range for memory % of the container's limit (or of the host without one)")
	plugin.RangeVarP(fs, &o.Memory.Critical, "memory-critical", "", "range for memory %")
	fs.StringVar(&o.CPUSample, "cpu-sample", CPUSampleSinceLast, "CPU % over: since-last (the average since the previous check, from the state file; the engine's 1 s pair on the first run) or 1s (always the engine's pair, as docker stats; takes 1-2 s)")
	fs.BoolVar(&o.Stats, "stats", false, "fetch CPU and memory for perfdata even without thresholds")
	fs.IntVar(&o.StatsConcurrency, "stats-concurrency", DefaultStatsConcurrency, "at most this many stats requests at once")
	fs.StringVar(&o.Perfdata, "perfdata", PerfdataAll, "all (per container and metric), totals (over the selection: for large fleets, as Nagios keeps 8 KB of output) or none")
	fs.BoolVar(&o.ImageStale, "image-stale", false, "WARNING when a container's image tag now points to a different image")
}

// expectValue turns --expect N into the range N:N.
type expectValue struct{ r **plugin.Range }

func (v *expectValue) Set(text string) error {
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a count", text)
	}
	*v.r = &plugin.Range{Start: float64(n), End: float64(n)}
	return nil
}

func (v *expectValue) String() string {
	if v.r == nil || *v.r == nil {
		return ""
	}
	return (*v.r).String()
}

func (v *expectValue) Type() string { return "N" }

// statusValue is a state word flag.
type statusValue struct{ s *plugin.Status }

func (v *statusValue) Set(text string) error {
	s, err := plugin.ParseStatus(text)
	if err != nil {
		return err
	}
	*v.s = s
	return nil
}

func (v *statusValue) String() string {
	if v.s == nil {
		return ""
	}
	return v.s.String()
}

func (v *statusValue) Type() string { return "state" }

// durationValue accepts plain seconds, as Nagios users write them, or a Go
// duration.
type durationValue struct{ d *time.Duration }

func (v *durationValue) Set(text string) error {
	text = strings.TrimSpace(text)
	if secs, err := strconv.ParseFloat(text, 64); err == nil && secs >= 0 {
		*v.d = time.Duration(secs * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(text)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a duration (seconds, or such as 90s, 5m, 1h)", text)
	}
	*v.d = d
	return nil
}

func (v *durationValue) String() string {
	if v.d == nil || *v.d == 0 {
		return ""
	}
	return v.d.String()
}

func (v *durationValue) Type() string { return "duration" }
