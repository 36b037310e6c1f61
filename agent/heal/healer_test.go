package heal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a rule with a scripted probe and a counting action over a
// state directory, under a fake clock.
type fixture struct {
	t      *testing.T
	clock  *clock
	dir    string
	log    *bytes.Buffer
	rule   *Rule
	status atomic.Int32 // what the probe returns
	probes atomic.Int32
	acts   atomic.Int32
	actErr error
}

func newFixture(t *testing.T, edit func(r *Rule)) *fixture {
	f := &fixture{t: t, clock: &clock{t: time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}, dir: t.TempDir(), log: &bytes.Buffer{}}
	r := NewRule("model_api")
	r.Check, r.CheckTarget, r.Action, r.Target = CheckContainer, "model-api", ActionRestart, "model-api"
	r.Interval, r.Grace, r.Backoff, r.MaxBackoff = 10*time.Second, 30*time.Second, 60*time.Second, 8*time.Minute
	if edit != nil {
		edit(&r)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	r.Probe = func(ctx context.Context) plugin.Result {
		f.probes.Add(1)
		st := plugin.Status(f.status.Load())
		return plugin.Result{Status: st, Summary: "probe says " + st.String()}
	}
	r.Act = func(ctx context.Context) (string, error) {
		f.acts.Add(1)
		if f.actErr != nil {
			return "", f.actErr
		}
		return "restarted", nil
	}
	f.rule = &r
	return f
}

func (f *fixture) healer() *Healer {
	return &Healer{StateDir: f.dir, Now: f.clock.now, Audit: auditLogger(f.log), LockWait: time.Second}
}

func (f *fixture) step(mode Mode) Outcome { return f.healer().Step(context.Background(), f.rule, mode) }

func (f *fixture) set(s plugin.Status) { f.status.Store(int32(s)) }

// auditEvents returns the audit lines' event fields in order.
func (f *fixture) auditEvents() []string {
	var evs []string
	for _, line := range strings.Split(strings.TrimSpace(f.log.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			f.t.Fatalf("audit line %q is not JSON: %v", line, err)
		}
		result, _ := m["result"].(string)
		evs = append(evs, m["event"].(string)+":"+result)
	}
	return evs
}

func TestSoftThenHard(t *testing.T) {
	f := newFixture(t, nil)
	f.set(plugin.Critical)
	for i, want := range []plugin.Status{plugin.Warning, plugin.Warning, plugin.Warning} {
		out := f.step(Scheduled)
		if out.Status != want || f.acts.Load() != int32(i/2) {
			t.Fatalf("step %d: %v %q, %d actions", i+1, out.Status, out.Summary, f.acts.Load())
		}
		f.clock.advance(f.rule.Interval)
	}
	if f.acts.Load() != 1 {
		t.Fatalf("want one action on the third failure, got %d", f.acts.Load())
	}
	// In grace: no probe, no count, no action.
	probes := f.probes.Load()
	out := f.step(Scheduled)
	if f.probes.Load() != probes || out.Status != plugin.Warning || !strings.Contains(out.Summary, "re-check at") {
		t.Fatalf("in grace: probed=%v %v %q", f.probes.Load() != probes, out.Status, out.Summary)
	}
	f.clock.advance(f.rule.Grace)
	f.set(plugin.OK)
	out = f.step(Scheduled)
	if out.Status != plugin.OK || !strings.HasPrefix(out.Summary, "recovered: restart of container model-api") {
		t.Fatalf("re-check: %v %q", out.Status, out.Summary)
	}
	want := []string{"action:restarted", "recheck:recovered"}
	if got := f.auditEvents(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("audit events %v, want %v", got, want)
	}
}

func TestOKResetsAttempts(t *testing.T) {
	f := newFixture(t, nil)
	for _, s := range []plugin.Status{plugin.Critical, plugin.Critical, plugin.OK, plugin.Critical, plugin.Critical} {
		f.set(s)
		f.step(Scheduled)
		f.clock.advance(f.rule.Interval)
	}
	if f.acts.Load() != 0 {
		t.Fatalf("an OK between failures must reset the count; got %d actions", f.acts.Load())
	}
}

func TestFailOn(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 1; r.FailOn = []plugin.Status{plugin.Critical} })
	f.set(plugin.Warning)
	if out := f.step(Scheduled); out.Status != plugin.OK || f.acts.Load() != 0 {
		t.Fatalf("WARNING with fail_on=critical: %v, %d actions", out.Status, f.acts.Load())
	}
}

