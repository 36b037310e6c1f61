package container

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	cerrdefs "github.com/containerd/errdefs"
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
	// CPUInterval is the time between the two samples: about a second
	// for the engine's own pair, the time since the previous run otherwise.
	CPUInterval time.Duration
	// MemoryUsed excludes inactive file cache, as docker stats does.
	MemoryUsed    uint64
	MemoryLimit   uint64 // the container's limit, or the host's memory without one
	MemoryPercent float64
	MemoryKnown   bool
	// Err says why nothing could be measured.
	Err  string
	gone bool // the container was removed before its stats were read
}

// cpuMaxAge is the oldest previous sample CPU% is averaged from; an older
// one (a check that was paused for hours) would hide the present.
const cpuMaxAge = 15 * time.Minute

// cpuMinInterval is the shortest interval worth averaging over. The
// engine's collection rounds are a second apart, so a one-shot sample is
// from a later round than the previous run's unless that round is still
// going on.
const cpuMinInterval = 500 * time.Millisecond

// fetchStats asks the engine for every running container's stats, at most
// limit at a time, and records each container's CPU counters in st.
//
// CPU% needs two samples. The engine takes them itself when asked for a
// non-streaming stats response, which therefore returns only after its
// second collection tick: 1 to 2 s. When st holds this container's sample
// from a previous run (same start, at most cpuMaxAge old), a one-shot
// request (returned at the next tick, under 1 s) gives the second sample,
// and CPU% is the average since the previous run, by the same formula.
// Only a cancelled context is an error; one container's failure is recorded
// in its Usage.
func fetchStats(ctx context.Context, cli client.APIClient, verdicts []Verdict, opts Options, st *checkState, now time.Time) error {
	var idx []int
	for i := range verdicts {
		if verdicts[i].State == "running" {
			idx = append(idx, i)
		}
	}
	samples := make([]*cpuSample, len(idx))
	forEach(ctx, len(idx), opts.StatsConcurrency, func(k int) {
		v := &verdicts[idx[k]]
		var prev *cpuSample
		if st != nil && opts.CPUSample != CPUSampleOneSecond {
			if obs := st.Containers[v.ID]; obs != nil && obs.CPU != nil && obs.CPU.StartedAt.Equal(v.StartedAt) {
				if now.Sub(obs.CPU.Read) <= cpuMaxAge {
					prev = obs.CPU
				}
			}
		}
		u, sample, err := containerUsage(ctx, cli, v.ID, prev)
		switch {
		case cerrdefs.IsNotFound(err):
			u = Usage{Err: "removed while being checked", gone: true}
		case err != nil:
			u = Usage{Err: firstLine(err.Error())}
		default:
			sample.StartedAt = v.StartedAt
			samples[k] = &sample
		}
		v.Usage = &u
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if st != nil {
		for k, s := range samples {
			if obs := st.Containers[verdicts[idx[k]].ID]; obs != nil && s != nil {
				obs.CPU = s
			}
		}
	}
	return nil
}

// containerUsage fetches one container's stats: a one-shot sample compared
// with prev when there is one, else the engine's own two samples.
func containerUsage(ctx context.Context, cli client.APIClient, id string, prev *cpuSample) (Usage, cpuSample, error) {
	if prev != nil {
		s, err := readStats(ctx, cli, id, true)
		if err != nil {
			return Usage{}, cpuSample{}, err
		}
		s.PreCPUStats = container.CPUStats{
			CPUUsage:    container.CPUUsage{TotalUsage: prev.Total},
			SystemUsage: prev.System,
		}
		u := usageFrom(s)
		if u.CPUKnown && s.CPUStats.CPUUsage.TotalUsage >= prev.Total && s.Read.Sub(prev.Read) >= cpuMinInterval {
			u.CPUInterval = s.Read.Sub(prev.Read)
			return u, sampleOf(s), nil
		}
		// Counters went backwards (a restart the start time did not show),
		// or the samples are too close: fall back to the engine's two.
	}
	s, err := readStats(ctx, cli, id, false)
	if err != nil {
		return Usage{}, cpuSample{}, err
	}
	u := usageFrom(s)
	if u.CPUKnown {
		u.CPUInterval = s.Read.Sub(s.PreRead)
	}
	return u, sampleOf(s), nil
}

func readStats(ctx context.Context, cli client.APIClient, id string, oneShot bool) (container.StatsResponse, error) {
	var (
		resp container.StatsResponseReader
		err  error
	)
	if oneShot {
		resp, err = cli.ContainerStatsOneShot(ctx, id)
	} else {
		resp, err = cli.ContainerStats(ctx, id, false)
	}
	if err != nil {
		return container.StatsResponse{}, err
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return container.StatsResponse{}, fmt.Errorf("reading stats: %w", err)
	}
	return s, nil
}

func sampleOf(s container.StatsResponse) cpuSample {
	return cpuSample{Read: s.Read, Total: s.CPUStats.CPUUsage.TotalUsage, System: s.CPUStats.SystemUsage}
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
		if !u.gone && (opts.CPU.Set() || opts.Memory.Set()) {
			return []Finding{{Status: plugin.Unknown, Kind: KindError, Text: "no stats: " + u.Err}}
		}
		return nil
	}
	var fs []Finding
	if u.CPUKnown {
		if st := opts.CPU.Evaluate(u.CPUPercent); st != plugin.OK {
			fs = append(fs, Finding{Status: st, Kind: KindCPU, Text: cpuText(u)})
		}
	} else if opts.CPU.Set() {
		fs = append(fs, Finding{Status: plugin.Unknown, Kind: KindError, Text: "cpu unknown (no second sample)"})
	}
	if u.MemoryKnown {
		if st := opts.Memory.Evaluate(u.MemoryPercent); st != plugin.OK {
			fs = append(fs, Finding{Status: st, Kind: KindMemory, Text: memoryText(u)})
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

// cpuText is "cpu 43.7%", with the interval when it is an average since the
// previous run rather than the engine's one second.
func cpuText(u *Usage) string {
	t := "cpu " + percent(u.CPUPercent)
	if u.CPUInterval >= 2*time.Second {
		t += " (avg " + formatAge(u.CPUInterval) + ")"
	}
	return t
}

// memoryText is "memory 87.9% (900MiB of 1GiB)".
func memoryText(u *Usage) string {
	return fmt.Sprintf("memory %s (%s of %s)", percent(u.MemoryPercent), formatBytes(u.MemoryUsed), formatBytes(u.MemoryLimit))
}
