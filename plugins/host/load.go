package host

import (
	"context"
	"fmt"
	"runtime"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/load"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func checkLoad(ctx context.Context, o Options, th plugin.Thresholds) plugin.Result {
	plugin.SetStage(ctx, "reading the load average")
	avg, err := load.AvgWithContext(ctx)
	if err != nil {
		return plugin.Unknownf("reading the load average: %v", err)
	}
	values := []float64{avg.Load1, avg.Load5, avg.Load15}
	what := "load average"
	if o.PerCPU {
		cpus, err := cpu.CountsWithContext(ctx, true)
		if err != nil || cpus < 1 {
			cpus = runtime.NumCPU()
		}
		for i := range values {
			values[i] /= float64(cpus)
		}
		what = fmt.Sprintf("load average per CPU (%d CPUs)", cpus)
	}
	res := plugin.Result{Status: plugin.OK}
	labels := []string{"load1", "load5", "load15"}
	for i, v := range values {
		res.Status = plugin.Worst(res.Status, th.Evaluate(v))
		res.Perfdata = append(res.Perfdata, plugin.Perfdata{
			Label: labels[i], Value: v, Warning: th.Warning, Critical: th.Critical, Min: plugin.Float(0),
		})
	}
	res.Summary = fmt.Sprintf("%s: %.2f, %.2f, %.2f", what, values[0], values[1], values[2])
	return res
}