// TestBackoffAndGiveUp drives a service that never recovers: actions come
// after backoff 60 s, 120 s, 240 s (cap 8m), the fourth HARD failure past
// max_actions=3 gives up, and nothing more happens until the window has
// passed since the give-up.
func TestBackoffAndGiveUp(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 1; r.MaxActions = 3; r.Window = time.Hour })
	f.set(plugin.Critical)
	var actedAt []time.Duration
	start := f.clock.now()
	var gaveUp Outcome
	for i := 0; i < 400 && gaveUp.Rule == ""; i++ {
		before := f.acts.Load()
		out := f.step(Scheduled)
		if f.acts.Load() > before {
			actedAt = append(actedAt, f.clock.now().Sub(start))
		}
		if strings.HasPrefix(out.Summary, "gave up") {
			gaveUp = out
		}
		f.clock.advance(10 * time.Second)
	}
	// act at 0; grace 30 s, re-check fails at 30 s; backoff 60 s from 0 ->
	// 60 s; then 120 s -> 180 s; then 240 s -> 420 s gives up (3 taken).
	want := []time.Duration{0, 60 * time.Second, 180 * time.Second}
	if len(actedAt) != len(want) {
		t.Fatalf("acted at %v, want %v", actedAt, want)
	}
	for i := range want {
		if actedAt[i] != want[i] {
			t.Fatalf("acted at %v, want %v", actedAt, want)
		}
	}
	if gaveUp.Status != plugin.Critical || gaveUp.Summary != "gave up: 3 restarts of model-api in 1h, last probe: CRITICAL - probe says CRITICAL" {
		t.Fatalf("give-up outcome: %v %q", gaveUp.Status, gaveUp.Summary)
	}
	// Given up: a full hour of failures brings no action.
	for i := 0; i < 350; i++ {
		f.clock.advance(10 * time.Second)
		if out := f.step(Scheduled); out.Status != plugin.Critical {
			t.Fatalf("while given up: %v %q", out.Status, out.Summary)
		}
	}
	if f.acts.Load() != 3 {
		t.Fatalf("acted while given up: %d actions", f.acts.Load())
	}
	f.clock.advance(2 * time.Minute) // the window since the give-up is over
	f.step(Scheduled)
	if f.acts.Load() != 4 {
		t.Fatalf("after the window: %d actions, want 4", f.acts.Load())
	}
	evs := f.auditEvents()
	if n := count(evs, "give_up:"); n != 1 {
		t.Fatalf("audit: %d give-up lines, want 1: %v", n, evs)
	}
}

func count(evs []string, prefix string) int {
	n := 0
	for _, e := range evs {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

func TestBackoffCurve(t *testing.T) {
	r := NewRule("x")
	r.Backoff, r.MaxBackoff = 30*time.Second, 5*time.Minute
	for k, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 4: 4 * time.Minute, 5: 5 * time.Minute, 50: 5 * time.Minute} {
		if got := backoff(&r, k); got != want {
			t.Errorf("backoff(%d) = %s, want %s", k, got, want)
		}
	}
	r.Backoff = 0
	if got := backoff(&r, 3); got != 0 {
		t.Errorf("zero base: %s", got)
	}
}

func TestResetLiftsGiveUp(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 1; r.MaxActions = 1; r.Backoff = 0 })
	f.set(plugin.Critical)
	f.step(Scheduled) // acts
	f.clock.advance(f.rule.Grace)
	f.step(Scheduled) // re-check fails; 1 of 1 taken: gives up
	if out := f.step(Scheduled); !strings.HasPrefix(out.Summary, "gave up: 1 restart of model-api in 1h") {
		t.Fatalf("want a give-up, got %q", out.Summary)
	}
	ok, err := f.healer().Reset(context.Background(), "model_api")
	if err != nil || !ok {
		t.Fatalf("reset: %v %v", ok, err)
	}
	f.step(Scheduled)
	if f.acts.Load() != 2 {
		t.Fatalf("after reset: %d actions, want 2", f.acts.Load())
	}
	if count(f.auditEvents(), "reset:") != 1 {
		t.Fatalf("no reset line in %s", f.log)
	}
}

