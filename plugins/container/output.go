package container

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// summaryItems is how many containers the status line names before "and N
// more": the line must stay readable in a pager notification.
const summaryItems = 3

// Result renders the report: a summary naming the worst containers and
// why, one long-output line per container (worst first), and perfdata per
// container and metric in name order (graphers map data sources by
// position, so the order must not follow the states).
func (r *Report) Result() plugin.Result {
	status := r.Status()
	return plugin.Result{
		Status:   status,
		Summary:  r.summary(status),
		Details:  r.details(),
		Perfdata: r.perfdata(),
	}
}

func (r *Report) summary(worst plugin.Status) string {
	var parts []string
	for _, n := range r.Notes {
		if n.Status == worst && (n.Status != plugin.OK || n.Kind == KindNoMatch) {
			parts = append(parts, n.Text)
		}
	}
	var top, lesser []*Verdict
	for i := range r.Verdicts {
		v := &r.Verdicts[i]
		switch {
		case v.Status == plugin.OK:
		case v.Status == worst:
			top = append(top, v)
		default:
			lesser = append(lesser, v)
		}
	}
	if len(top) > 0 {
		var items []string
		for i, v := range top {
			if i == summaryItems {
				items = append(items, fmt.Sprintf("and %d more", len(top)-summaryItems))
				break
			}
			items = append(items, v.Name+" "+findingTexts(v))
		}
		parts = append(parts, fmt.Sprintf("%d of %d %s: %s", len(top), len(r.Verdicts), problemWord(top, worst), strings.Join(items, "; ")))
	}
	if len(lesser) > 0 {
		byStatus := map[plugin.Status][]string{}
		for _, v := range lesser {
			byStatus[v.Status] = append(byStatus[v.Status], v.Name)
		}
		for _, st := range []plugin.Status{plugin.Warning, plugin.Unknown} {
			if names := byStatus[st]; len(names) > 0 {
				parts = append(parts, fmt.Sprintf("also %d %s (%s)", len(names), st, strings.Join(limitNames(names), ", ")))
			}
		}
	}
	if len(top) == 0 && len(r.Verdicts) > 0 {
		parts = append(parts, r.okPhrase())
	}
	if len(parts) == 0 && len(r.Verdicts) == 0 {
		// --expect 0 (or a range with 0) accepted the empty selection.
		parts = append(parts, "no container matches "+r.Selection+", as expected")
	}
	return strings.Join(parts, "; ")
}

// okPhrase describes containers that are all well: the one container's
// facts, or a tally of states.
func (r *Report) okPhrase() string {
	if len(r.Verdicts) == 1 {
		v := &r.Verdicts[0]
		return v.Name + " " + strings.Join(facts(v, r), ", ")
	}
	states := map[string]int{}
	healthy := 0
	for i := range r.Verdicts {
		states[r.Verdicts[i].State]++
		if r.Verdicts[i].Healthy() {
			healthy++
		}
	}
	var names []string
	for s := range states {
		names = append(names, s)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "running") != (names[j] == "running") {
			return names[i] == "running"
		}
		return names[i] < names[j]
	})
	var tally []string
	for _, s := range names {
		tally = append(tally, fmt.Sprintf("%d %s", states[s], s))
	}
	phrase := fmt.Sprintf("%d containers OK: %s", len(r.Verdicts), strings.Join(tally, ", "))
	if healthy > 0 {
		phrase += fmt.Sprintf(" (%d healthy)", healthy)
	}
	return phrase
}

// problemWord names what the worst containers share ("unhealthy",
// "exited"), or their state when their problems differ.
func problemWord(vs []*Verdict, worst plugin.Status) string {
	word := ""
	for _, v := range vs {
		w := kindWord(v, worst)
		if word != "" && w != word {
			return strings.ToLower(worst.String())
		}
		word = w
	}
	return word
}

