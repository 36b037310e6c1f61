// Package dockertest gives the integration tests a real Docker engine client
// and images built from vigil's own static binaries, since no image can be
// pulled on a test machine.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// Client returns a client of the engine named by DOCKER_HOST (or the default
// socket), negotiating the API version. Without a reachable engine the test
// is skipped locally and fails under CI.
func Client(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		testenv.Require(t, false, fmt.Sprintf("docker engine client: %v", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = cli.Ping(ctx)
	testenv.Require(t, err == nil, fmt.Sprintf("a reachable docker engine (%v)", err))
	t.Cleanup(func() { cli.Close() })
	return cli
}

// BuildImage builds pkg (a Go main package, relative to the repository root)
// as a static binary and wraps it in a FROM scratch image tagged tag, whose
// entrypoint is the binary at /app. extra lines are appended to the
// Dockerfile (HEALTHCHECK, EXPOSE, ...). The image is removed when the test
// ends.
func BuildImage(t testing.TB, cli *client.Client, pkg, tag string, extra ...string) string {
	t.Helper()
	bin := testenv.Build(t, pkg)
	binData, err := os.ReadFile(bin)
	if err != nil {
		t.Fatalf("reading %s: %v", bin, err)
	}
	dockerfile := "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n" + strings.Join(extra, "\n") + "\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"app", 0o755, binData}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			t.Fatalf("writing build context: %v", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatalf("writing build context: %v", err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("writing build context: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatalf("building image %s: %v", tag, err)
	}
	defer resp.Body.Close()
	if err := buildError(resp.Body); err != nil {
		t.Fatalf("building image %s: %v", tag, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cli.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return tag
}

// buildError reads the build's JSON message stream to its end and returns
// the first error it reports.
func buildError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading build output: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("%s", msg.Error)
		}
	}
}

// Remove force-removes a container (and its anonymous volumes); it is meant
// for t.Cleanup and ignores a container that is already gone.
func Remove(t testing.TB, cli *client.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
		t.Logf("removing container %s: %v", id, err)
	}
}

// Run creates and starts a container and removes it when the test ends. It
// returns the container id.
func Run(t testing.TB, cli *client.Client, name string, cfg *container.Config, host *container.HostConfig) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A container left by an earlier, killed run would block the name.
	Remove(t, cli, name)
	created, err := cli.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		t.Fatalf("creating container %s: %v", name, err)
	}
	t.Cleanup(func() { Remove(t, cli, created.ID) })
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("starting container %s: %v", name, err)
	}
	return created.ID
}
