package kafkalag

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// verdict is one group's state and the reasons for it, worst first.
type verdict struct {
	group   *GroupLag
	status  plugin.Status
	reasons []reason_
}

type reason_ struct {
	status   plugin.Status
	text     string
	totalLag bool // the -w/-c reason, which already gives the lag
}

func (v *verdict) add(s plugin.Status, format string, args ...any) {
	v.reasons = append(v.reasons, reason_{status: s, text: fmt.Sprintf(format, args...)})
	v.status = plugin.Worst(v.status, s)
}

// judge applies thresholds and rules to each group and renders the result.
func judge(snap *snapshot, o *Options, notes []string) plugin.Result {
	if len(snap.groups) == 0 {
		return plugin.Unknownf("no consumer group matches %s", o.describeSelection())
	}
	var res plugin.Result
	var verdicts []*verdict
	var total int64
	for _, gl := range snap.groups {
		v := judgeGroup(gl, o)
		verdicts = append(verdicts, v)
		total += gl.Total
		res.Status = plugin.Worst(res.Status, v.status)
	}
	res.Summary = summary(verdicts, total, o)
	for _, v := range verdicts {
		res.Details = append(res.Details, details(v, o)...)
		res.Perfdata = append(res.Perfdata, perfdata(v.group, o)...)
	}
	res.Details = append(res.Details, notes...)
	return res
}

func judgeGroup(gl *GroupLag, o *Options) *verdict {
	v := &verdict{group: gl}
	switch {
	case gl.NotFound:
		v.add(plugin.Unknown, "group not found")
		return v
	case gl.Err != nil:
		v.add(plugin.Unknown, "%v", gl.Err)
		return v
	}
	for _, tl := range gl.Topics {
		if tl.Unknown {
			v.add(plugin.Unknown, "topic %s %s", tl.Topic, topicProblem(tl))
		}
	}
	if gl.NoSelectedTopics {
		v.add(plugin.Unknown, "no committed offsets on the selected topics")
	} else if gl.Committed == 0 && gl.Members == 0 && gl.Errors == 0 {
		// An Empty group with no commits lists no partitions: its lag is
		// not 0, it is not known.
		v.add(plugin.Unknown, "no committed offsets and no members")
	}
	if gl.Errors > 0 {
		v.add(plugin.Critical, "%d %s unreadable (%s)", gl.Errors, plural(gl.Errors, "partition"), firstPartitionError(gl))
	}
	if s := o.TotalLag.Evaluate(float64(gl.Total)); s != plugin.OK {
		v.add(s, "lag %d (%s %s)", gl.Total, lower(s), rangeOf(o.TotalLag, s))
		v.reasons[len(v.reasons)-1].totalLag = true
	}
	if mp := gl.MaxPartition; mp != nil {
		if s := o.MaxPartitionLag.Evaluate(float64(mp.Lag)); s != plugin.OK {
			v.add(s, "partition %s/%d lag %d (%s %s)", mp.Topic, mp.Partition, mp.Lag, lower(s), rangeOf(o.MaxPartitionLag, s))
		}
	}
	if !o.NoTimeLag && o.LagSeconds.Set() {
		if math.IsNaN(gl.Seconds) {
			v.add(plugin.Unknown, "lag in seconds unknown")
		} else if s := o.LagSeconds.Evaluate(gl.Seconds); s != plugin.OK {
			v.add(s, "%s behind (%s %s)", seconds(gl.Seconds), lower(s), rangeOf(o.LagSeconds, s))
		}
	}
	if o.MinMembers > 0 && gl.Members < o.MinMembers {
		v.add(plugin.Critical, "%d %s (minimum %d)", gl.Members, plural(gl.Members, "member"), o.MinMembers)
	}
	if gl.Members == 0 && gl.Total > 0 && !o.AllowEmpty {
		v.add(plugin.Critical, "no active members (consumer down)")
	}
	var stopped, stalled, rewound []*PartitionLag
	for _, tl := range gl.Topics {
		for _, pl := range tl.Partitions {
			if pl.Stopped {
				stopped = append(stopped, pl)
			} else if pl.Stalled {
				stalled = append(stalled, pl)
			}
			if pl.Rewound {
				rewound = append(rewound, pl)
			}
		}
	}
	if len(stopped) > 0 {
		v.add(plugin.Critical, "stopped: offsets unchanged for %s on %s", duration(stopped[0].Unmoved), partitionList(stopped))
	}
	if len(stalled) > 0 {
		v.add(plugin.Warning, "stalled: offsets unchanged for %d runs on %s", o.StallRuns, partitionList(stalled))
	}
	if len(rewound) > 0 {
		v.add(plugin.Warning, "rewound: offsets went back on %s", partitionList(rewound))
	}
	if gl.Growing {
		v.add(plugin.Warning, "lag growing for %d runs", o.GrowthRuns)
	}
	if gl.Lost > 0 {
		v.add(plugin.Warning, "%d %s deleted unconsumed (commit below log start)", gl.Lost, plural(int(min(gl.Lost, 2)), "message"))
	}
	sort.SliceStable(v.reasons, func(i, j int) bool { return v.reasons[i].status.Severity() > v.reasons[j].status.Severity() })
	return v
}

