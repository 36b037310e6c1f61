package heal

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// RunOnce steps every rule once, concurrently, and returns their outcomes
// in rule order. In Scheduled mode a rule that acted waits out its grace
// and steps again, so that the outcome is the re-check's (recovered or
// not); a cron run therefore lasts at most about grace + action timeout.
// An event handler does not wait: NRPE's command_timeout (60 s by default)
// is shorter than a typical grace, and the monitoring server's own next
// check shows whether the service came back; the re-check is then done by
// the next step of any healer.
func (h *Healer) RunOnce(ctx context.Context, rules []*Rule, mode Mode) []Outcome {
	outs := make([]Outcome, len(rules))
	var wg sync.WaitGroup
	for i, r := range rules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := h.Step(ctx, r, mode)
			if mode == Scheduled && out.Acted && !r.DryRun && out.Status == plugin.Warning {
				acted := out.Summary
				if err := sleepUntil(ctx, out.Next); err != nil {
					out.Details = append(out.Details, "re-check not done: "+err.Error())
					outs[i] = out
					return
				}
				out = h.Step(ctx, r, Scheduled)
				out.Details = append([]string{acted}, out.Details...)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	return outs
}

// Daemon steps every rule on its interval until ctx ends, sooner when a
// rule asks (the re-check at the end of a grace, the end of a backoff).
// onStep, when set, sees every outcome (the agent logs them).
func (h *Healer) Daemon(ctx context.Context, rules []*Rule, onStep func(Outcome)) {
	var wg sync.WaitGroup
	for _, r := range rules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				out := h.Step(ctx, r, Scheduled)
				if onStep != nil && ctx.Err() == nil {
					onStep(out)
				}
				next := out.Next
				if max := h.now().Add(r.Interval); next.After(max) {
					next = max
				}
				if sleepUntil(ctx, next) != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Summarize turns the outcomes of a run into one plugin result: the worst
// state, the worst rule's summary first, one detail line per rule.
func Summarize(outs []Outcome) plugin.Result {
	res := plugin.Result{Status: plugin.OK}
	if len(outs) == 0 {
		return plugin.Result{Status: plugin.Unknown, Summary: "no watch rules configured"}
	}
	worst := -1
	for i, o := range outs {
		if worst < 0 || o.Status.Severity() > outs[worst].Status.Severity() {
			worst = i
		}
		res.Status = plugin.Worst(res.Status, o.Status)
	}
	w := outs[worst]
	if len(outs) == 1 {
		res.Summary = w.Rule + ": " + w.Summary
		res.Details = w.Details
		return res
	}
	res.Summary = fmt.Sprintf("%d rules, %s: %s", len(outs), w.Rule, w.Summary)
	for _, o := range outs {
		res.Details = append(res.Details, fmt.Sprintf("%s %s: %s", o.Rule, o.Status, o.Summary))
		for _, d := range o.Details {
			res.Details = append(res.Details, "  "+d)
		}
	}
	return res
}
