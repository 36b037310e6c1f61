package container

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker/docker/api/types/container"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// The engine's healthcheck defaults (moby daemon/health.go), used when the
// container's config leaves a field at zero.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthRetries  = 3
)

// maxProbeText bounds the quoted probe output; the engine keeps up to 4096
// bytes, far more than a status line can carry.
const maxProbeText = 120

// healthGrace is how long a container can legitimately stay "starting":
// its start period, plus the retries needed to turn unhealthy, plus one
// interval for the first probe.
func healthGrace(hc *container.HealthConfig) time.Duration {
	if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return 0
	}
	interval, retries := hc.Interval, hc.Retries
	if interval <= 0 {
		interval = defaultHealthInterval
	}
	if retries <= 0 {
		retries = defaultHealthRetries
	}
	return hc.StartPeriod + time.Duration(retries+1)*interval
}

// healthFinding judges the HEALTHCHECK status: healthy is fine, starting
// is fine during the grace and a WARNING after it, unhealthy is CRITICAL
// with the failing streak and the last probe's words.
func healthFinding(v *Verdict, opts Options, now time.Time) *Finding {
	if !v.Running || v.State == "paused" {
		// A stopped or frozen container's health is stale; its state says
		// what matters.
		return nil
	}
	switch v.Health {
	case "unhealthy":
		text := "unhealthy"
		detail := fmt.Sprintf("%d failed %s", v.FailingStreak, plural(v.FailingStreak, "probe", "probes"))
		if v.LastProbe != "" {
			detail += ": " + quoteProbe(v.LastProbe)
		} else if v.LastProbeExit != 0 {
			detail += fmt.Sprintf(": exit %d", v.LastProbeExit)
		}
		return &Finding{Status: plugin.Critical, Kind: KindUnhealthy, Text: text + " (" + detail + ")"}
	case "starting":
		grace := opts.StartGrace
		if grace == 0 {
			grace = v.healthGrace
		}
		if grace > 0 && v.Uptime > grace {
			return &Finding{Status: plugin.Warning, Kind: KindStarting,
				Text: fmt.Sprintf("health still starting after %s (grace %s)", formatAge(v.Uptime), formatAge(grace))}
		}
	}
	return nil
}

// quoteProbe shortens probe output to its first line and a bounded length,
// and quotes it.
func quoteProbe(out string) string {
	out = strings.Join(strings.Fields(firstLine(out)), " ")
	if len(out) > maxProbeText {
		cut := maxProbeText
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "..."
	}
	return `"` + out + `"`
}
