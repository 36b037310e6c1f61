package packaging

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"github.com/vigil-monitoring/vigil/test/dockertest"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

// TestImageBuildsAndRuns builds the image the way `make image` does
// (packaging/build.sh VERSION image, docker build on packaging/Dockerfile),
// checks its configuration (non-root, healthcheck, port, entrypoint) and runs
// every plugin in it. With the agent in the tree it also starts the agent
// and queries it with the stock check_nrpe through the published port.
func TestImageBuildsAndRuns(t *testing.T) {
	testenv.RequireCommand(t, "docker")
	cli := dockertest.Client(t)
	tag := fmt.Sprintf("vigil-packaging-test:%d", os.Getpid())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cli.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	buildWithEnv(t, []string{"VIGIL_IMAGE=" + tag}, "image")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inspect, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatalf("inspecting %s: %v", tag, err)
	}
	cfg := inspect.Config
	if cfg.User != "65534:65534" {
		t.Errorf("image user %q, want 65534:65534 (nobody)", cfg.User)
	}
	if cfg.Healthcheck == nil || len(cfg.Healthcheck.Test) < 2 || cfg.Healthcheck.Test[0] != "CMD" || cfg.Healthcheck.Test[1] != "/usr/sbin/vigil-agent" {
		t.Errorf("image healthcheck %+v, want the agent querying itself", cfg.Healthcheck)
	}
	if _, ok := cfg.ExposedPorts["5666/tcp"]; !ok {
		t.Errorf("image exposes %v, want 5666/tcp", cfg.ExposedPorts)
	}
	if strings.Join(cfg.Entrypoint, " ") != "/usr/sbin/vigil-agent" {
		t.Errorf("image entrypoint %q", cfg.Entrypoint)
	}
	if len(inspect.RootFS.Layers) > 2 {
		t.Errorf("image has %d layers; FROM scratch with two COPYs makes 2", len(inspect.RootFS.Layers))
	}

	for _, prog := range treePlugins(t) {
		path := "/usr/lib/nagios/plugins/" + installedName(prog)
		code, out := runInImage(t, cli, tag, path, "--version")
		if want := prog + " " + testVersion + " (vigil)\n"; code != 3 || out != want {
			t.Errorf("%s --version in the image: exit %d, %q; want 3, %q", path, code, out, want)
		}
	}
	// A real check, as nobody, in a scratch image: gopsutil reads /proc.
	code, out := runInImage(t, cli, tag, "/usr/lib/nagios/plugins/check_vigil_host", "--mode", "memory")
	if code > 2 || !strings.HasPrefix(out, "HOST ") || !strings.Contains(out, "| mem_used=") {
		t.Errorf("check_vigil_host --mode memory in the image: exit %d, %q", code, out)
	}
	t.Logf("in the image: check_vigil_host --mode memory: exit %d: %s", code, strings.TrimSpace(out))

	t.Run("agent answers check_nrpe", func(t *testing.T) {
		checkNRPE := testenv.RequireFile(t, "/usr/lib/nagios/plugins/check_nrpe")
		port := testenv.FreePort(t)
		name := fmt.Sprintf("vigil-packaging-agent-%d", os.Getpid())
		id := dockertest.Run(t, cli, name, &container.Config{Image: tag, ExposedPorts: nat.PortSet{"5666/tcp": {}}},
			&container.HostConfig{PortBindings: nat.PortMap{"5666/tcp": {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(port)}}}})
		var last string
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			out, code := run(t, checkNRPE, "-H", "127.0.0.1", "-p", strconv.Itoa(port), "-c", "vigil_host_memory")
			if code <= 2 && strings.HasPrefix(out, "HOST ") {
				t.Logf("check_nrpe -c vigil_host_memory against the container: exit %d: %s", code, strings.TrimSpace(out))
				last = ""
				break
			}
			last = fmt.Sprintf("exit %d: %s", code, out)
			time.Sleep(500 * time.Millisecond)
		}
		if last != "" {
			t.Errorf("check_nrpe against the container's agent: %s\n%s", last, containerLogs(t, cli, id))
		}
		// The HEALTHCHECK command itself, run in the container.
		code, out := execInContainer(t, cli, id, cfg.Healthcheck.Test[1:])
		if code != 0 {
			t.Errorf("healthcheck %q: exit %d, %q", cfg.Healthcheck.Test[1:], code, out)
		}
	})
}

// runInImage runs one command in a fresh container of the image and returns
// its exit code and output.
func runInImage(t *testing.T, cli *client.Client, tag string, entrypoint string, args ...string) (int, string) {
	t.Helper()
	name := fmt.Sprintf("vigil-packaging-run-%d-%d", os.Getpid(), time.Now().UnixNano())
	id := dockertest.Run(t, cli, name, &container.Config{Image: tag, Entrypoint: []string{entrypoint}, Cmd: args}, &container.HostConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitC, errC := cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	var code int
	select {
	case res := <-waitC:
		code = int(res.StatusCode)
	case err := <-errC:
		t.Fatalf("waiting for %s %v: %v", entrypoint, args, err)
	}
	return code, containerLogs(t, cli, id)
}

func containerLogs(t *testing.T, cli *client.Client, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("container logs: %v", err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		t.Fatalf("reading container logs: %v", err)
	}
	return out.String()
}

// execInContainer runs argv in a running container and returns its exit
// code and output.
func execInContainer(t *testing.T, cli *client.Client, id string, argv []string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: argv, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatalf("exec %v: %v", argv, err)
	}
	att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatalf("exec %v: %v", argv, err)
	}
	defer att.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, att.Reader)
	insp, err := cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		t.Fatalf("exec %v: %v", argv, err)
	}
	return insp.ExitCode, out.String()
}