// summary names the worst groups and topics; when all is well, the overall
// figures and where the most lag is.
func summary(vs []*verdict, total int64, o *Options) string {
	var bad []*verdict
	for _, v := range vs {
		if v.status != plugin.OK {
			bad = append(bad, v)
		}
	}
	sort.SliceStable(bad, func(i, j int) bool {
		if bad[i].status.Severity() != bad[j].status.Severity() {
			return bad[i].status.Severity() > bad[j].status.Severity()
		}
		return bad[i].group.Total > bad[j].group.Total
	})
	if len(bad) == 0 {
		worst := vs[0]
		for _, v := range vs {
			if v.group.Total > worst.group.Total {
				worst = v
			}
		}
		s := fmt.Sprintf("%d %s, total lag %d", len(vs), plural(len(vs), "group"), total)
		if len(vs) > 1 || worst.group.Total > 0 {
			s += "; most behind " + headline(worst.group, o)
		} else {
			s += "; " + headline(worst.group, o)
		}
		return s
	}
	var parts []string
	for i, v := range bad {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("%d more %s not OK", len(bad)-3, plural(len(bad)-3, "group")))
			break
		}
		// The summary keeps the reasons at the group's worst state; the
		// long output has them all.
		var texts []string
		lagReason := false
		for _, r := range v.reasons {
			if r.status == v.status {
				texts = append(texts, r.text)
				lagReason = lagReason || r.totalLag
			}
		}
		head := "group " + v.group.Group
		if t := worstTopic(v.group); t != nil {
			head += " topic " + t.Topic
		}
		if !lagReason && !v.group.NotFound && v.group.Err == nil {
			head += fmt.Sprintf(" lag %d", v.group.Total)
		}
		parts = append(parts, head+": "+strings.Join(texts, ", "))
	}
	return strings.Join(parts, "; ")
}

// headline is "group g1 topic t1 lag 120, 35.2s behind".
func headline(gl *GroupLag, o *Options) string {
	s := "group " + gl.Group
	if gl.NotFound || gl.Err != nil {
		return s
	}
	if t := worstTopic(gl); t != nil {
		s += " topic " + t.Topic
	}
	s += fmt.Sprintf(" lag %d", gl.Total)
	if !o.NoTimeLag && !math.IsNaN(gl.Seconds) && gl.Total > 0 {
		s += ", " + seconds(gl.Seconds) + " behind"
	}
	return s
}

func worstTopic(gl *GroupLag) *TopicLag {
	var worst *TopicLag
	for _, tl := range gl.Topics {
		if worst == nil || tl.Lag > worst.Lag {
			worst = tl
		}
	}
	return worst
}

