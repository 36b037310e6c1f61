package host

import (
	"context"
	"fmt"

	"github.com/shirou/gopsutil/v3/mem"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func checkMemory(ctx context.Context, o Options, th plugin.Thresholds) plugin.Result {
	plugin.SetStage(ctx, "reading memory usage")
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return plugin.Unknownf("reading memory usage: %v", err)
	}
	// free(1) from procps-ng 4 counts used as total - available; gopsutil's
	// Used subtracts only buffers and cache, which overstates it.
	used := uint64(0)
	if vm.Available < vm.Total {
		used = vm.Total - vm.Available
	}
	return usage("memory", "mem", used, vm.Total, o, th)
}

func checkSwap(ctx context.Context, o Options, th plugin.Thresholds) plugin.Result {
	plugin.SetStage(ctx, "reading swap usage")
	// Swap comes from /proc/meminfo as free(1) reads it; gopsutil's
	// SwapMemory asks sysinfo(2) instead, which ignores HOST_PROC.
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return plugin.Unknownf("reading swap usage: %v", err)
	}
	if vm.SwapTotal == 0 {
		res := usage("swap", "swap", 0, 0, o, th)
		res.Summary = "no swap configured"
		return res
	}
	used := uint64(0)
	if vm.SwapFree < vm.SwapTotal {
		used = vm.SwapTotal - vm.SwapFree
	}
	return usage("swap", "swap", used, vm.SwapTotal, o, th)
}

// usage judges used of total in percent or bytes and renders it.
func usage(what, label string, used, total uint64, o Options, th plugin.Thresholds) plugin.Result {
	pct := percent(used, total)
	byteTh, pctTh := plugin.Thresholds{}, th
	value := pct
	if o.Units == "bytes" {
		byteTh, pctTh = th, plugin.Thresholds{}
		value = float64(used)
	}
	return plugin.Result{
		Status:  th.Evaluate(value),
		Summary: fmt.Sprintf("%s used %s%% (%s of %s)", what, plugin.FormatNumber(round2(pct)), formatBytes(used), formatBytes(total)),
		Perfdata: []plugin.Perfdata{
			{Label: label + "_used", Value: float64(used), UOM: "B", Warning: byteTh.Warning, Critical: byteTh.Critical,
				Min: plugin.Float(0), Max: plugin.Float(float64(total))},
			{Label: label + "_used_pct", Value: pct, UOM: "%", Warning: pctTh.Warning, Critical: pctTh.Critical,
				Min: plugin.Float(0), Max: plugin.Float(100)},
		},
	}
}