func TestDryRunActsNever(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 2; r.DryRun = true; r.MaxActions = 2; r.Backoff = 0 })
	f.set(plugin.Critical)
	var summaries []string
	for i := 0; i < 6; i++ {
		summaries = append(summaries, f.step(Scheduled).Summary)
		f.clock.advance(f.rule.Interval)
	}
	if f.acts.Load() != 0 {
		t.Fatalf("dry run acted %d times", f.acts.Load())
	}
	if !strings.HasPrefix(summaries[1], "dry run: would do restart of container model-api") {
		t.Fatalf("second step: %q", summaries[1])
	}
	if got := f.auditEvents(); strings.Join(got, ",") != "action:dry run: nothing done,action:dry run: nothing done,give_up:no more actions until 2026-11-30T04:00:30.000Z or a reset" {
		t.Fatalf("audit %v", got)
	}
	// The dry run leaves no history that would limit a real rule.
	f.rule.DryRun = false
	f.healer().Reset(context.Background(), "model_api")
}

func TestFailedActionCountsAndIsCritical(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 1 })
	f.actErr = errors.New("docker engine unreachable: connection refused")
	f.set(plugin.Unknown)
	out := f.step(Scheduled)
	if out.Status != plugin.Critical || !strings.Contains(out.Summary, "restart of container model-api failed") {
		t.Fatalf("%v %q", out.Status, out.Summary)
	}
	st := f.healer().Status([]Rule{*f.rule}, 0)
	if st.Status != plugin.Critical {
		t.Fatalf("check_heal after a failed action: %s", st.Render("HEAL"))
	}
	if got := f.auditEvents(); len(got) != 1 || got[0] != "action:failed" {
		t.Fatalf("audit %v", got)
	}
}

// TestStateSurvivesRestart is the unit form of the SIGKILL test: a new
// Healer over the same directory (a restarted agent) keeps the attempts,
// the history and the backoff.
func TestStateSurvivesRestart(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 2 })
	f.set(plugin.Critical)
	f.step(Scheduled)
	f.clock.advance(f.rule.Interval)
	f.step(Scheduled) // second failure: acts
	f.clock.advance(f.rule.Grace)
	f.step(Scheduled) // re-check fails; backoff 60 s from the action
	if f.acts.Load() != 1 {
		t.Fatalf("%d actions", f.acts.Load())
	}
	f.clock.advance(10 * time.Second) // 40 s after the action: inside the backoff
	fresh := &Healer{StateDir: f.dir, Now: f.clock.now, Audit: auditLogger(f.log)}
	out := fresh.Step(context.Background(), f.rule, Scheduled)
	if f.acts.Load() != 1 || !strings.Contains(out.Summary, "not before") {
		t.Fatalf("a restarted healer acted inside the backoff: %d actions, %q", f.acts.Load(), out.Summary)
	}
}

func TestCorruptStateRecovered(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 1 })
	os.WriteFile(filepath.Join(f.dir, StateFile), []byte("{\"version\":1,\"rules\":{tru"), 0o600)
	// check_heal reports it without touching the file.
	if st := f.healer().Status([]Rule{*f.rule}, 0); st.Status != plugin.Warning || !strings.Contains(strings.Join(st.Details, "\n"), "unreadable") {
		t.Fatalf("check_heal over a corrupt file: %s", st.Render("HEAL"))
	}
	f.set(plugin.OK)
	out := f.step(Scheduled)
	if out.Status != plugin.OK || len(out.Details) != 1 || !strings.Contains(out.Details[0], "moved to") {
		t.Fatalf("%v %q %q", out.Status, out.Summary, out.Details)
	}
	aside, _ := filepath.Glob(filepath.Join(f.dir, StateFile+".corrupt-*"))
	if len(aside) != 1 {
		t.Fatalf("corrupt file not kept aside: %v", aside)
	}
	if _, _, err := loadState(f.dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.log.String(), `"event":"state_reset"`) {
		t.Fatalf("no state_reset audit line: %s", f.log)
	}
	// A missing file is a quiet fresh start.
	os.Remove(filepath.Join(f.dir, StateFile))
	if out := f.step(Scheduled); len(out.Details) != 0 {
		t.Fatalf("missing file: %q", out.Details)
	}
}

