package container

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Inspect selects the containers opts names, inspects each, adds restarts,
// stats and image staleness where opts ask for them, and judges every
// container. An error means the engine could not be asked at all (it is an
// *EngineError, or the context's error); trouble with one container is a
// finding or a note instead.
func Inspect(ctx context.Context, cli client.APIClient, opts Options) (*Report, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.StatsConcurrency < 1 {
		opts.StatsConcurrency = DefaultStatsConcurrency
	}
	rep := &Report{Selection: describeSelection(opts), Expect: opts.Expect, opts: opts}
	defer rep.stage(ctx, "")

	rep.stage(ctx, "listing containers")
	list, err := selectContainers(ctx, cli, opts)
	if err != nil {
		return nil, engineError(ctx, cli.DaemonHost(), "listing containers", err)
	}
	// After the first request, which negotiates the version if the
	// caller's client has not yet.
	rep.engine = fmt.Sprintf("%s API %s", cli.DaemonHost(), cli.ClientVersion())

	rep.stage(ctx, "inspecting containers")
	verdicts, notes, err := inspectAll(ctx, cli, list, opts.StatsConcurrency, time.Now())
	if err != nil {
		return nil, err
	}
	rep.Notes = append(rep.Notes, notes...)

	rep.Restarts = opts.wantRestarts()
	rep.Stats = opts.wantStats()
	var st *checkState
	if opts.wantState() {
		rep.stage(ctx, "reading the state file")
		st, err = openState(ctx, opts)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if rep.Restarts {
				rep.Notes = append(rep.Notes, Finding{Status: plugin.Unknown, Kind: KindError, Text: fmt.Sprintf("restarts not counted: %v", err)})
			} else {
				rep.Notes = append(rep.Notes, Finding{Status: plugin.OK, Kind: KindError, Text: fmt.Sprintf("CPU measured over 1s only: %v", err)})
			}
		} else {
			observeRestarts(st, opts, verdicts, time.Now())
		}
	}
	if rep.Stats {
		rep.stage(ctx, "fetching stats")
		err := fetchStats(ctx, cli, verdicts, opts, st, time.Now())
		if err != nil {
			if st != nil {
				st.unlock()
			}
			return nil, err
		}
	}
	if st != nil {
		if err := st.close(time.Now()); err != nil {
			rep.Notes = append(rep.Notes, Finding{Status: plugin.Unknown, Kind: KindError, Text: fmt.Sprintf("state not saved: %v", err)})
		}
	}
	if opts.ImageStale {
		rep.stage(ctx, "inspecting images")
		if err := checkImages(ctx, cli, verdicts); err != nil {
			return nil, err
		}
	}

	now := time.Now()
	for i := range verdicts {
		judge(&verdicts[i], opts, now)
	}
	sortVerdicts(verdicts)
	rep.Verdicts = verdicts

	count := len(verdicts)
	switch {
	case count == 0 && (opts.Expect == nil || opts.Expect.Alert(0)):
		rep.Notes = append([]Finding{{Status: opts.NoMatch, Kind: KindNoMatch, Text: "no container matches " + rep.Selection}}, rep.Notes...)
	case opts.Expect != nil && opts.Expect.Alert(float64(count)):
		rep.Notes = append([]Finding{{Status: plugin.Critical, Kind: KindCount,
			Text: fmt.Sprintf("%d %s match %s, expected %s", count, plural(count, "container", "containers"), rep.Selection, expectText(*opts.Expect))}}, rep.Notes...)
	}
	return rep, nil
}

// sortVerdicts orders verdicts worst first, then by name.
func sortVerdicts(verdicts []Verdict) {
	sort.SliceStable(verdicts, func(i, j int) bool {
		si, sj := verdicts[i].Status.Severity(), verdicts[j].Status.Severity()
		if si != sj {
			return si > sj
		}
		return verdicts[i].Name < verdicts[j].Name
	})
}

// inspectAll inspects the listed containers, a bounded number at a time. A
// container removed since the listing becomes a note, not an error.
func inspectAll(ctx context.Context, cli client.APIClient, list []container.Summary, limit int, now time.Time) ([]Verdict, []Finding, error) {
	results := make([]*Verdict, len(list))
	errs := make([]error, len(list))
	forEach(ctx, len(list), limit, func(i int) {
		info, err := cli.ContainerInspect(ctx, list[i].ID)
		if err != nil {
			errs[i] = err
			return
		}
		v := verdictFrom(info, now)
		results[i] = &v
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var (
		verdicts []Verdict
		notes    []Finding
	)
	for i, err := range errs {
		switch {
		case err == nil:
			verdicts = append(verdicts, *results[i])
		case cerrdefs.IsNotFound(err):
			notes = append(notes, Finding{Status: plugin.OK, Kind: KindRemoved,
				Text: fmt.Sprintf("%s (%s) was removed while being checked, skipped", summaryName(list[i]), shortID(list[i].ID))})
		default:
			return nil, nil, engineError(ctx, cli.DaemonHost(), "inspecting container "+summaryName(list[i]), err)
		}
	}
	return verdicts, notes, nil
}

// verdictFrom copies what the check needs from an inspect response.
func verdictFrom(info container.InspectResponse, now time.Time) Verdict {
	v := Verdict{
		ID:       info.ID,
		Name:     strings.TrimPrefix(info.Name, "/"),
		ImageID:  info.Image,
		Restarts: -1,
		Created:  parseTime(info.Created),
	}
	v.RestartCount = info.RestartCount
	if info.Config != nil {
		v.Image = info.Config.Image
		v.healthGrace = healthGrace(info.Config.Healthcheck)
	}
	if info.HostConfig != nil {
		v.RestartPolicy = string(info.HostConfig.RestartPolicy.Name)
	}
	if s := info.State; s != nil {
		v.State = string(s.Status)
		// The engine flags a restarting container Running; no process is up.
		v.Running = s.Running && !s.Restarting
		v.ExitCode = s.ExitCode
		v.OOMKilled = s.OOMKilled
		v.Error = s.Error
		v.StartedAt = parseTime(s.StartedAt)
		v.FinishedAt = parseTime(s.FinishedAt)
		// A restarting container is flagged Running by the engine, but
		// no process is up: it has no uptime.
		if (v.State == "running" || v.State == "paused") && !v.StartedAt.IsZero() {
			v.Uptime = now.Sub(v.StartedAt)
			if v.Uptime < 0 {
				v.Uptime = 0
			}
		}
		if h := s.Health; h != nil && h.Status != "" && h.Status != "none" {
			v.Health = string(h.Status)
			v.FailingStreak = h.FailingStreak
			if n := len(h.Log); n > 0 {
				last := h.Log[n-1]
				v.LastProbe = strings.TrimSpace(last.Output)
				v.LastProbeExit = last.ExitCode
			}
		}
	}
	return v
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2000 {
		// The engine writes 0001-01-01T00:00:00Z for "never".
		return time.Time{}
	}
	return t
}

// forEach runs fn(0..n-1) with at most limit running at once, and returns
// when all have returned. fn must honour ctx itself.
func forEach(ctx context.Context, n, limit int, fn func(i int)) {
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}(i)
	}
	wg.Wait()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func expectText(r plugin.Range) string {
	if !r.Inside && r.Start == r.End {
		return plugin.FormatNumber(r.Start)
	}
	return r.String()
}
