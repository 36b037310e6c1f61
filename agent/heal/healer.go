package heal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Healer runs rules against the state in one directory. The daemon, cron
// mode and event-handler actions are all a Healer over the same directory,
// and every Step holds the directory's lock from reading the state to
// writing it back, probe and action included.
type Healer struct {
	StateDir string
	Audit    *slog.Logger     // one JSON line per action, re-check, give-up, reset
	Now      func() time.Time // injected by tests; time.Now otherwise
	// LockWait bounds the wait for another healer's step to finish.
	LockWait time.Duration
}

// DefaultLockWait covers another healer's probe plus a restart.
const DefaultLockWait = 2 * time.Minute

// Mode says who runs a step.
type Mode int

const (
	// Scheduled: the daemon or cron; failures are counted to Attempts.
	Scheduled Mode = iota
	// EventHandler: Nagios or Icinga already counted the attempts and saw a
	// HARD failure; the step re-probes (the failure may already be healed
	// by another healer) and, if it still fails, acts at once, within the
	// same limits.
	EventHandler
)

// Outcome is what one step found and did.
type Outcome struct {
	Rule    string
	Status  plugin.Status // OK: healthy or recovered; WARNING: failing SOFT or in grace; CRITICAL: HARD, failed action, gave up
	Summary string
	Details []string
	Acted   bool      // an action was taken (or logged, in dry-run)
	Next    time.Time // when the rule next wants a step (a re-check after grace, the end of a backoff)
}

func (h *Healer) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Healer) audit() *slog.Logger {
	if h.Audit != nil {
		return h.Audit
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, nil))
}

// Step runs one probe of rule r and whatever follows from it: counting the
// attempt, the re-check after an action's grace, an action within the
// limits, or giving up. It never panics on a bad state file or a failing
// engine: those become the Outcome.
func (h *Healer) Step(ctx context.Context, r *Rule, mode Mode) Outcome {
	out := Outcome{Rule: r.Name}
	wait := h.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	lockCtx, cancel := context.WithTimeout(ctx, wait)
	unlock, err := lock(lockCtx, h.StateDir)
	cancel()
	if err != nil {
		out.Status, out.Summary = plugin.Unknown, err.Error()
		out.Next = h.now().Add(r.Interval)
		return out
	}
	defer unlock()

	st, note, err := loadState(h.StateDir)
	if err != nil {
		out.Status, out.Summary = plugin.Unknown, err.Error()
		out.Next = h.now().Add(r.Interval)
		return out
	}
	if note != "" {
		h.audit().Warn("state reset", "event", "state_reset", "why", note)
		out.Details = append(out.Details, note)
	}
	rs := st.Rules[r.Name]
	if rs == nil {
		rs = &RuleState{}
		st.Rules[r.Name] = rs
	}
	s := step{h: h, r: r, rs: rs, mode: mode, out: &out,
		save: func() error { return saveState(h.StateDir, st) }}
	s.run(ctx)
	if s.abandoned {
		// Stopped mid-step (SIGTERM, a reload): a probe cut short says
		// nothing about the service, so nothing of this step is kept.
		out.Status, out.Summary = plugin.Unknown, "stopped before the step finished: "+ctx.Err().Error()
		return out
	}
	if err := saveState(h.StateDir, st); err != nil {
		out.Status = plugin.Worst(out.Status, plugin.Unknown)
		out.Details = append(out.Details, err.Error())
	}
	return out
}

type step struct {
	h         *Healer
	r         *Rule
	rs        *RuleState
	mode      Mode
	out       *Outcome
	save      func() error // write-ahead save before an action
	abandoned bool         // ctx ended during the step: keep nothing
}