func TestEventHandlerActsAtOnceButNotTwice(t *testing.T) {
	f := newFixture(t, nil) // attempts 3
	f.set(plugin.Critical)
	out := f.step(EventHandler)
	if f.acts.Load() != 1 {
		t.Fatalf("event handler on HARD CRITICAL: %d actions (%q)", f.acts.Load(), out.Summary)
	}
	// Nagios calls again (or the daemon steps) during the grace: no second
	// restart for the same failure.
	f.clock.advance(time.Second)
	f.step(EventHandler)
	f.step(Scheduled)
	if f.acts.Load() != 1 {
		t.Fatalf("second healer acted during the grace: %d actions", f.acts.Load())
	}
	// And a healthy service is left alone.
	f.clock.advance(f.rule.Grace)
	f.set(plugin.OK)
	f.step(Scheduled)
	f.step(EventHandler)
	if f.acts.Load() != 1 {
		t.Fatalf("event handler acted on a healthy service")
	}
}

// TestLockOneActionForOneFailure runs two healers (two goroutines, each
// with its own open of the lock file, as two processes would have) on a
// failing rule with attempts=1: exactly one restart.
func TestLockOneActionForOneFailure(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 1 })
	f.set(plugin.Critical)
	slow := f.rule.Act
	f.rule.Act = func(ctx context.Context) (string, error) {
		time.Sleep(50 * time.Millisecond) // widen the race
		return slow(ctx)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); f.step(Scheduled) }()
	}
	wg.Wait()
	if f.acts.Load() != 1 {
		t.Fatalf("%d actions for one failure", f.acts.Load())
	}
}

func TestLockWaitBounded(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := lock(ctx, dir); err == nil || !strings.Contains(err.Error(), "another healer holds it") {
		t.Fatalf("second lock: %v", err)
	}
}

func TestProbePanicIsUnknown(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 2 })
	f.rule.Probe = func(context.Context) plugin.Result { panic("boom") }
	out := f.step(Scheduled)
	if out.Status != plugin.Warning || !strings.Contains(out.Summary, "internal error in probe: boom") {
		t.Fatalf("%v %q", out.Status, out.Summary)
	}
}

func TestCheckHealStates(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 1; r.MaxActions = 2; r.Backoff = 0 })
	h := f.healer()
	rules := []Rule{*f.rule}
	if got := h.Status(rules, 0).Render("HEAL"); got != "HEAL OK - model_api: no recovery action within 1h | model_api_actions=0;;;0;2 actions=0;;;0 gave_up=0;;;0;1\nmodel_api: 0 of 2 restarts in 1h\n" {
		t.Fatalf("fresh:\n%s", got)
	}
	f.set(plugin.Critical)
	f.step(Scheduled)
	f.clock.advance(f.rule.Grace)
	f.set(plugin.OK)
	f.step(Scheduled)
	got := h.Status(rules, 0).Render("HEAL")
	want := "HEAL WARNING - model_api: 1 restart of model-api within 1h, last at 2026-11-30T03:00:00.000Z (restarted) | model_api_actions=1;;;0;2 actions=1;;;0 gave_up=0;;;0;1\n" +
		"model_api: 1 of 2 restarts in 1h, last probe 0s ago: OK - probe says OK\n"
	if got != want {
		t.Fatalf("after a recovery:\n%s\nwant\n%s", got, want)
	}
	f.set(plugin.Critical)
	for i := 0; i < 6; i++ {
		f.clock.advance(f.rule.Grace)
		f.step(Scheduled)
	}
	st := h.Status(rules, 0)
	if st.Status != plugin.Critical || !strings.HasPrefix(st.Summary, "model_api gave up: 2 restarts of model-api in 1h, last probe: CRITICAL") {
		t.Fatalf("after give-up: %s", st.Render("HEAL"))
	}
	f.clock.advance(2 * time.Hour)
	if st := h.Status(rules, 0); st.Status != plugin.OK {
		t.Fatalf("after the window: %s", st.Render("HEAL"))
	}
}

