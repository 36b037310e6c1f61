package heal

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Status is check_heal: recovery activity for the monitoring server, read
// from the state file without taking the lock (the file is only ever
// replaced whole). CRITICAL when a rule gave up or its last action failed,
// WARNING when something was acted on within its window, OK otherwise.
// Perfdata counts each rule's actions in its window against its limit,
// their sum, and the rules given up.
//
// stale, when positive, also asks whether healing is running at all: a
// rule no healer has probed for that long is a WARNING, because a wedged
// or stopped healer looks exactly like a healthy service otherwise
// (docker-autoheal's users met both, its issues #42 and #87).
func (h *Healer) Status(rules []Rule, stale time.Duration) plugin.Result {
	st, note, err := loadState(h.StateDir, true)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	now := h.now()
	res := plugin.Result{Status: plugin.OK}
	if note != "" {
		res.Status = plugin.Warning
		res.Details = append(res.Details, note)
	}
	var crit, warn []string
	total, gaveUp := 0, 0
	for i := range rules {
		r := &rules[i]
		rs := st.Rules[r.Name]
		if rs == nil {
			rs = &RuleState{}
		}
		taken := rs.inWindow(now, r.Window, false)
		total += len(taken)
		line := fmt.Sprintf("%s: %d of %d %s in %s", r.Name, len(taken), r.MaxActions, actionWord(r), shortDuration(r.Window))
		switch {
		case !rs.GaveUpAt.IsZero() && now.Before(rs.GaveUpAt.Add(r.Window)):
			gaveUp++
			s := step{r: r, rs: rs}
			crit = append(crit, r.Name+" "+s.gaveUpMessage())
			line += fmt.Sprintf(", gave up at %s until %s", stamp(rs.GaveUpAt), stamp(rs.GaveUpAt.Add(r.Window)))
		case len(taken) > 0 && !taken[len(taken)-1].OK:
			last := taken[len(taken)-1]
			crit = append(crit, fmt.Sprintf("%s: %s %s at %s", r.Name, r.describeAction(), last.Result, stamp(last.At)))
		case stale > 0 && now.Sub(rs.LastProbe) > stale:
			if rs.LastProbe.IsZero() {
				warn = append(warn, fmt.Sprintf("%s: never probed: is the agent's daemon or the cron job running?", r.Name))
			} else {
				warn = append(warn, fmt.Sprintf("%s: not probed for %s (over %s): is the agent's daemon or the cron job running?",
					r.Name, now.Sub(rs.LastProbe).Round(time.Second), stale))
			}
		case len(taken) > 0:
			last := taken[len(taken)-1]
			warn = append(warn, fmt.Sprintf("%s: %s within %s, last at %s (%s)", r.Name, r.actionNoun(len(taken)),
				shortDuration(r.Window), stamp(last.At), last.Result))
		}
		if rs.LastOutput != "" {
			line += ", last probe " + ago(now, rs.LastProbe) + ": " + rs.LastOutput
		}
		if r.DryRun {
			line += " (dry run)"
		}
		res.Details = append(res.Details, line)
		res.Perfdata = append(res.Perfdata, plugin.Perfdata{Label: r.Name + "_actions", Value: float64(len(taken)),
			Min: plugin.Float(0), Max: plugin.Float(float64(r.MaxActions))})
	}
	res.Perfdata = append(res.Perfdata,
		plugin.Perfdata{Label: "actions", Value: float64(total), Min: plugin.Float(0)},
		plugin.Perfdata{Label: "gave_up", Value: float64(gaveUp), Min: plugin.Float(0), Max: plugin.Float(float64(len(rules)))})
	switch {
	case len(crit) > 0:
		res.Status = plugin.Critical
		res.Summary = strings.Join(crit, "; ")
	case len(warn) > 0:
		res.Status = plugin.Worst(res.Status, plugin.Warning)
		res.Summary = strings.Join(warn, "; ")
	case len(rules) == 0:
		res.Status = plugin.Unknown
		res.Summary = "no watch rules configured"
	default:
		res.Summary = fmt.Sprintf("%d rules, no recovery action within their windows", len(rules))
		if len(rules) == 1 {
			res.Summary = fmt.Sprintf("%s: no recovery action within %s", rules[0].Name, shortDuration(rules[0].Window))
		}
	}
	return res
}

func actionWord(r *Rule) string {
	switch r.Action {
	case ActionRestart, ActionSystemd:
		return "restarts"
	case ActionCommand:
		return "runs"
	}
	return "actions"
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}
