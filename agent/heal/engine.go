package heal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Engine is the part of the Docker engine API a healer uses;
// *client.Client implements it.
type Engine interface {
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerRestart(ctx context.Context, id string, opts container.StopOptions) error
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
}

// ConnectEngine returns a client of the engine at host (empty: DOCKER_HOST
// or the default socket) that negotiates the API version on its first
// call, so that a 20.10 engine (API 1.41) and Docker 29 (1.44 and up) both
// work. It does not connect: an unreachable engine shows up as the error
// of the first probe or action, which is where a healer must report it.
func ConnectEngine(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker engine address: %w", err)
	}
	return cli, nil
}

// ContainerProbe returns check_container's verdict on one container as a
// probe: CRITICAL when it is not running (exited, dead, created) or its
// HEALTHCHECK says unhealthy; OK when running and healthy, still starting,
// or without a health check; UNKNOWN when the engine cannot be asked.
// "starting" and "restarting" are transient and never count: acting on
// them is what caused docker-autoheal's reboot loop (#53).
func ContainerProbe(eng Engine, name string) Probe {
	return func(ctx context.Context) plugin.Result {
		plugin.SetStage(ctx, "inspecting container "+name)
		info, err := eng.ContainerInspect(ctx, name)
		if err != nil {
			if client.IsErrNotFound(err) {
				return plugin.Result{Status: plugin.Critical, Summary: fmt.Sprintf("container %s does not exist", name)}
			}
			return plugin.Unknownf("inspecting container %s: %v", name, engineMessage(err))
		}
		return containerVerdict(name, info)
	}
}

func containerVerdict(name string, info container.InspectResponse) plugin.Result {
	if info.ContainerJSONBase == nil || info.State == nil {
		return plugin.Unknownf("container %s: the engine returned no state", name)
	}
	st := info.State
	switch {
	case st.Restarting:
		return plugin.Result{Status: plugin.OK, Summary: fmt.Sprintf("container %s is restarting (the engine's restart policy is at work)", name)}
	case st.Paused:
		return plugin.Result{Status: plugin.Warning, Summary: fmt.Sprintf("container %s is paused", name)}
	case !st.Running:
		msg := fmt.Sprintf("container %s is %s", name, st.Status)
		if st.Status == "exited" || st.Status == "dead" {
			msg += fmt.Sprintf(" (exit code %d", st.ExitCode)
			if st.OOMKilled {
				msg += ", OOM-killed"
			}
			if t, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil && !t.IsZero() {
				msg += " at " + t.UTC().Format(time.RFC3339)
			}
			msg += ")"
		}
		if st.Error != "" {
			msg += ": " + st.Error
		}
		return plugin.Result{Status: plugin.Critical, Summary: msg}
	}
	if st.Health == nil || st.Health.Status == "" || st.Health.Status == container.NoHealthcheck {
		return plugin.Result{Status: plugin.OK, Summary: fmt.Sprintf("container %s is running", name)}
	}
	switch st.Health.Status {
	case container.Unhealthy:
		msg := fmt.Sprintf("container %s is unhealthy (failing streak %d)", name, st.Health.FailingStreak)
		if n := len(st.Health.Log); n > 0 {
			if out := strings.Join(strings.Fields(st.Health.Log[n-1].Output), " "); out != "" {
				msg += ": " + out
			}
		}
		return plugin.Result{Status: plugin.Critical, Summary: msg}
	case container.Starting:
		return plugin.Result{Status: plugin.OK, Summary: fmt.Sprintf("container %s is running, health starting", name)}
	}
	return plugin.Result{Status: plugin.OK, Summary: fmt.Sprintf("container %s is running and %s", name, st.Health.Status)}
}

// RestartContainer returns the action that restarts a container through
// the engine API, or starts it when it is not running (a restart of an
// exited container would also start it, but saying which happened is worth
// the inspect). stop is the engine's wait before SIGKILL; the action's own
// timeout must exceed it.
func RestartContainer(eng Engine, name string, stop time.Duration) Action {
	return func(ctx context.Context) (string, error) {
		plugin.SetStage(ctx, "inspecting container "+name)
		info, err := eng.ContainerInspect(ctx, name)
		if err != nil {
			return "", fmt.Errorf("inspecting container %s: %s", name, engineMessage(err))
		}
		if info.ContainerJSONBase != nil && info.State != nil {
			switch {
			case info.State.Restarting:
				return "left alone: the engine is restarting it", nil
			case !info.State.Running && !info.State.Paused:
				if err := eng.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
					return "", fmt.Errorf("starting container %s: %s", name, engineMessage(err))
				}
				return fmt.Sprintf("started (was %s)", info.State.Status), nil
			}
		}
		secs := int(stop.Round(time.Second) / time.Second)
		if err := eng.ContainerRestart(ctx, name, container.StopOptions{Timeout: &secs}); err != nil {
			return "", fmt.Errorf("restarting container %s: %s", name, engineMessage(err))
		}
		return "restarted", nil
	}
}

// engineMessage keeps the engine's own words (autoheal #111 lost them
// behind curl -f) and says plainly when the engine is not there.
func engineMessage(err error) string {
	if client.IsErrConnectionFailed(err) {
		return "docker engine unreachable: " + err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out: " + err.Error()
	}
	return err.Error()
}
