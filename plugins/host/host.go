// Package host is check_host: load, memory, swap, disk and inode usage of the
// machine the check runs on, read through gopsutil so the same code serves the
// binary and the agent's in-process checks.
package host

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/spf13/pflag"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Options are check_host's flags.
type Options struct {
	Mode         string   // load, memory, swap, disk, inodes
	PerCPU       bool     // load divided by the number of CPUs
	Units        string   // percent or bytes: what -w/-c apply to for memory, swap, disk
	IncludeMount []string // disk/inodes: only these mount points
	ExcludeMount []string
	IncludeType  []string // disk/inodes: only these filesystem types
	ExcludeType  []string
}

// Modes lists the measurements check_host can make.
var modes = []string{"load", "memory", "swap", "disk", "inodes"}

// New returns check_host as a plugin with fresh options.
func New() *plugin.Plugin {
	o := Options{Mode: "load", Units: "percent"}
	return &plugin.Plugin{
		Program: "check_host",
		Name:    "HOST",
		Description: `Checks this host's load average (raw or per CPU), memory and swap used, and disk and
inode usage per mount. -w and -c are ranges on the load of each interval, or on the used
share in percent (or in bytes with --units bytes). Memory "used" is total minus available,
as free(1) computes it; disk usage is used/(used+available), as df(1) computes it.`,
		Examples: []string{
			"check_host --mode load --per-cpu -w 2 -c 4",
			"check_host --mode memory -w 80 -c 90",
			"check_host --mode swap --units bytes -w 1073741824 -c 4294967296",
			"check_host --mode disk -w 80 -c 90 --exclude-type tmpfs --exclude-type overlay",
			"check_host --mode inodes --include-mount / -w 80 -c 95",
		},
		Thresholds: true,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&o.Mode, "mode", "m", o.Mode, "what to measure: "+strings.Join(modes, ", "))
			fs.BoolVar(&o.PerCPU, "per-cpu", false, "load: divide the load average by the number of CPUs")
			fs.StringVar(&o.Units, "units", o.Units, "memory, swap, disk: apply -w/-c to percent or bytes used")
			fs.StringArrayVar(&o.IncludeMount, "include-mount", nil, "disk, inodes: check only this mount point (repeatable)")
			fs.StringArrayVar(&o.ExcludeMount, "exclude-mount", nil, "disk, inodes: skip this mount point (repeatable)")
			fs.StringArrayVar(&o.IncludeType, "include-type", nil, "disk, inodes: check only this filesystem type (repeatable)")
			fs.StringArrayVar(&o.ExcludeType, "exclude-type", nil, "disk, inodes: skip this filesystem type (repeatable)")
		},
		Check: func(ctx context.Context, env plugin.Env) plugin.Result {
			return Check(ctx, o, env.Thresholds)
		},
	}
}

// Check measures what o.Mode names and judges it against th.
func Check(ctx context.Context, o Options, th plugin.Thresholds) plugin.Result {
	if o.Units != "percent" && o.Units != "bytes" {
		return plugin.Unknownf("--units %q must be percent or bytes", o.Units)
	}
	switch o.Mode {
	case "load":
		return checkLoad(ctx, o, th)
	case "memory":
		return checkMemory(ctx, o, th)
	case "swap":
		return checkSwap(ctx, o, th)
	case "disk", "inodes":
		return checkDisks(ctx, o, th)
	}
	return plugin.Unknownf("--mode %q is not one of %s", o.Mode, strings.Join(modes, ", "))
}

// formatBytes renders a byte count for people (GiB, binary units, as free -h).
func formatBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTP"[exp])
}

// percent is used/total*100, 0 for an empty total.
func percent(used, total uint64) float64 {
	if total == 0 {
		return 0
	}
	return float64(used) / float64(total) * 100
}

// round2 keeps two decimals for a summary; perfdata keeps full precision.
func round2(v float64) float64 {
	return math.Round(v*100) / 100
}
