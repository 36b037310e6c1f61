package drift

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// evaluate applies thresholds, drift share and Bonferroni, and renders.
func evaluate(o Options, user plugin.Thresholds, cols []*columnResult) plugin.Result {
	var tested []*columnResult
	pTests := 0
	decisions := map[string]bool{} // decision statistics; all p-values count as one
	for _, c := range cols {
		if c.problem != "" {
			c.status = plugin.Unknown
			continue
		}
		tested = append(tested, c)
		if c.decision().pValue {
			pTests++
			decisions["a p-value"] = true
		} else {
			decisions[c.decision().name] = true
		}
	}
	if user.Set() && len(decisions) > 1 {
		names := make([]string, 0, len(decisions))
		for n := range decisions {
			names = append(names, n)
		}
		sort.Strings(names)
		return plugin.Unknownf("-w/-c apply to one statistic, but the columns are judged by %s; choose one with --method", strings.Join(names, " and "))
	}
	for _, c := range tested {
		th := user
		if !user.Set() {
			th = methodDefaults(c.method)
		} else if c.decision().pValue {
			th = plugin.Thresholds{Warning: pValueRange(user.Warning), Critical: pValueRange(user.Critical)}
		}
		if o.Bonferroni && c.decision().pValue {
			th = plugin.Thresholds{Warning: scaleRange(th.Warning, pTests), Critical: scaleRange(th.Critical, pTests)}
		}
		c.thresholds = th
		v := c.decision().value
		if math.IsNaN(v) {
			c.status = plugin.Unknown
			c.problem = c.decision().name + " is not a number"
			continue
		}
		c.status = th.Evaluate(v)
	}
	return render(o, cols, pTests)
}

// pValueRange reads a bare number N given for a p-value as "alert when p
// is below N" (the range N:), since the standard meaning of N, alert above
// N, is never what anyone wants of a p-value. Ranges written with ':', '~'
// or '@' apply as written.
func pValueRange(r *plugin.Range) *plugin.Range {
	if r == nil || r.Inside || r.Start != 0 || math.IsInf(r.End, 1) {
		return r
	}
	return &plugin.Range{Start: r.End, End: math.Inf(1)}
}

// driftScore orders drifted columns, most drifted first, across statistics:
// how far past its own alert boundary a value is, in decades for p-values.
func driftScore(c *columnResult) float64 {
	d := c.decision()
	if d.pValue {
		return -math.Log10(math.Max(d.value, 1e-300))
	}
	return d.value
}

func render(o Options, cols []*columnResult, pTests int) plugin.Result {
	var drifted, unknown []*columnResult
	tested := 0
	for _, c := range cols {
		switch c.status {
		case plugin.Unknown:
			unknown = append(unknown, c)
			continue
		case plugin.Warning, plugin.Critical:
			drifted = append(drifted, c)
		}
		tested++
	}
	sort.SliceStable(drifted, func(i, j int) bool {
		if drifted[i].status != drifted[j].status {
			return drifted[i].status == plugin.Critical
		}
		return driftScore(drifted[i]) > driftScore(drifted[j])
	})

	status := plugin.OK
	for _, c := range drifted {
		status = plugin.Worst(status, c.status)
	}
	var summary strings.Builder
	share := 0.0
	if tested > 0 {
		share = float64(len(drifted)) / float64(tested)
	}
	switch {
	case tested == 0:
		summary.WriteString("no column could be compared")
	case len(drifted) == 0:
		fmt.Fprintf(&summary, "no drift in %d column%s", tested, plural(tested))
		if closest := closestColumn(cols); closest != nil {
			fmt.Fprintf(&summary, " (closest: %s)", briefStat(closest))
		}
	default:
		fmt.Fprintf(&summary, "%d of %d column%s drifted", len(drifted), tested, plural(tested))
		if o.DriftShare > 0 {
			if share >= o.DriftShare {
				fmt.Fprintf(&summary, " (%s ≥ drift share %s)", percent(share), percent(o.DriftShare))
			} else {
				fmt.Fprintf(&summary, " (%s < drift share %s)", percent(share), percent(o.DriftShare))
				status = plugin.OK
			}
		}
		summary.WriteString(": ")
		var named []string
		for _, c := range drifted[:min(len(drifted), o.Show)] {
			named = append(named, briefStat(c))
		}
		summary.WriteString(strings.Join(named, ", "))
		if len(drifted) > o.Show {
			fmt.Fprintf(&summary, ", %d more", len(drifted)-o.Show)
		}
	}
	if o.Bonferroni && pTests > 1 {
		fmt.Fprintf(&summary, "; Bonferroni: p thresholds divided by %d", pTests)
	}
	if len(unknown) > 0 {
		status = plugin.Worst(status, plugin.Unknown)
		var names []string
		for _, c := range unknown {
			names = append(names, fmt.Sprintf("%s (%s)", c.name, c.problem))
		}
		fmt.Fprintf(&summary, "; %d column%s not compared: %s", len(unknown), plural(len(unknown)), strings.Join(names, ", "))
	}

	res := plugin.Result{Status: status, Summary: summary.String()}
	for _, c := range cols {
		res.Details = append(res.Details, detailLine(c))
		for i, s := range c.stats {
			prefix := c.name
			if c.label != "" {
				prefix = c.label
			}
			p := plugin.Perfdata{Label: prefix + "_" + s.name, Value: s.value, Min: s.min, Max: s.max}
			if i == 0 {
				p.Warning, p.Critical = c.thresholds.Warning, c.thresholds.Critical
			}
			res.Perfdata = append(res.Perfdata, p)
		}
	}
	res.Perfdata = append(res.Perfdata, plugin.Perfdata{Label: "drifted_columns", Value: float64(len(drifted)), Min: plugin.Float(0), Max: plugin.Float(float64(tested))})
	return res
}

func closestColumn(cols []*columnResult) *columnResult {
	var best *columnResult
	for _, c := range cols {
		if c.status == plugin.Unknown || len(c.stats) == 0 {
			continue
		}
		if best == nil || driftScore(c) > driftScore(best) {
			best = c
		}
	}
	return best
}

func briefStat(c *columnResult) string {
	d := c.decision()
	return fmt.Sprintf("%s %s=%s", c.name, d.name, formatShort(d.value))
}

func detailLine(c *columnResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", c.name)
	if c.kind != "" {
		fmt.Fprintf(&b, "%s, ", c.kind)
	}
	if len(c.stats) == 0 {
		fmt.Fprintf(&b, "UNKNOWN: %s", c.problem)
	} else {
		fmt.Fprintf(&b, "%s %s, %s=%s (%s)", c.status, c.method, c.decision().name, formatShort(c.decision().value), describeThresholds(c.thresholds))
		for _, s := range c.stats[1:] {
			fmt.Fprintf(&b, ", %s=%s", s.name, formatShort(s.value))
		}
		fmt.Fprintf(&b, ", reference %d / current %d values", c.refN, c.curN)
	}
	for _, n := range c.notes {
		b.WriteString("; ")
		b.WriteString(n)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func percent(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + "%"
}
