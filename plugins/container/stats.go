package container

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Usage is a running container's CPU and memory, as docker stats shows them.
type Usage struct {
	// CPUPercent is the CPU used between the engine's two samples, in
	// percent of one CPU: 0..100 × OnlineCPUs.
	CPUPercent float64
	CPUKnown   bool
	OnlineCPUs int
	// MemoryUsed excludes inactive file cache, as docker stats does.
	MemoryUsed    uint64
	MemoryLimit   uint64 // the container's limit, or the host's memory without one
	MemoryPercent float64
	MemoryKnown   bool
	// Err says why nothing could be measured.
	Err string
}

// fetchStats asks the engine for every running container's stats, at most
// limit at a time. The non-streaming request returns after the engine has
// taken two samples a second apart (needed for CPU%), so the requests must
// overlap for the check to finish in about a second. Only a cancelled
// context is an error; one container's failure is recorded in its Usage.
func fetchStats(ctx context.Context, cli client.APIClient, verdicts []Verdict, limit int) error {
	var idx []int
	for i := range verdicts {
		if verdicts[i].State == "running" {
			idx = append(idx, i)
		}
	}
	forEach(ctx, len(idx), limit, func(k int) {
		v := &verdicts[idx[k]]
		u, err := containerUsage(ctx, cli, v.ID)
		if err != nil {
			u = Usage{Err: firstLine(err.Error())}
		}
		v.Usage = &u
	})
	return ctx.Err()
}

func containerUsage(ctx context.Context, cli client.APIClient, id string) (Usage, error) {
	resp, err := cli.ContainerStats(ctx, id, false)
	if err != nil {
		return Usage{}, err
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return Usage{}, fmt.Errorf("reading stats: %w", err)
	}
	return usageFrom(s), nil
}

// usageFrom computes CPU% and memory as the Docker CLI does. CPU: the
// container's CPU time delta over the host's CPU time delta, times the
// online CPUs (per-CPU usage counts them where online_cpus is missing; on
// cgroup v2 it is absent). Memory: usage less inactive file pages
// (total_inactive_file on cgroup v1, inactive_file on v2) when that is
// smaller than usage, over the limit the engine reports.
func usageFrom(s container.StatsResponse) Usage {
	var u Usage
	cpus := int(s.CPUStats.OnlineCPUs)
	if cpus == 0 {
		cpus = len(s.CPUStats.CPUUsage.PercpuUsage)
	}
	u.OnlineCPUs = cpus
	cpuDelta := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(s.PreCPUStats.CPUUsage.TotalUsage)
	sysDelta := float64(s.CPUStats.SystemUsage) - float64(s.PreCPUStats.SystemUsage)
	if s.PreCPUStats.SystemUsage > 0 && sysDelta > 0 && cpus > 0 {
		u.CPUKnown = true
		if cpuDelta > 0 {
			u.CPUPercent = cpuDelta / sysDelta * float64(cpus) * 100
		}
	}

	used := s.MemoryStats.Usage
	if v, ok := s.MemoryStats.Stats["total_inactive_file"]; ok && v < used {
		used -= v
	} else if v := s.MemoryStats.Stats["inactive_file"]; v < used {
		used -= v
	}
	u.MemoryUsed = used
	u.MemoryLimit = s.MemoryStats.Limit
	if u.MemoryLimit > 0 && s.MemoryStats.Usage > 0 {
		u.MemoryKnown = true
		u.MemoryPercent = float64(used) / float64(u.MemoryLimit) * 100
	}
	if !u.CPUKnown && !u.MemoryKnown {
		u.Err = "the engine returned no samples (container stopped?)"
	}
	return u
}

// usageFindings judges CPU and memory against their thresholds.
func usageFindings(v *Verdict, opts Options) []Finding {
	u := v.Usage
	if u == nil {
		return nil
	}
	if u.Err != "" {
		if opts.CPU.Set() || opts.Memory.Set() {
			return []Finding{{Status: plugin.Unknown, Kind: KindError, Text: "no stats: " + u.Err}}
		}
		return nil
	}
	var fs []Finding
	if u.CPUKnown {
		if st := opts.CPU.Evaluate(u.CPUPercent); st != plugin.OK {
			fs = append(fs, Finding{Status: st, Kind: KindCPU, Text: "cpu " + percent(u.CPUPercent)})
		}
	} else if opts.CPU.Set() {
		fs = append(fs, Finding{Status: plugin.Unknown, Kind: KindError, Text: "cpu unknown (no second sample)"})
	}
	if u.MemoryKnown {
		if st := opts.Memory.Evaluate(u.MemoryPercent); st != plugin.OK {
			fs = append(fs, Finding{Status: st, Kind: KindMemory, Text: fmt.Sprintf("memory %s of %s", percent(u.MemoryPercent), formatBytes(u.MemoryLimit))})
		}
	}
	return fs
}

// percent renders a percentage with one decimal.
func percent(v float64) string {
	return plugin.FormatNumber(math.Round(v*10)/10) + "%"
}

// formatBytes renders a size in binary units as docker stats does (MiB, GiB).
func formatBytes(b uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v := float64(b)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", b)
	}
	return plugin.FormatNumber(math.Round(v*10)/10) + units[i]
}