func (s *step) run(ctx context.Context) {
	r, rs, out := s.r, s.rs, s.out
	now := s.h.now()
	out.Next = now.Add(r.Interval)

	// A record still "started" was written ahead by a healer that died
	// during the action (the lock keeps anyone else from seeing it
	// earlier). It counts, but nobody knows how it ended.
	for i := range rs.Actions {
		if rs.Actions[i].Result == resultStarted {
			rs.Actions[i].Result = "outcome unknown: the healer stopped during the action"
			out.Details = append(out.Details, fmt.Sprintf("%s at %s was interrupted (the healer stopped); it counts toward the limit",
				r.describeAction(), stamp(rs.Actions[i].At)))
		}
	}

	if !rs.GaveUpAt.IsZero() {
		lift := rs.GaveUpAt.Add(r.Window)
		if now.Before(lift) {
			s.probe(ctx, now)
			if ctx.Err() != nil {
				s.abandoned = true
				return
			}
			out.Status = plugin.Critical
			out.Summary = s.gaveUpMessage()
			out.Details = append(out.Details, fmt.Sprintf("gave up at %s; acting again from %s or after `vigil-agent heal --reset %s`",
				stamp(rs.GaveUpAt), stamp(lift), r.Name))
			return
		}
		rs.GaveUpAt = time.Time{}
		rs.Attempts = 0
		out.Details = append(out.Details, fmt.Sprintf("the give-up of %s ended with its window", stamp(lift.Add(-r.Window))))
	}

	// History is pruned only outside a give-up, so that the give-up
	// message keeps counting the actions that led to it.
	rs.prune(now, r.Window)

	if rs.Recheck && now.Before(rs.GraceUntil) {
		// An action is under way: neither count nor act (this is what
		// keeps a second healer from restarting again for one failure).
		out.Status = plugin.Warning
		out.Summary = fmt.Sprintf("%s done, re-check at %s (grace %s)", r.describeAction(), stamp(rs.GraceUntil), r.Grace)
		out.Next = rs.GraceUntil
		return
	}

	res := s.probe(ctx, now)
	if ctx.Err() != nil {
		s.abandoned = true
		return
	}
	failed := r.fails(res.Status)

	if rs.Recheck {
		rs.Recheck, rs.GraceUntil = false, time.Time{}
		last := ActionRecord{At: now}
		if n := len(rs.Actions); n > 0 {
			last = rs.Actions[n-1]
		}
		took := now.Sub(last.At).Round(time.Millisecond)
		if !failed {
			rs.Attempts = 0
			rs.TotalRecovered++
			s.h.audit().Info("recovered", "event", "recheck", "rule", r.Name, "action", r.describeAction(),
				"result", "recovered", "output", rs.LastOutput, "since_action_ms", took.Milliseconds())
			out.Status = plugin.OK
			out.Summary = fmt.Sprintf("recovered: %s at %s, re-check OK after %s: %s", r.describeAction(), stamp(last.At), took, rs.LastOutput)
			return
		}
		rs.TotalFailedRecs++
		s.h.audit().Warn("recovery failed", "event", "recheck", "rule", r.Name, "action", r.describeAction(),
			"result", "still failing", "status", res.Status.String(), "output", rs.LastOutput, "since_action_ms", took.Milliseconds())
		out.Details = append(out.Details, fmt.Sprintf("recovery failed: still %s %s after %s", res.Status, r.describeAction(), took))
		rs.Attempts = r.Attempts // still HARD: the next action waits only for backoff
	} else {
		if !failed {
			rs.Attempts = 0
			out.Status = plugin.OK
			out.Summary = "probe " + rs.LastOutput
			return
		}
		rs.Attempts++
		if s.mode == EventHandler && rs.Attempts < r.Attempts {
			rs.Attempts = r.Attempts
		}
		if rs.Attempts < r.Attempts {
			out.Status = plugin.Warning
			out.Summary = fmt.Sprintf("SOFT failure %d/%d: %s", rs.Attempts, r.Attempts, rs.LastOutput)
			return
		}
		if rs.Attempts > r.Attempts {
			rs.Attempts = r.Attempts
		}
	}
	s.hard(ctx, now, res)
}

