package container

import (
	"fmt"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// observeRestarts updates every container's observation in st and, when
// opts ask for restarts, sets Verdict.Restarts: the restarts since the
// previous run, or the sum of those counted within --restart-window.
func observeRestarts(st *checkState, opts Options, verdicts []Verdict, now time.Time) {
	for i := range verdicts {
		v := &verdicts[i]
		prev := st.Containers[v.ID]
		n := restartDelta(prev, v, opts.RestartWindow, now)
		obs := &observation{Name: v.Name, Seen: now, RestartCount: v.RestartCount, StartedAt: v.StartedAt}
		if prev != nil {
			obs.Events, obs.CPU = prev.Events, prev.CPU
		}
		if n > 0 {
			obs.Events = append(obs.Events, restartEvent{At: now, N: n})
		}
		obs.Events = recentEvents(obs.Events, opts.RestartWindow, now)
		st.Containers[v.ID] = obs
		if !opts.wantRestarts() {
			continue
		}
		if opts.RestartWindow > 0 {
			v.Restarts = 0
			for _, e := range obs.Events {
				v.Restarts += e.N
			}
		} else {
			v.Restarts = n
		}
	}
}

// restartDelta counts the restarts between the previous observation and
// this one. The count going down means an API restart reset it: that
// restart plus the new count. A changed start time with the same count is a
// restart too (a stop and start through the API).
//
// Without a previous observation, the restarts so far are known to fall in
// the window only when the container was created within it; otherwise this
// run only records a baseline.
func restartDelta(prev *observation, v *Verdict, window time.Duration, now time.Time) int {
	if prev == nil {
		if window > 0 && !v.Created.IsZero() && now.Sub(v.Created) <= window {
			return v.RestartCount
		}
		return 0
	}
	switch {
	case v.RestartCount < prev.RestartCount:
		return v.RestartCount + 1
	case v.RestartCount > prev.RestartCount:
		return v.RestartCount - prev.RestartCount
	case !v.StartedAt.IsZero() && !prev.StartedAt.IsZero() && !v.StartedAt.Equal(prev.StartedAt):
		return 1
	}
	return 0
}

// recentEvents keeps the events within the window (none without one: the
// previous run is then the only reference).
func recentEvents(events []restartEvent, window time.Duration, now time.Time) []restartEvent {
	if window <= 0 {
		return nil
	}
	var keep []restartEvent
	for _, e := range events {
		if now.Sub(e.At) <= window {
			keep = append(keep, e)
		}
	}
	return keep
}

func restartsFinding(v *Verdict, opts Options) *Finding {
	if v.Restarts < 0 || !opts.Restarts.Set() {
		return nil
	}
	st := opts.Restarts.Evaluate(float64(v.Restarts))
	if st == plugin.OK {
		return nil
	}
	when := "since the previous check"
	if opts.RestartWindow > 0 {
		when = "in " + formatAge(opts.RestartWindow)
	}
	return &Finding{Status: st, Kind: KindRestarts,
		Text: fmt.Sprintf("restarted %d %s %s", v.Restarts, plural(v.Restarts, "time", "times"), when)}
}
