package container

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/spf13/pflag"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// statsV1 is a stats response from Docker 20.10 on cgroup v1, as the engine
// on the development machine returned it for a container burning one CPU
// (trimmed to the fields the computation reads).
const statsV1 = `{
 "cpu_stats": {"cpu_usage": {"total_usage": 1797483177, "percpu_usage": [220816375, 1576666802]},
               "system_cpu_usage": 618910000000, "online_cpus": 2},
 "precpu_stats": {"cpu_usage": {"total_usage": 839436817, "percpu_usage": [217659003, 621777814]},
                  "system_cpu_usage": 616890000000, "online_cpus": 2},
 "memory_stats": {"usage": 7155712, "limit": 25276502016,
                  "stats": {"cache": 5165056, "inactive_file": 5165056, "total_inactive_file": 5165056, "rss": 970752}}}`

// statsV2 follows the Engine API's cgroup v2 shape: no percpu_usage, and
// memory stats named as in memory.stat (inactive_file, no total_ prefix).
const statsV2 = `{
 "cpu_stats": {"cpu_usage": {"total_usage": 5000000000}, "system_cpu_usage": 900000000000, "online_cpus": 4},
 "precpu_stats": {"cpu_usage": {"total_usage": 3000000000}, "system_cpu_usage": 896000000000, "online_cpus": 4},
 "memory_stats": {"usage": 536870912, "limit": 1073741824,
                  "stats": {"anon": 402653184, "file": 134217728, "inactive_file": 100663296, "active_file": 33554432}}}`

// statsNoPercpuNoOnline has neither online_cpus nor percpu_usage: CPU%
// cannot be scaled, so it is unknown rather than 0.
const statsNoCPUs = `{
 "cpu_stats": {"cpu_usage": {"total_usage": 5000000000}, "system_cpu_usage": 900000000000},
 "precpu_stats": {"cpu_usage": {"total_usage": 3000000000}, "system_cpu_usage": 896000000000},
 "memory_stats": {"usage": 1000, "limit": 4000, "stats": {}}}`

// statsOneShot is what one-shot (or a first sample) returns: no previous
// CPU sample.
const statsOneShot = `{
 "cpu_stats": {"cpu_usage": {"total_usage": 5000000000}, "system_cpu_usage": 900000000000, "online_cpus": 2},
 "precpu_stats": {"cpu_usage": {"total_usage": 0}},
 "memory_stats": {"usage": 2000, "limit": 4000, "stats": {"total_inactive_file": 3000}}}`

func TestUsageFrom(t *testing.T) {
	tests := []struct {
		name        string
		json        string
		cpu         float64
		cpuKnown    bool
		used, limit uint64
		memPct      float64
		memKnown    bool
	}{
		// (1797483177-839436817) / (618910000000-616890000000) × 2 × 100
		{"cgroup v1", statsV1, 94.85607524752475, true, 7155712 - 5165056, 25276502016, float64(7155712-5165056) / 25276502016 * 100, true},
		// 2e9 / 4e9 × 4 × 100; memory 512 MiB − 96 MiB inactive file of 1 GiB
		{"cgroup v2", statsV2, 200, true, 536870912 - 100663296, 1073741824, 40.625, true},
		{"no cpu count", statsNoCPUs, 0, false, 1000, 4000, 25, true},
		// inactive file larger than usage is not subtracted (as the CLI).
		{"one-shot", statsOneShot, 0, false, 2000, 4000, 50, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s container.StatsResponse
			if err := json.Unmarshal([]byte(tt.json), &s); err != nil {
				t.Fatal(err)
			}
			u := usageFrom(s)
			if u.CPUKnown != tt.cpuKnown || math.Abs(u.CPUPercent-tt.cpu) > 1e-9 {
				t.Errorf("cpu = %v (known %v), want %v (known %v)", u.CPUPercent, u.CPUKnown, tt.cpu, tt.cpuKnown)
			}
			if u.MemoryUsed != tt.used || u.MemoryLimit != tt.limit || u.MemoryKnown != tt.memKnown || math.Abs(u.MemoryPercent-tt.memPct) > 1e-9 {
				t.Errorf("memory = %d of %d, %v%% (known %v), want %d of %d, %v%% (known %v)",
					u.MemoryUsed, u.MemoryLimit, u.MemoryPercent, u.MemoryKnown, tt.used, tt.limit, tt.memPct, tt.memKnown)
			}
		})
	}
}

