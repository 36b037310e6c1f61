package container

import (
	"context"
	"errors"

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

func errorResult(ctx context.Context, err error) plugin.Result {
	var ee *EngineError
	if errors.As(err, &ee) {
		return plugin.Unknownf("%s", ee.Msg)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// plugin.Execute replaces this with its own message naming the
		// stage, in the state -t asks for.
		return plugin.Unknownf("timed out: %v", ctx.Err())
	}
	if ctx.Err() != nil {
		return plugin.Unknownf("%v", ctx.Err())
	}
	return plugin.Unknownf("%v", err)
}