func kindWord(v *Verdict, worst plugin.Status) string {
	for _, f := range v.Findings {
		if f.Status != worst {
			continue
		}
		switch f.Kind {
		case KindState:
			return v.State
		case KindExited:
			return "exited"
		case KindOOM:
			return "OOM-killed"
		case KindUnhealthy:
			return "unhealthy"
		case KindStarting:
			return "still starting"
		case KindRestarts:
			return "restarting too often"
		case KindUptime:
			return "recently started"
		case KindCPU:
			return "over the CPU threshold"
		case KindMemory:
			return "over the memory threshold"
		case KindImage:
			return "running a stale image"
		}
		return "not fully measured"
	}
	return strings.ToLower(worst.String())
}

func findingTexts(v *Verdict) string {
	var texts []string
	for _, f := range v.Findings {
		if f.Status != plugin.OK {
			texts = append(texts, f.Text)
		}
	}
	return strings.Join(texts, ", ")
}

func limitNames(names []string) []string {
	if len(names) <= summaryItems {
		return names
	}
	return append(names[:summaryItems:summaryItems], fmt.Sprintf("and %d more", len(names)-summaryItems))
}

// details is the long output: one line per container, then the notes.
func (r *Report) details() []string {
	var lines []string
	for i := range r.Verdicts {
		v := &r.Verdicts[i]
		line := fmt.Sprintf("[%s] %s %s: ", v.Status, v.Name, v.ShortID())
		if t := findingTexts(v); t != "" {
			line += t + "; "
		}
		lines = append(lines, line+strings.Join(facts(v, r), ", "))
	}
	for _, n := range r.Notes {
		lines = append(lines, fmt.Sprintf("[%s] %s", n.Status, n.Text))
	}
	if r.opts.Verbose > 0 && r.engine != "" {
		lines = append(lines, fmt.Sprintf("engine %s; %s", r.engine, strings.Join(r.timings, ", ")))
	}
	return lines
}

// facts are what is true of a container whether or not it is a problem.
func facts(v *Verdict, r *Report) []string {
	var fs []string
	switch v.State {
	case "running":
		fs = append(fs, "running")
		if v.Health != "" && !v.Has(KindUnhealthy) && !v.Has(KindStarting) {
			fs = append(fs, v.Health)
		}
		if !v.Has(KindUptime) {
			fs = append(fs, "up "+formatAge(v.Uptime))
		}
	case "exited", "dead":
		if !v.Has(KindExited) && !v.Has(KindOOM) {
			fs = append(fs, fmt.Sprintf("%s %d", v.State, v.ExitCode))
		}
		if !v.FinishedAt.IsZero() {
			fs = append(fs, "finished "+v.FinishedAt.UTC().Format("2006-01-02T15:04:05Z"))
		}
	default:
		if !v.Has(KindState) {
			fs = append(fs, v.State)
		}
	}
	restarts := fmt.Sprintf("restarts %d", v.RestartCount)
	if r.Restarts && v.Restarts >= 0 && !v.Has(KindRestarts) {
		restarts += fmt.Sprintf(" (%d counted)", v.Restarts)
	}
	fs = append(fs, restarts)
	if u := v.Usage; u != nil && u.Err == "" {
		if u.CPUKnown && !v.Has(KindCPU) {
			fs = append(fs, cpuText(u))
		}
		if u.MemoryKnown && !v.Has(KindMemory) {
			fs = append(fs, memoryText(u))
		}
	}
	return fs
}

