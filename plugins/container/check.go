package container

import (
	"context"
	"errors"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Check connects to the engine, inspects the containers opts select and
// renders the result. Engine trouble (unreachable, permission denied, an
// API version it refuses) is UNKNOWN with what to do about it; running out
// of time is left to the plugin runner, which names the stage.
func Check(ctx context.Context, opts Options) plugin.Result {
	if err := opts.validate(); err != nil {
		return plugin.Unknownf("%v", err)
	}
	plugin.SetStage(ctx, "connecting to the engine")
	cli, err := Connect(ctx, opts)
	if err != nil {
		return errorResult(ctx, err)
	}
	defer cli.Close()
	rep, err := Inspect(ctx, cli, opts)
	if err != nil {
		return errorResult(ctx, err)
	}
	return rep.Result()
}

// runnerGrace outlasts plugin.Execute's wait (200 ms) for a check's own
// verdict after the deadline.
const runnerGrace = 500 * time.Millisecond

func errorResult(ctx context.Context, err error) plugin.Result {
	var ee *EngineError
	if errors.As(err, &ee) {
		return plugin.Unknownf("%s", ee.Msg)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The plugin runner reports a timeout itself, in the state -t asks
		// for and naming the stage, but only if the check has not returned
		// within its grace period; the engine client returns at once when
		// the deadline passes, so hold the result back until the runner has
		// spoken. A direct caller of Check gets this result a little late.
		time.Sleep(runnerGrace)
		return plugin.Unknownf("timed out: %v", ctx.Err())
	}
	if ctx.Err() != nil {
		return plugin.Unknownf("%v", ctx.Err())
	}
	return plugin.Unknownf("%v", err)
}
