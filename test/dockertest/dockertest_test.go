package dockertest

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
)

// TestBuildAndRun proves the helpers against the real engine: an image built
// from our own binary runs and exits with the code it was asked for.
func TestBuildAndRun(t *testing.T) {
	cli := Client(t)
	tag := BuildImage(t, cli, "test/dockertest/exitcode", "vigil-test-exitcode:latest")
	id := Run(t, cli, "vigil-test-dockertest-exit", &container.Config{Image: tag, Cmd: []string{"7"}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitC, errC := cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case w := <-waitC:
		if w.StatusCode != 7 {
			t.Fatalf("exit code = %d, want 7", w.StatusCode)
		}
	case err := <-errC:
		t.Fatalf("waiting for container: %v", err)
	}
}
