package host

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/shirou/gopsutil/v3/disk"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// mountUsage is one mount's usage in the unit the mode measures.
type mountUsage struct {
	mount, fstype string
	used, total   uint64
	pct           float64
}

func checkDisks(ctx context.Context, o Options, th plugin.Thresholds) plugin.Result {
	plugin.SetStage(ctx, "listing mounts")
	parts, err := disk.PartitionsWithContext(ctx, len(o.IncludeType) > 0)
	if err != nil {
		return plugin.Unknownf("listing mounts: %v", err)
	}
	inodes := o.Mode == "inodes"
	seen := map[string]bool{}
	var mounts []mountUsage
	for _, p := range parts {
		if seen[p.Mountpoint] || !selected(p, o) {
			continue
		}
		seen[p.Mountpoint] = true
		plugin.SetStage(ctx, "reading usage of "+p.Mountpoint)
		u, err := disk.UsageWithContext(ctx, p.Mountpoint)
		if err != nil {
			// A mount that vanished or denies statfs is reported, not fatal.
			mounts = append(mounts, mountUsage{mount: p.Mountpoint, fstype: "error: " + err.Error()})
			continue
		}
		m := mountUsage{mount: p.Mountpoint, fstype: p.Fstype}
		if inodes {
			m.used, m.total = u.InodesUsed, u.InodesTotal
			m.pct = percent(u.InodesUsed, u.InodesTotal)
		} else {
			// df's Use%: used / (used + available), so root-reserved blocks count as full.
			m.used, m.total = u.Used, u.Total
			m.pct = percent(u.Used, u.Used+u.Free)
		}
		mounts = append(mounts, m)
	}
	if len(mounts) == 0 {
		return plugin.Unknownf("no mount matched the include/exclude options")
	}
	sort.Slice(mounts, func(i, j int) bool { return mounts[i].mount < mounts[j].mount })

	what, unit := "disk", "B"
	if inodes {
		what, unit = "inodes", ""
	}
	res := plugin.Result{Status: plugin.OK}
	var problems []string
	for _, m := range mounts {
		if strings.HasPrefix(m.fstype, "error: ") {
			res.Status = plugin.Worst(res.Status, plugin.Unknown)
			res.Details = append(res.Details, fmt.Sprintf("[UNKNOWN] %s: %s", m.mount, strings.TrimPrefix(m.fstype, "error: ")))
			problems = append(problems, m.mount+" unreadable")
			continue
		}
		value := m.pct
		byteTh, pctTh := plugin.Thresholds{}, th
		if o.Units == "bytes" {
			value = float64(m.used)
			byteTh, pctTh = th, plugin.Thresholds{}
		}
		st := th.Evaluate(value)
		res.Status = plugin.Worst(res.Status, st)
		line := fmt.Sprintf("%s %s%% used (%s of %s)", m.mount, plugin.FormatNumber(round2(m.pct)), amount(m.used, inodes), amount(m.total, inodes))
		res.Details = append(res.Details, fmt.Sprintf("[%s] %s, %s", st, line, m.fstype))
		if st != plugin.OK {
			problems = append(problems, line)
		}
		label := m.mount
		if inodes {
			label += "_inodes"
		}
		res.Perfdata = append(res.Perfdata,
			plugin.Perfdata{Label: label, Value: float64(m.used), UOM: unit, Warning: byteTh.Warning, Critical: byteTh.Critical,
				Min: plugin.Float(0), Max: plugin.Float(float64(m.total))},
			plugin.Perfdata{Label: label + "_pct", Value: m.pct, UOM: "%", Warning: pctTh.Warning, Critical: pctTh.Critical,
				Min: plugin.Float(0), Max: plugin.Float(100)},
		)
	}
	if len(problems) > 0 {
		res.Summary = fmt.Sprintf("%s: %d of %d mounts: %s", what, len(problems), len(mounts), strings.Join(problems, ", "))
	} else {
		res.Summary = fmt.Sprintf("%s: %d mounts within thresholds", what, len(mounts))
		if len(mounts) == 1 {
			m := mounts[0]
			res.Summary = fmt.Sprintf("%s %s %s%% used (%s of %s)", what, m.mount, plugin.FormatNumber(round2(m.pct)), amount(m.used, inodes), amount(m.total, inodes))
		}
	}
	return res
}

func amount(n uint64, inodes bool) string {
	if inodes {
		return fmt.Sprintf("%d", n)
	}
	return formatBytes(n)
}

func selected(p disk.PartitionStat, o Options) bool {
	if len(o.IncludeMount) > 0 && !slices.Contains(o.IncludeMount, p.Mountpoint) {
		return false
	}
	if slices.Contains(o.ExcludeMount, p.Mountpoint) {
		return false
	}
	if len(o.IncludeType) > 0 && !slices.Contains(o.IncludeType, p.Fstype) {
		return false
	}
	return !slices.Contains(o.ExcludeType, p.Fstype)
}