// TestStepCancelledKeepsNothing: a step whose context ends during the
// probe (the daemon stopping) neither counts an attempt nor records the
// cut-short probe.
func TestStepCancelledKeepsNothing(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	f.rule.Probe = func(context.Context) plugin.Result {
		cancel()
		return plugin.Unknownf("inspecting container: context canceled")
	}
	out := f.healer().Step(ctx, f.rule, Scheduled)
	if out.Status != plugin.Unknown || f.acts.Load() != 0 {
		t.Fatalf("%v %q, %d actions", out.Status, out.Summary, f.acts.Load())
	}
	st, _, _ := loadState(f.dir)
	if rs := st.Rules["model_api"]; rs != nil && (rs.Attempts != 0 || rs.LastOutput != "") {
		t.Fatalf("cancelled step was recorded: %+v", rs)
	}
}

// TestInterruptedActionCounts: a healer killed during an action leaves the
// written-ahead record; the next step reports it, counts it, and check_heal
// says the outcome is unknown.
func TestInterruptedActionCounts(t *testing.T) {
	f := newFixture(t, func(r *Rule) { r.Attempts = 1; r.MaxActions = 1 })
	st := &State{Rules: map[string]*RuleState{"model_api": {Attempts: 1, Actions: []ActionRecord{{At: f.clock.now(), Result: resultStarted}}}}}
	if err := saveState(f.dir, st); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Minute)
	f.set(plugin.Critical)
	out := f.step(Scheduled)
	if f.acts.Load() != 0 || !strings.HasPrefix(out.Summary, "gave up: 1 restart of model-api in 1h") ||
		!strings.Contains(strings.Join(out.Details, "\n"), "was interrupted") {
		t.Fatalf("%d actions, %q %q", f.acts.Load(), out.Summary, out.Details)
	}
	st2, _, _ := loadState(f.dir)
	if got := st2.Rules["model_api"].Actions[0].Result; got != "outcome unknown: the healer stopped during the action" {
		t.Fatalf("record %q", got)
	}
}

// BenchmarkStep measures the cost of one step around a probe that
// answers at once: lock, read state, write state atomically with fsync.
func BenchmarkStep(b *testing.B) {
	dir := b.TempDir()
	r := NewRule("bench")
	r.Check, r.CheckTarget, r.Action, r.Target = CheckContainer, "x", ActionRestart, "x"
	r.Probe = func(context.Context) plugin.Result { return plugin.Result{Status: plugin.OK, Summary: "fine"} }
	h := &Healer{StateDir: dir, Audit: auditLogger(&bytes.Buffer{})}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if out := h.Step(ctx, &r, Scheduled); out.Status != plugin.OK {
			b.Fatal(out.Summary)
		}
	}
}

func TestCheckHealStale(t *testing.T) {
	f := newFixture(t, nil)
	rules := []Rule{*f.rule}
	if st := f.healer().Status(rules, 5*time.Minute); st.Status != plugin.Warning || st.Summary != "model_api: never probed: is the agent's daemon or the cron job running?" {
		t.Fatalf("never probed: %s", st.Render("HEAL"))
	}
	f.step(Scheduled)
	if st := f.healer().Status(rules, 5*time.Minute); st.Status != plugin.OK {
		t.Fatalf("just probed: %s", st.Render("HEAL"))
	}
	f.clock.advance(6 * time.Minute)
	if st := f.healer().Status(rules, 5*time.Minute); st.Status != plugin.Warning || st.Summary != "model_api: not probed for 6m0s (over 5m0s): is the agent's daemon or the cron job running?" {
		t.Fatalf("stale: %s", st.Render("HEAL"))
	}
	if st := f.healer().Status(rules, 0); st.Status != plugin.OK {
		t.Fatalf("stale check off: %s", st.Render("HEAL"))
	}
}
