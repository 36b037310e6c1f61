package container

import (
	"fmt"
	"sort"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// judge fills v.Findings and v.Status from what was gathered.
func judge(v *Verdict, opts Options, now time.Time) {
	var fs []Finding
	add := func(f *Finding) {
		if f != nil {
			fs = append(fs, *f)
		}
	}
	add(stateFinding(v, opts))
	add(healthFinding(v, opts, now))
	add(restartsFinding(v, opts))
	if opts.MinUptime > 0 && v.State == "running" && v.Uptime < opts.MinUptime {
		add(&Finding{Status: plugin.Warning, Kind: KindUptime,
			Text: fmt.Sprintf("up %s (less than %s)", formatAge(v.Uptime), formatAge(opts.MinUptime))})
	}
	for _, f := range usageFindings(v, opts) {
		add(&f)
	}
	add(imageFinding(v))

	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Status.Severity() > fs[j].Status.Severity() })
	v.Findings = fs
	v.Status = plugin.OK
	for _, f := range fs {
		v.Status = plugin.Worst(v.Status, f.Status)
	}
}

// stateFinding judges the engine state and the last exit. Any state but
// running is CRITICAL unless --allow-state lists it; an exit code other than
// 0 and an OOM kill are CRITICAL even then, because an allowed "exited"
// means "a batch job that finished", not "one that failed".
func stateFinding(v *Verdict, opts Options) *Finding {
	allowed := opts.allowed(v.State)
	switch v.State {
	case "running":
		if v.OOMKilled {
			// The engine keeps OOMKilled from the last exit after a
			// policy restart: a container that is crash-looping on memory.
			return &Finding{Status: plugin.Warning, Kind: KindOOM, Text: "last exit OOM-killed"}
		}
		return nil
	case "exited", "dead":
		switch {
		case v.OOMKilled:
			return &Finding{Status: plugin.Critical, Kind: KindOOM, Text: fmt.Sprintf("OOM-killed (%s %d)", v.State, v.ExitCode)}
		case v.ExitCode != 0:
			return &Finding{Status: plugin.Critical, Kind: KindExited, Text: fmt.Sprintf("%s %d", v.State, v.ExitCode)}
		case !allowed:
			return &Finding{Status: plugin.Critical, Kind: KindExited, Text: fmt.Sprintf("%s %d", v.State, v.ExitCode)}
		}
		return nil
	case "restarting":
		if allowed {
			return nil
		}
		text := "restarting"
		switch {
		case v.OOMKilled:
			text += " (last exit OOM-killed)"
		case v.ExitCode != 0:
			text += fmt.Sprintf(" (last exit %d)", v.ExitCode)
		}
		return &Finding{Status: plugin.Critical, Kind: KindState, Text: text}
	default: // paused, created, removing
		if allowed {
			return nil
		}
		return &Finding{Status: plugin.Critical, Kind: KindState, Text: v.State}
	}
}

// formatAge renders a duration the way a person reads it at 3 a.m.: 45s,
// 5m3s, 2h5m, 3d4h.
func formatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s)
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h)
	}
}
