package dockertest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Events records the engine's own events for one container name, from a
// live subscription: a query of past events is served from the engine's
// ring of 256, which healthcheck exec events overrun in seconds, so starts
// would be undercounted.
type Events struct {
	t    testing.TB
	name string
	mu   sync.Mutex
	msgs []events.Message
}

// WatchEvents subscribes to the events of the container called name (which
// need not exist yet) until the test ends. It returns once the
// subscription is live: an event sent before that would be lost.
func WatchEvents(t testing.TB, cli *client.Client, name string) *Events {
	t.Helper()
	ev := &Events{t: t, name: name}
	ctx, cancel := context.WithCancel(context.Background())
	msgs, errs := cli.Events(ctx, events.ListOptions{
		Filters: filters.NewArgs(filters.Arg("container", name), filters.Arg("type", "container")),
	})
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			select {
			case m := <-msgs:
				ev.mu.Lock()
				ev.msgs = append(ev.msgs, m)
				ev.mu.Unlock()
			case <-errs:
				return
			}
		}
	}()
	// The engine answers a ping only after it has registered the
	// subscription made before it.
	pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer pcancel()
	cli.Ping(pctx)
	return ev
}

// Starts counts the container's "start" events at or after since (the zero
// time counts all): the engine's record of every start, whoever asked for
// it. It waits a moment first, for events still on their way.
func (ev *Events) Starts(since time.Time) int {
	time.Sleep(200 * time.Millisecond)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	n := 0
	for _, m := range ev.msgs {
		if m.Action == events.ActionStart && !time.Unix(0, m.TimeNano).Before(since) {
			n++
		}
	}
	return n
}

// First returns the time of the first event at or after since whose action
// starts with prefix ("health_status: unhealthy"), failing the test when
// there is none.
func (ev *Events) First(since time.Time, prefix string) time.Time {
	ev.t.Helper()
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, m := range ev.msgs {
		at := time.Unix(0, m.TimeNano)
		if !at.Before(since) && strings.HasPrefix(string(m.Action), prefix) {
			return at
		}
	}
	ev.t.Fatalf("no %q event for %s", prefix, ev.name)
	return time.Time{}
}