func (r *Report) perfdata() []plugin.Perfdata {
	pd := []plugin.Perfdata{{Label: "containers", Value: float64(len(r.Verdicts)), Critical: r.Expect, Min: plugin.Float(0)}}
	switch r.opts.Perfdata {
	case PerfdataNone:
		return nil
	case PerfdataTotals:
		return append(pd, r.totals()...)
	}
	sorted := make([]*Verdict, len(r.Verdicts))
	for i := range r.Verdicts {
		sorted[i] = &r.Verdicts[i]
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, v := range sorted {
		l := perfLabel(v.Name)
		pd = append(pd,
			plugin.Perfdata{Label: l + "_restarts", Value: float64(v.RestartCount), UOM: "c"},
			plugin.Perfdata{Label: l + "_uptime", Value: math.Floor(v.Uptime.Seconds()), UOM: "s", Warning: r.minUptimeRange(), Min: plugin.Float(0)},
		)
		if r.Restarts && v.Restarts >= 0 {
			pd = append(pd, plugin.Perfdata{Label: l + "_restarts_counted", Value: float64(v.Restarts),
				Warning: r.opts.Restarts.Warning, Critical: r.opts.Restarts.Critical, Min: plugin.Float(0)})
		}
		if u := v.Usage; u != nil && u.Err == "" {
			if u.CPUKnown {
				pd = append(pd, plugin.Perfdata{Label: l + "_cpu", Value: math.Round(u.CPUPercent*100) / 100, UOM: "%",
					Warning: r.opts.CPU.Warning, Critical: r.opts.CPU.Critical, Min: plugin.Float(0), Max: plugin.Float(float64(100 * u.OnlineCPUs))})
			}
			if u.MemoryKnown {
				pd = append(pd,
					plugin.Perfdata{Label: l + "_memory", Value: math.Round(u.MemoryPercent*100) / 100, UOM: "%",
						Warning: r.opts.Memory.Warning, Critical: r.opts.Memory.Critical, Min: plugin.Float(0), Max: plugin.Float(100)},
					plugin.Perfdata{Label: l + "_memory_used", Value: float64(u.MemoryUsed), UOM: "B", Min: plugin.Float(0), Max: plugin.Float(float64(u.MemoryLimit))},
				)
			}
		}
	}
	return pd
}

// perfLabel keeps a container name to [A-Za-z0-9_.-], which every grapher
// and Nagios' macro filter let through unquoted.
func perfLabel(name string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
			return c
		}
		return '_'
	}, name)
}

// minUptimeRange is --min-uptime as a perfdata warning range ("300:").
func (r *Report) minUptimeRange() *plugin.Range {
	if r.opts.MinUptime <= 0 {
		return nil
	}
	return &plugin.Range{Start: math.Ceil(r.opts.MinUptime.Seconds()), End: math.Inf(1)}
}

// totals is the perfdata of the selection as a whole: how many containers
// are running, healthy, unhealthy, restarted, and the highest CPU and
// memory.
func (r *Report) totals() []plugin.Perfdata {
	var running, healthy, unhealthy, restarts, counted float64
	cpu, mem := math.NaN(), math.NaN()
	anyCounted := false
	for i := range r.Verdicts {
		v := &r.Verdicts[i]
		if v.State == "running" {
			running++
		}
		if v.Healthy() {
			healthy++
		}
		if v.Unhealthy() {
			unhealthy++
		}
		restarts += float64(v.RestartCount)
		if v.Restarts >= 0 {
			counted += float64(v.Restarts)
			anyCounted = true
		}
		if u := v.Usage; u != nil && u.Err == "" {
			if u.CPUKnown && !(u.CPUPercent <= cpu) {
				cpu = u.CPUPercent
			}
			if u.MemoryKnown && !(u.MemoryPercent <= mem) {
				mem = u.MemoryPercent
			}
		}
	}
	pd := []plugin.Perfdata{
		{Label: "running", Value: running, Min: plugin.Float(0)},
		{Label: "healthy", Value: healthy, Min: plugin.Float(0)},
		{Label: "unhealthy", Value: unhealthy, Min: plugin.Float(0)},
		{Label: "restarts", Value: restarts, UOM: "c"},
	}
	if r.Restarts && anyCounted {
		pd = append(pd, plugin.Perfdata{Label: "restarts_counted", Value: counted, Min: plugin.Float(0)})
	}
	if r.Stats {
		if !math.IsNaN(cpu) {
			pd = append(pd, plugin.Perfdata{Label: "cpu_max", Value: math.Round(cpu*100) / 100, UOM: "%",
				Warning: r.opts.CPU.Warning, Critical: r.opts.CPU.Critical, Min: plugin.Float(0)})
		}
		if !math.IsNaN(mem) {
			pd = append(pd, plugin.Perfdata{Label: "memory_max", Value: math.Round(mem*100) / 100, UOM: "%",
				Warning: r.opts.Memory.Warning, Critical: r.opts.Memory.Critical, Min: plugin.Float(0), Max: plugin.Float(100)})
		}
	}
	return pd
}
