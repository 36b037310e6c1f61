package heal

import (
	"testing"

	ccheck "github.com/vigil-monitoring/vigil/plugins/container"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func TestSummarize(t *testing.T) {
	if got := Summarize(nil).Render("HEAL"); got != "HEAL UNKNOWN - no watch rules configured\n" {
		t.Errorf("no rules: %q", got)
	}
	one := Summarize([]Outcome{{Rule: "a", Status: plugin.Warning, Summary: "SOFT failure 1/3: CRITICAL - down", Details: []string{"d"}}})
	if got := one.Render("HEAL"); got != "HEAL WARNING - a: SOFT failure 1/3: CRITICAL - down\nd\n" {
		t.Errorf("one rule: %q", got)
	}
	two := Summarize([]Outcome{
		{Rule: "a", Status: plugin.OK, Summary: "probe OK - up"},
		{Rule: "b", Status: plugin.Critical, Summary: "gave up: 5 restarts of b in 1h, last probe: CRITICAL - exited", Details: []string{"gave up at x"}},
		{Rule: "c", Status: plugin.Unknown, Summary: "lock"},
	})
	want := "HEAL CRITICAL - 3 rules, b: gave up: 5 restarts of b in 1h, last probe: CRITICAL - exited\n" +
		"a OK: probe OK - up\nb CRITICAL: gave up: 5 restarts of b in 1h, last probe: CRITICAL - exited\n  gave up at x\nc UNKNOWN: lock\n"
	if got := two.Render("HEAL"); got != want {
		t.Errorf("three rules:\n%s\nwant\n%s", got, want)
	}
}

func TestContainerStatus(t *testing.T) {
	for _, tt := range []struct {
		v    ccheck.Verdict
		want plugin.Status
	}{
		{ccheck.Verdict{State: "running", Running: true, Health: "healthy"}, plugin.OK},
		{ccheck.Verdict{State: "running", Running: true}, plugin.OK},
		{ccheck.Verdict{State: "running", Running: true, Health: "starting"}, plugin.OK},
		{ccheck.Verdict{State: "running", Running: true, Health: "unhealthy"}, plugin.Critical},
		{ccheck.Verdict{State: "exited", ExitCode: 1}, plugin.Critical},
		{ccheck.Verdict{State: "exited"}, plugin.Critical},
		{ccheck.Verdict{State: "created"}, plugin.Critical},
		{ccheck.Verdict{State: "dead"}, plugin.Critical},
		{ccheck.Verdict{State: "restarting"}, plugin.OK},
		{ccheck.Verdict{State: "paused", Running: true}, plugin.Warning},
	} {
		if got := containerStatus(&tt.v); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt.v, got, tt.want)
		}
	}
}