func TestRestartDelta(t *testing.T) {
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	t0 := now.Add(-time.Hour)
	t1 := now.Add(-time.Minute)
	tests := []struct {
		name    string
		prev    *observation
		count   int
		started time.Time
		created time.Time
		window  time.Duration
		want    int
	}{
		{"first sight, old container: baseline", nil, 5, t1, now.Add(-48 * time.Hour), time.Hour, 0},
		{"first sight, no window: baseline", nil, 5, t1, now.Add(-time.Minute), 0, 0},
		{"first sight, created within the window", nil, 5, t1, now.Add(-2 * time.Minute), 10 * time.Minute, 5},
		{"no change", &observation{RestartCount: 2, StartedAt: t0}, 2, t0, t0, 0, 0},
		{"policy restarts", &observation{RestartCount: 2, StartedAt: t0}, 5, t1, t0, 0, 3},
		{"count reset by an API restart", &observation{RestartCount: 4, StartedAt: t0}, 0, t1, t0, 0, 1},
		{"reset, then policy restarts", &observation{RestartCount: 4, StartedAt: t0}, 2, t1, t0, 0, 3},
		{"stop and start through the API", &observation{RestartCount: 0, StartedAt: t0}, 0, t1, t0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verdict{RestartCount: tt.count, StartedAt: tt.started, Created: tt.created}
			if got := restartDelta(tt.prev, v, tt.window, now); got != tt.want {
				t.Errorf("restartDelta = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCountRestartsWindow runs three checks against one state file: the
// window sums the restarts seen in it and forgets older ones.
func TestCountRestartsWindow(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Names: []string{"c"}, StateDir: dir, RestartWindow: 10 * time.Minute}
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	created := now.Add(-time.Hour)
	run := func(at time.Time, count int, started time.Time) int {
		vs := []Verdict{{ID: "abc", Name: "c", RestartCount: count, StartedAt: started, Created: created}}
		st, err := openState(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		observeRestarts(st, opts, vs, at)
		if err := st.close(at); err != nil {
			t.Fatal(err)
		}
		return vs[0].Restarts
	}
	if got := run(now, 2, now.Add(-30*time.Minute)); got != 0 {
		t.Errorf("first run: %d restarts, want 0 (baseline)", got)
	}
	if got := run(now.Add(5*time.Minute), 5, now.Add(4*time.Minute)); got != 3 {
		t.Errorf("second run: %d restarts, want 3", got)
	}
	if got := run(now.Add(8*time.Minute), 6, now.Add(7*time.Minute)); got != 4 {
		t.Errorf("third run: %d restarts, want 4 within the window", got)
	}
	if got := run(now.Add(20*time.Minute), 6, now.Add(7*time.Minute)); got != 0 {
		t.Errorf("after the window: %d restarts, want 0", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "check_container-*.json"))
	if len(files) != 1 {
		t.Fatalf("state files: %v, want one", files)
	}
	// A corrupt state file restarts from a baseline instead of failing.
	os.WriteFile(files[0], []byte("{not json"), 0o600)
	if got := run(now.Add(21*time.Minute), 9, now.Add(21*time.Minute)); got != 0 {
		t.Errorf("after corruption: %d restarts, want 0", got)
	}
}

func TestHealthGrace(t *testing.T) {
	tests := []struct {
		hc   *container.HealthConfig
		want time.Duration
	}{
		{nil, 0},
		{&container.HealthConfig{Test: []string{"NONE"}}, 0},
		{&container.HealthConfig{Test: []string{"CMD", "x"}}, 4 * 30 * time.Second},
		{&container.HealthConfig{Test: []string{"CMD", "x"}, Interval: time.Second, Retries: 2, StartPeriod: 10 * time.Second}, 13 * time.Second},
	}
	for _, tt := range tests {
		if got := healthGrace(tt.hc); got != tt.want {
			t.Errorf("healthGrace(%+v) = %v, want %v", tt.hc, got, tt.want)
		}
	}
}

func TestStateFinding(t *testing.T) {
	tests := []struct {
		name  string
		v     Verdict
		allow []string
		want  string // "STATUS kind: text", or "" for none
	}{
		{"running", Verdict{State: "running", Running: true}, nil, ""},
		{"running after an OOM kill", Verdict{State: "running", Running: true, OOMKilled: true}, nil, "WARNING oom: last exit OOM-killed"},
		{"exited 0", Verdict{State: "exited"}, nil, "CRITICAL exited: exited 0"},
		{"exited 0 allowed", Verdict{State: "exited"}, []string{"exited"}, ""},
		{"exited 1 allowed", Verdict{State: "exited", ExitCode: 1}, []string{"exited"}, "CRITICAL exited: exited 1"},
		{"oom", Verdict{State: "exited", ExitCode: 137, OOMKilled: true}, []string{"exited"}, "CRITICAL oom: OOM-killed (exited 137)"},
		{"paused", Verdict{State: "paused", Running: true}, nil, "CRITICAL state: paused"},
		{"paused allowed", Verdict{State: "paused", Running: true}, []string{"paused"}, ""},
		{"restarting", Verdict{State: "restarting", ExitCode: 3}, nil, "CRITICAL state: restarting (last exit 3)"},
		{"created", Verdict{State: "created"}, nil, "CRITICAL state: created"},
		{"dead", Verdict{State: "dead", ExitCode: 255}, nil, "CRITICAL exited: dead 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := stateFinding(&tt.v, Options{AllowStates: tt.allow})
			got := ""
			if f != nil {
				got = f.Status.String() + " " + string(f.Kind) + ": " + f.Text
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSelector(t *testing.T) {
	list := []container.Summary{
		{ID: "aaaa1111", Names: []string{"/model-api-1"}},
		{ID: "bbbb2222", Names: []string{"/model-api-2"}},
		{ID: "cccc3333", Names: []string{"/worker"}},
	}
	tests := []struct {
		opts Options
		want string
	}{
		{Options{All: true}, "model-api-1 model-api-2 worker"},
		{Options{Names: []string{"model-api-1", "worker"}}, "model-api-1 worker"},
		{Options{Names: []string{"model-api"}}, ""},
		{Options{Names: []string{"model-api"}, NameRegex: true}, "model-api-1 model-api-2"},
		{Options{Names: []string{"^api"}, NameRegex: true}, ""},
		{Options{IDs: []string{"BBBB"}}, "model-api-2"},
		{Options{IDs: []string{"cccc3333"}, Names: []string{"model-api-1"}}, "model-api-1 worker"},
	}
	for _, tt := range tests {
		match, err := selector(tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range list {
			if match(c) {
				got = append(got, summaryName(c))
			}
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: selected %q, want %q", describeSelection(tt.opts), strings.Join(got, " "), tt.want)
		}
	}
}

// TestFlags runs the plugin's own flag parsing: bad input is UNKNOWN with
// the reason, before any engine is asked.
func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "CONTAINER UNKNOWN - no containers selected: give --name, --id, --label or --all\n"},
		{[]string{"--all", "--allow-state", "sleeping"}, "CONTAINER UNKNOWN - --allow-state \"sleeping\" is not one of created, running, paused, restarting, removing, exited, dead\n"},
		{[]string{"--name", "(", "--name-regex"}, "CONTAINER UNKNOWN - --name \"(\" is not a regular expression: error parsing regexp: missing closing ): `(`\n"},
		{[]string{"--all", "--expect", "two"}, "CONTAINER UNKNOWN - invalid argument \"two\" for \"--expect\" flag: \"two\" is not a count (see check_container --help)\n"},
		{[]string{"--all", "--min-uptime", "soon"}, "CONTAINER UNKNOWN - invalid argument \"soon\" for \"--min-uptime\" flag: \"soon\" is not a duration (seconds, or such as 90s, 5m, 1h) (see check_container --help)\n"},
		{[]string{"--all", "--no-match", "maybe"}, "CONTAINER UNKNOWN - invalid argument \"maybe\" for \"--no-match\" flag: state \"maybe\" is not one of OK, WARNING, CRITICAL, UNKNOWN (see check_container --help)\n"},
		{[]string{"--label", "=x"}, "CONTAINER UNKNOWN - --label \"=x\" has no key\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		st := plugin.Run(context.Background(), New(), tt.args, &out, &out)
		if st != plugin.Unknown || out.String() != tt.want {
			t.Errorf("check_container %q:\n got %v %q\nwant UNKNOWN %q", tt.args, st, out.String(), tt.want)
		}
	}
}

func TestDurationValue(t *testing.T) {
	for in, want := range map[string]time.Duration{"90": 90 * time.Second, "1.5": 1500 * time.Millisecond, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute} {
		var d time.Duration
		if err := (&durationValue{&d}).Set(in); err != nil || d != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
	var d time.Duration
	if err := (&durationValue{&d}).Set("-5"); err == nil {
		t.Errorf("Set(-5) accepted")
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 59 * time.Second: "59s", time.Minute: "1m", 303 * time.Second: "5m3s",
		2*time.Hour + 5*time.Minute: "2h5m", 47 * time.Hour: "47h", 76 * time.Hour: "3d4h", 72 * time.Hour: "3d",
	} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestQuoteProbe(t *testing.T) {
	long := strings.Repeat("é", 100)
	got := quoteProbe(long)
	if !strings.HasSuffix(got, `..."`) || len(got) > maxProbeText+5 || !strings.HasPrefix(got, `"é`) {
		t.Errorf("quoteProbe(long) = %q", got)
	}
	if got := quoteProbe("HTTP 503: model not loaded\nsecond line"); got != `"HTTP 503: model not loaded"` {
		t.Errorf("quoteProbe(multi-line) = %q", got)
	}
}

// TestPluginReuse: flags bound again (the runner builds a new flag set on
// every run of one Plugin, which the agent reuses) start from the defaults,
// keeping nothing from the previous run.
func TestPluginReuse(t *testing.T) {
	var opts Options
	parse := func(args ...string) {
		fs := pflag.NewFlagSet("check_container", pflag.ContinueOnError)
		bindFlags(fs, &opts)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
	}
	parse("--all", "--expect", "3", "--min-uptime", "5m", "--cpu-warning", "10", "--no-match", "ok", "--restart-window", "1h", "--restarts-critical", "2")
	parse("--name", "a")
	want := Options{Names: []string{"a"}, NoMatch: plugin.Critical, StatsConcurrency: DefaultStatsConcurrency, CPUSample: CPUSampleSinceLast, Perfdata: PerfdataAll}
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("after a second parse: %+v, want %+v", opts, want)
	}
	// And through the runner: the second run has no selection.
	p := New()
	var out bytes.Buffer
	plugin.Run(context.Background(), p, []string{"--all", "--docker-host", "unix:///nonexistent.sock"}, &out, &out)
	out.Reset()
	if st := plugin.Run(context.Background(), p, nil, &out, &out); st != plugin.Unknown || !strings.Contains(out.String(), "no containers selected") {
		t.Errorf("second run kept the first run's --all: %v %q", st, out.String())
	}
}
