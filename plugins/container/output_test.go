package container

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// fixedNow is the clock of the golden reports.
var fixedNow = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

func running(name, id string, up time.Duration) Verdict {
	return Verdict{
		Name: name, ID: id, Image: "model-server:1.4", ImageID: "sha256:aaaaaaaaaaaa1111",
		State: "running", Running: true, Restarts: -1,
		StartedAt: fixedNow.Add(-up), Uptime: up, Created: fixedNow.Add(-up - time.Hour),
	}
}

// goldenReports are fixed verdicts covering each rendering path; judge runs
// on them as Inspect would, so the golden files pin the findings' words too.
func goldenReports() map[string]*Report {
	const (
		id1 = "1f2e3d4c5b6a79880011223344556677"
		id2 = "2a2b2c2d2e2f30313233343536373839"
		id3 = "3c3d3e3f404142434445464748494a4b"
	)
	reports := map[string]struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{}

	healthy := running("model-api", id1, 2*time.Hour+5*time.Minute)
	healthy.Health = "healthy"
	reports["ok_single"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{Names: []string{"model-api"}}, []Verdict{healthy}, nil}

	unhealthy := running("model-api", id1, 5*time.Minute)
	unhealthy.Health, unhealthy.FailingStreak = "unhealthy", 3
	unhealthy.LastProbe = "dial tcp 127.0.0.1:8080: connect: connection refused\n"
	w1 := running("worker-1", id2, 3*24*time.Hour)
	w2 := running("worker-2", id3, 3*24*time.Hour+2*time.Hour)
	w2.Health = "healthy"
	reports["unhealthy_one_of_three"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{Labels: []string{"app=llm"}}, []Verdict{w1, unhealthy, w2}, nil}

	exited := Verdict{Name: "batch-embed", ID: id2, State: "exited", ExitCode: 1, Restarts: -1,
		FinishedAt: fixedNow.Add(-10 * time.Minute)}
	oom := Verdict{Name: "trainer", ID: id3, State: "exited", ExitCode: 137, OOMKilled: true, Restarts: -1,
		FinishedAt: fixedNow.Add(-time.Minute)}
	paused := running("feature-store", id1, time.Hour)
	paused.State = "paused"
	reports["mixed_critical"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{All: true}, []Verdict{exited, oom, paused}, nil}

	loop := running("consumer", id1, 3*time.Second)
	loop.RestartCount, loop.Restarts, loop.OOMKilled, loop.RestartPolicy = 7, 4, true, "always"
	reports["crash_loop"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{Names: []string{"consumer"}, MinUptime: time.Minute, RestartWindow: 10 * time.Minute,
		Restarts: plugin.Thresholds{Warning: plugin.MustRange("1"), Critical: plugin.MustRange("3")}}, []Verdict{loop}, nil}

	hot := running("model-api", id1, time.Hour)
	hot.Usage = &Usage{CPUPercent: 187.456, CPUKnown: true, OnlineCPUs: 2, MemoryUsed: 900 << 20, MemoryLimit: 1 << 30, MemoryPercent: 87.890625, MemoryKnown: true}
	cool := running("model-api-2", id2, time.Hour)
	cool.Usage = &Usage{CPUPercent: 3.2, CPUKnown: true, OnlineCPUs: 2, MemoryUsed: 100 << 20, MemoryLimit: 1 << 30, MemoryPercent: 9.765625, MemoryKnown: true}
	stale := running("model-api-3", id3, time.Hour)
	stale.ImageStale, stale.CurrentImageID = true, "sha256:bbbbbbbbbbbb2222"
	stale.Usage = &Usage{CPUPercent: 60, CPUKnown: true, OnlineCPUs: 2, MemoryUsed: 200 << 20, MemoryLimit: 1 << 30, MemoryPercent: 19.53125, MemoryKnown: true}
	reports["resources_and_image"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{Labels: []string{"app=llm"}, ImageStale: true,
		CPU:    plugin.Thresholds{Warning: plugin.MustRange("50"), Critical: plugin.MustRange("150")},
		Memory: plugin.Thresholds{Warning: plugin.MustRange("80"), Critical: plugin.MustRange("95")}}, []Verdict{hot, cool, stale}, nil}

	reports["resources_totals"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{Labels: []string{"app=llm"}, Perfdata: PerfdataTotals, RestartWindow: time.Hour,
		CPU: plugin.Thresholds{Warning: plugin.MustRange("50"), Critical: plugin.MustRange("150")}}, []Verdict{copyVerdict(hot), copyVerdict(cool), copyVerdict(stale)}, nil}

	starting := running("model-api", id1, 10*time.Minute)
	starting.Health = "starting"
	reports["starting_past_grace"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{Names: []string{"model-api"}, StartGrace: 2 * time.Minute}, []Verdict{starting}, nil}

	r1 := running("model-api-1", id1, time.Hour)
	r2 := running("model-api-2", id2, time.Hour)
	reports["expect_mismatch"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{Labels: []string{"app=llm"}, Expect: &plugin.Range{Start: 3, End: 3}}, []Verdict{r1, r2},
		[]Finding{{Status: plugin.Critical, Kind: KindCount, Text: "2 containers match label=app=llm, expected 3"},
			{Status: plugin.OK, Kind: KindRemoved, Text: "model-api-3 (3c3d3e3f4041) was removed while being checked, skipped"}}}

	reports["no_match"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{Names: []string{"nothing"}}, nil,
		[]Finding{{Status: plugin.Critical, Kind: KindNoMatch, Text: "no container matches name=nothing"}}}

	reports["none_expected"] = struct {
		opts     Options
		verdicts []Verdict
		notes    []Finding
	}{Options{Labels: []string{"job=nightly"}, Expect: &plugin.Range{Start: 0, End: 0}}, nil, nil}

	out := map[string]*Report{}
	for name, r := range reports {
		for i := range r.verdicts {
			judge(&r.verdicts[i], r.opts, fixedNow)
		}
		rep := &Report{Verdicts: r.verdicts, Notes: r.notes, Selection: describeSelection(r.opts), Expect: r.opts.Expect,
			Restarts: r.opts.wantRestarts(), Stats: r.opts.wantStats(), opts: r.opts}
		sortVerdicts(rep.Verdicts)
		out[name] = rep
	}
	return out
}

func copyVerdict(v Verdict) Verdict {
	if v.Usage != nil {
		u := *v.Usage
		v.Usage = &u
	}
	v.Restarts = 1
	return v
}

func TestRenderGolden(t *testing.T) {
	for name, rep := range goldenReports() {
		t.Run(name, func(t *testing.T) {
			res := rep.Result()
			got := res.Render("CONTAINER")
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
			}
		})
	}
}

func TestPerfLabel(t *testing.T) {
	for in, want := range map[string]string{
		"model-api":      "model-api",
		"proj_svc.1":     "proj_svc.1",
		"bad name|x=1'q": "bad_name_x_1_q",
		"ünïcode":        "_n_code",
	} {
		if got := perfLabel(in); got != want {
			t.Errorf("perfLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