// hard handles a HARD failure: give up past the limit, wait for the
// backoff, or act.
func (s *step) hard(ctx context.Context, now time.Time, res plugin.Result) {
	r, rs, out := s.r, s.rs, s.out
	why := fmt.Sprintf("HARD %s after %d %s", res.Status, r.Attempts, plural(r.Attempts, "attempt", "attempts"))
	if s.mode == EventHandler {
		why = fmt.Sprintf("HARD %s reported by the monitoring server's event handler", res.Status)
	}
	taken := rs.inWindow(now, r.Window, r.DryRun)
	if len(taken) >= r.MaxActions {
		rs.GaveUpAt = now
		rs.TotalGiveUps++
		s.h.audit().Error("gave up", "event", "give_up", "rule", r.Name, "action", r.describeAction(), "why", why,
			"output", rs.LastOutput, "actions_in_window", len(taken), "max_actions", r.MaxActions, "window", r.Window.String(),
			"result", "no more actions until "+stamp(now.Add(r.Window))+" or a reset", "dry_run", r.DryRun)
		out.Status = plugin.Critical
		out.Summary = s.gaveUpMessage()
		out.Next = now.Add(r.Interval)
		return
	}
	if len(taken) > 0 {
		last := taken[len(taken)-1]
		notBefore := last.At.Add(backoff(r, len(taken)))
		if now.Before(notBefore) {
			out.Status = plugin.Critical
			out.Summary = fmt.Sprintf("%s: %s; next %s not before %s (backoff %s)", why, rs.LastOutput,
				r.describeAction(), stamp(notBefore), backoff(r, len(taken)))
			out.Next = notBefore
			return
		}
	}
	if r.Action == ActionNone {
		out.Status = plugin.Critical
		out.Summary = fmt.Sprintf("%s: %s (watch only, no action)", why, rs.LastOutput)
		return
	}
	s.act(ctx, now, why, len(taken))
}

func (s *step) act(ctx context.Context, now time.Time, why string, taken int) {
	r, rs, out := s.r, s.rs, s.out
	out.Acted = true
	attrs := []any{"event", "action", "rule", r.Name, "action", r.describeAction(), "why", why, "output", rs.LastOutput,
		"actions_in_window", taken + 1, "max_actions", r.MaxActions, "window", r.Window.String()}
	if r.DryRun {
		rs.Actions = append(rs.Actions, ActionRecord{At: now, OK: true, Result: "dry run", DryRun: true})
		s.h.audit().Info("dry run", append(attrs, "result", "dry run: nothing done", "dry_run", true)...)
		out.Status = plugin.Critical
		out.Summary = fmt.Sprintf("dry run: would do %s (%s: %s)", r.describeAction(), why, rs.LastOutput)
		return
	}
	// Write ahead: the action is on record before it starts, so a healer
	// killed during it still counts it after a restart.
	rs.Actions = append(rs.Actions, ActionRecord{At: now, Result: resultStarted})
	rs.TotalActions++
	if s.save != nil {
		if err := s.save(); err != nil {
			out.Details = append(out.Details, err.Error())
		}
	}
	actx, cancel := context.WithTimeout(ctx, r.ActionTimeout)
	start := time.Now()
	result, err := safeAct(actx, r.Act)
	cancel()
	dur := time.Since(start)
	rec := &rs.Actions[len(rs.Actions)-1]
	if err != nil {
		rec.Result = "failed: " + err.Error()
		s.h.audit().Error("action failed", append(attrs, "result", "failed", "error", err.Error(), "duration_ms", dur.Milliseconds())...)
		out.Status = plugin.Critical
		out.Summary = fmt.Sprintf("%s failed after %s: %v (%s: %s)", r.describeAction(), dur.Round(time.Millisecond), err, why, rs.LastOutput)
		out.Next = now.Add(backoff(r, taken+1))
		return
	}
	rec.OK, rec.Result = true, result
	rs.Attempts = 0
	// The grace runs from the end of the action: a restart that took 10 s
	// of stop timeout has had no time to come up yet.
	rs.Recheck, rs.GraceUntil = true, s.h.now().Add(r.Grace)
	s.h.audit().Info("action", append(attrs, "result", result, "duration_ms", dur.Milliseconds(), "recheck_at", stamp(rs.GraceUntil))...)
	out.Status = plugin.Warning
	out.Summary = fmt.Sprintf("%s: %s in %s (%s: %s); re-check after %s", r.describeAction(), result, dur.Round(time.Millisecond), why, rs.LastOutput, r.Grace)
	out.Next = rs.GraceUntil
}

