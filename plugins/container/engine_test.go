package container

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
	"github.com/vigil-monitoring/vigil/test/dockertest"
)

// TestRemovedBetweenListAndInspect lists a real container, removes it, then
// inspects from the stale listing: the container is skipped with a note and
// the others are still judged.
func TestRemovedBetweenListAndInspect(t *testing.T) {
	cli := dockertest.Client(t)
	// Names unique to this process, so concurrent runs on one engine do not
	// collide.
	pid := strconv.Itoa(os.Getpid())
	img := dockertest.BuildImage(t, cli, "test/fixtures/payload", "vigil-test-payload-removed:"+pid)
	label := "vigil.test=removed-race-" + pid
	cfg := func() *container.Config {
		return &container.Config{Image: img, Labels: map[string]string{"vigil.test": "removed-race-" + pid}}
	}
	keepName, goneName := "vigil-test-removed-keep-"+pid, "vigil-test-removed-gone-"+pid
	keep := dockertest.Run(t, cli, keepName, cfg(), nil)
	gone := dockertest.Run(t, cli, goneName, cfg(), nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := Options{Labels: []string{label}}
	list, err := selectContainers(ctx, cli, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("listed %d containers, want 2", len(list))
	}
	dockertest.Remove(t, cli, gone)

	verdicts, notes, err := inspectAll(ctx, cli, list, 4, time.Now())
	if err != nil {
		t.Fatalf("inspectAll: %v", err)
	}
	if len(verdicts) != 1 || verdicts[0].ID != keep || verdicts[0].State != "running" {
		t.Errorf("verdicts = %+v, want only the kept, running container", verdicts)
	}
	want := goneName + " (" + gone[:12] + ") was removed while being checked, skipped"
	if len(notes) != 1 || notes[0].Status != plugin.OK || notes[0].Kind != KindRemoved || notes[0].Text != want {
		t.Errorf("notes = %+v, want one OK note %q", notes, want)
	}
	rep := &Report{Verdicts: verdicts, Notes: notes, Selection: describeSelection(opts)}
	for i := range rep.Verdicts {
		judge(&rep.Verdicts[i], opts, time.Now())
	}
	out := rep.Result().Render("CONTAINER")
	if !strings.HasPrefix(out, "CONTAINER OK - "+keepName+" running, up ") || !strings.Contains(out, "\n[OK] "+want+"\n") {
		t.Errorf("output:\n%s", out)
	}
}