// details is the long output: a line per group, a line per topic, and with
// -v a line per partition.
func details(v *verdict, o *Options) []string {
	gl := v.group
	line := fmt.Sprintf("[%s] group %s", v.status, gl.Group)
	switch {
	case gl.NotFound:
		return []string{line + ": not found"}
	case gl.Err != nil:
		return []string{line + ": " + gl.Err.Error()}
	}
	line += fmt.Sprintf(": %s, %d %s, lag %d", orDash(gl.State), gl.Members, plural(gl.Members, "member"), gl.Total)
	if mp := gl.MaxPartition; mp != nil {
		line += fmt.Sprintf(", max partition %d (%s/%d)", mp.Lag, mp.Topic, mp.Partition)
	}
	if !o.NoTimeLag {
		line += ", " + secondsOrUnknown(gl.Seconds) + " behind"
	}
	if gl.Missing > 0 {
		line += fmt.Sprintf(", %d %s without committed offset (%s)", gl.Missing, plural(gl.Missing, "partition"), o.MissingOffset)
	}
	var texts []string
	for _, r := range v.reasons {
		texts = append(texts, r.text)
	}
	if len(texts) > 0 {
		line += " - " + strings.Join(texts, ", ")
	}
	out := []string{line}
	for _, tl := range gl.Topics {
		if tl.Unknown {
			out = append(out, fmt.Sprintf("  \\_ topic %s: %s", tl.Topic, topicProblem(tl)))
			continue
		}
		tline := fmt.Sprintf("  \\_ topic %s: lag %d in %d %s, max %d", tl.Topic, tl.Lag, len(tl.Partitions), plural(len(tl.Partitions), "partition"), tl.MaxLag)
		if !o.NoTimeLag {
			tline += ", " + secondsOrUnknown(tl.Seconds) + " behind"
		}
		out = append(out, tline)
		if o.Verbose == 0 {
			continue
		}
		for _, pl := range tl.Partitions {
			out = append(out, "       "+partitionLine(pl, o))
		}
	}
	return out
}

func partitionLine(pl *PartitionLag, o *Options) string {
	s := fmt.Sprintf("%s/%d: ", pl.Topic, pl.Partition)
	if pl.Err != nil {
		return s + "error: " + shortError(pl.Err)
	}
	if pl.Commit >= 0 {
		s += fmt.Sprintf("commit %d", pl.Commit)
	} else {
		s += "no commit"
	}
	s += fmt.Sprintf(", start %d, end %d, lag %d", pl.Start, pl.End, pl.Lag)
	if !pl.Counted {
		s += " (not counted)"
	}
	if !o.NoTimeLag && pl.Counted {
		s += ", " + secondsOrUnknown(pl.Seconds) + " behind"
	}
	if pl.Member != "" {
		s += ", member " + pl.Member
	}
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{pl.Stopped, "stopped"}, {pl.Stalled && !pl.Stopped, "stalled"}, {pl.Rewound, "rewound"}, {pl.Lost > 0, fmt.Sprintf("%d lost", pl.Lost)}} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	if len(flags) > 0 {
		s += " [" + strings.Join(flags, ", ") + "]"
	}
	return s
}