// resultStarted marks an action written ahead and not finished.
const resultStarted = "started"

// safeAct runs an action, turning a panic into an error: a broken action
// must not take the daemon down.
func safeAct(ctx context.Context, act Action) (result string, err error) {
	if act == nil {
		return "", errors.New("no action bound to this rule")
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error in action: %v", v)
		}
	}()
	return act(ctx)
}

func (s *step) probe(ctx context.Context, now time.Time) plugin.Result {
	pctx, cancel := context.WithTimeout(ctx, s.r.ProbeTimeout)
	defer cancel()
	res := safeProbe(pctx, s.r.Probe)
	s.rs.LastStatus = res.Status
	s.rs.LastOutput = probeText(res)
	s.rs.LastProbe = now
	return res
}

func safeProbe(ctx context.Context, p Probe) (res plugin.Result) {
	if p == nil {
		return plugin.Unknownf("no probe bound to this rule")
	}
	defer func() {
		if v := recover(); v != nil {
			res = plugin.Unknownf("internal error in probe: %v", v)
		}
	}()
	return p(ctx)
}

// probeText is the probe's status and summary, one line, kept short for
// the state file and messages.
func probeText(res plugin.Result) string {
	text := res.Status.String()
	if res.Summary != "" {
		text += " - " + strings.Join(strings.Fields(res.Summary), " ")
	}
	if len(text) > 300 {
		text = text[:297] + "..."
	}
	return text
}

func (s *step) gaveUpMessage() string {
	n := len(s.rs.inWindow(s.rs.GaveUpAt, s.r.Window, s.r.DryRun))
	return fmt.Sprintf("gave up: %s in %s, last probe: %s", s.r.actionNoun(n), shortDuration(s.r.Window), s.rs.LastOutput)
}

// backoff is the wait after the k-th action in the window (k >= 1) before
// another: Backoff, doubling per action, capped at MaxBackoff.
func backoff(r *Rule, k int) time.Duration {
	d := r.Backoff
	for i := 1; i < k && d < r.MaxBackoff; i++ {
		d *= 2
	}
	if d > r.MaxBackoff {
		d = r.MaxBackoff
	}
	return d
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// shortDuration prints 1h rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Reset forgets a rule's history and give-up, under the lock, and logs it.
func (h *Healer) Reset(ctx context.Context, name string) (bool, error) {
	lockCtx, cancel := context.WithTimeout(ctx, DefaultLockWait)
	defer cancel()
	unlock, err := lock(lockCtx, h.StateDir)
	if err != nil {
		return false, err
	}
	defer unlock()
	st, note, err := loadState(h.StateDir)
	if err != nil {
		return false, err
	}
	if note != "" {
		h.audit().Warn("state reset", "event", "state_reset", "why", note)
	}
	rs, ok := st.Rules[name]
	if !ok {
		return false, nil
	}
	h.audit().Info("reset", "event", "reset", "rule", name, "why", "operator reset",
		"actions_forgotten", len(rs.Actions), "was_given_up", !rs.GaveUpAt.IsZero())
	delete(st.Rules, name)
	return true, saveState(h.StateDir, st)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
