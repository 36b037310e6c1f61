package heal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	ccheck "github.com/vigil-monitoring/vigil/plugins/container"
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
// HEALTHCHECK says unhealthy; WARNING when paused; OK when running and
// healthy, still starting, without a health check, or being restarted by
// the engine's own policy; UNKNOWN when the engine cannot be asked.
// "starting" and "restarting" are transient and never count: acting on
// them is what caused docker-autoheal's reboot loop (#53). The summary is
// check_container's own.
func ContainerProbe(docker client.APIClient, name string) Probe {
	return func(ctx context.Context) plugin.Result {
		rep, err := ccheck.Inspect(ctx, docker, ccheck.Options{Names: []string{name}, NoMatch: plugin.Critical})
		if err != nil {
			var ee *ccheck.EngineError
			if errors.As(err, &ee) {
				return plugin.Unknownf("%s", ee.Msg)
			}
			return plugin.Unknownf("inspecting container %s: %v", name, err)
		}
		summary := rep.Result().Summary
		if len(rep.Verdicts) == 0 {
			return plugin.Result{Status: plugin.Critical, Summary: summary}
		}
		return plugin.Result{Status: containerStatus(&rep.Verdicts[0]), Summary: summary}
	}
}

// containerStatus is the part of a verdict that recovery acts on.
func containerStatus(v *ccheck.Verdict) plugin.Status {
	switch {
	case v.State == "restarting":
		return plugin.OK
	case v.State == "paused":
		return plugin.Warning
	case !v.Running, v.Exited(), v.Unhealthy():
		return plugin.Critical
	}
	return plugin.OK
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