// perfdata: per group lag (with -w/-c), lag in seconds, members, worst
// partition; per topic lag and lag in seconds. Same labels every run.
func perfdata(gl *GroupLag, o *Options) []plugin.Perfdata {
	zero := plugin.Float(0)
	g := gl.Group
	if gl.NotFound || gl.Err != nil {
		out := []plugin.Perfdata{{Label: g + "_lag", Value: math.NaN()}}
		if !o.NoTimeLag {
			out = append(out, plugin.Perfdata{Label: g + "_lag_seconds", Value: math.NaN()})
		}
		return append(out, plugin.Perfdata{Label: g + "_members", Value: math.NaN()})
	}
	var maxPart float64
	if gl.MaxPartition != nil {
		maxPart = float64(gl.MaxPartition.Lag)
	}
	out := []plugin.Perfdata{{Label: g + "_lag", Value: float64(gl.Total), Warning: o.TotalLag.Warning, Critical: o.TotalLag.Critical, Min: zero}}
	if !o.NoTimeLag {
		out = append(out, plugin.Perfdata{Label: g + "_lag_seconds", Value: roundMilli(gl.Seconds), UOM: "s", Warning: o.LagSeconds.Warning, Critical: o.LagSeconds.Critical, Min: zero})
	}
	out = append(out,
		plugin.Perfdata{Label: g + "_members", Value: float64(gl.Members), Min: zero},
		plugin.Perfdata{Label: g + "_max_partition_lag", Value: maxPart, Warning: o.MaxPartitionLag.Warning, Critical: o.MaxPartitionLag.Critical, Min: zero})
	for _, tl := range gl.Topics {
		if tl.Unknown {
			continue
		}
		out = append(out, plugin.Perfdata{Label: g + "/" + tl.Topic + "_lag", Value: float64(tl.Lag), Min: zero})
		if !o.NoTimeLag {
			out = append(out, plugin.Perfdata{Label: g + "/" + tl.Topic + "_lag_seconds", Value: roundMilli(tl.Seconds), UOM: "s", Min: zero})
		}
	}
	return out
}

func firstPartitionError(gl *GroupLag) string {
	for _, tl := range gl.Topics {
		for _, pl := range tl.Partitions {
			if pl.Err != nil {
				return fmt.Sprintf("%s/%d: %s", pl.Topic, pl.Partition, shortError(pl.Err))
			}
		}
	}
	return ""
}

func partitionList(ps []*PartitionLag) string {
	var names []string
	for i, pl := range ps {
		if i == 5 {
			names = append(names, fmt.Sprintf("%d more", len(ps)-5))
			break
		}
		names = append(names, fmt.Sprintf("%s/%d", pl.Topic, pl.Partition))
	}
	return strings.Join(names, " ")
}

func rangeOf(t plugin.Thresholds, s plugin.Status) string {
	if s == plugin.Critical && t.Critical != nil {
		return t.Critical.String()
	}
	if t.Warning != nil {
		return t.Warning.String()
	}
	return ""
}

func lower(s plugin.Status) string { return strings.ToLower(s.String()) }

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// seconds renders an age: one decimal under a minute, whole seconds above.
func seconds(s float64) string {
	if s < 60 {
		return plugin.FormatNumber(math.Round(s*10)/10) + "s"
	}
	return plugin.FormatNumber(math.Round(s)) + "s"
}

func secondsOrUnknown(s float64) string {
	if math.IsNaN(s) {
		return "unknown seconds"
	}
	return seconds(s)
}

func duration(s float64) string {
	d := int64(math.Round(s))
	switch {
	case d >= 3600:
		return fmt.Sprintf("%dh%02dm", d/3600, d%3600/60)
	case d >= 60:
		return fmt.Sprintf("%dm%02ds", d/60, d%60)
	}
	return fmt.Sprintf("%ds", d)
}

func roundMilli(s float64) float64 {
	if math.IsNaN(s) {
		return s
	}
	return math.Round(s*1000) / 1000
}

// shortError keeps a Kafka error's code and drops its long description
// ("LEADER_NOT_AVAILABLE: There is no leader for this topic-partition as we
// are in the middle of a leadership election.").
func shortError(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return strings.Replace(err.Error(), ke.Error(), ke.Message, 1)
	}
	return err.Error()
}

func topicProblem(tl *TopicLag) string {
	if tl.Err == nil || errors.Is(tl.Err, kerr.UnknownTopicOrPartition) {
		return "does not exist"
	}
	return "cannot be described: " + shortError(tl.Err)
}
