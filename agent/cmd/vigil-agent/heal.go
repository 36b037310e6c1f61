package main

import (
	"context"
	"io"

	"os/signal"
	"sync"
	"syscall"

	"log/slog"

	"github.com/vigil-monitoring/vigil/agent/config"
	"github.com/vigil-monitoring/vigil/agent/heal"
)

// healMain is `vigil-agent heal`: cron mode, the one-line container form,
// event-handler actions, check_heal and --reset (agent/heal/cli.go).
func healMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return heal.CLI{Program: "vigil-agent heal", DefaultConfig: "/etc/nagios/nrpe.cfg"}.Main(ctx, args, stdout, stderr)
}

// watcher runs the configuration's watch[...] rules beside the NRPE
// listener, and restarts them with the new configuration on a reload.
type watcher struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	log    *slog.Logger
}

// start replaces the running rules (if any) with those of c.
func (w *watcher) start(ctx context.Context, c *config.Config) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopLocked()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	w.cancel, w.done = cancel, done
	go func() {
		defer close(done)
		if err := heal.Serve(ctx, c, w.log.With("component", "heal")); err != nil {
			w.log.Error("watch rules not started", "err", err)
		}
	}()
}

// stop ends the running rules and waits for their current steps.
func (w *watcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopLocked()
}

func (w *watcher) stopLocked() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
		w.cancel, w.done = nil, nil
	}
}

// reload re-reads file and restarts the rules from it; a file with errors
// keeps the running rules, as the listener keeps its configuration.
func (w *watcher) reload(ctx context.Context, file string) {
	c, err := config.Load(file)
	if err != nil {
		w.log.Error("reload: watch rules kept", "err", err)
		return
	}
	w.start(ctx, c)
}
