package heal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

func TestParseRules(t *testing.T) {
	commands := map[string]string{"check_triton": "/usr/lib/nagios/plugins/check_http -H 127.0.0.1 -p 8000", "fix_cache": "/usr/local/bin/fix-cache"}
	rules, err := ParseRules([]Entry{
		{Name: "model_api", Value: "check=container:model-api attempts=4 interval=15s grace=90 backoff=1m max_backoff=30m max_actions=3 window=2h"},
		{Name: "triton", Value: "check=command:check_triton action=systemd:tritonserver.service fail_on=critical,unknown dry_run=yes"},
		{Name: "cache", Value: "check=command:check_triton action=command:fix_cache"},
		{Name: "other", Value: "check=container:a action=restart:b stop_timeout=5s action_timeout=20s probe_timeout=3s"},
		{Name: "model_api", Value: "check=container:model-api attempts=2"}, // a later definition wins
	}, commands)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Rule{}
	for _, r := range rules {
		byName[r.Name] = r
	}
	if len(rules) != 4 || rules[0].Name != "cache" {
		t.Fatalf("rules %v", rules)
	}
	m := byName["model_api"]
	if m.Attempts != 2 || m.Action != ActionRestart || m.Target != "model-api" || m.Interval != DefaultInterval {
		t.Errorf("model_api: %+v", m)
	}
	tr := byName["triton"]
	if tr.Action != ActionSystemd || tr.Target != "tritonserver.service" || !tr.DryRun || len(tr.FailOn) != 2 || tr.FailOn[1] != plugin.Unknown {
		t.Errorf("triton: %+v", tr)
	}
	o := byName["other"]
	if o.Target != "b" || o.CheckTarget != "a" || o.StopTimeout != 5*time.Second || o.ActionTimeout != 20*time.Second || o.ProbeTimeout != 3*time.Second {
		t.Errorf("other: %+v", o)
	}
}

func TestParseRulesErrors(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{"check=container:x attempts=0", "attempts must be at least 1"},
		{"check=container:x interval=soon", `interval: "soon" is not a duration`},
		{"check=pod:x", `check "pod:x": want container:NAME or command:NAME`},
		{"check=command:nope action=none", "no command[nope] is defined"},
		{"check=command:c", "a command check needs action="},
		{"check=container:x action=reboot", `action "reboot"`},
		{"check=container:x backoff=10m max_backoff=1m", "max_backoff 1m0s is below backoff 10m0s"},
		{"check=container:x stop_timeout=30s action_timeout=10s", "must exceed stop_timeout"},
		{"check=container:x colour=blue", `unknown option "colour"`},
		{"check=container:x attempts", `"attempts" is not option=value`},
		{"check=container:x action=systemd:a;reboot", "is not a systemd unit name"},
		{"attempts=2", "no check"},
		{"check=container:x fail_on=bad", "fail_on"},
	} {
		_, err := ParseRules([]Entry{{Name: "r", Value: tt.value, Pos: "nrpe.cfg:7"}}, map[string]string{"c": "true"})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "nrpe.cfg:7: watch[r]") {
			t.Errorf("%q: error %v, want one containing %q", tt.value, err, tt.want)
		}
	}
	if _, err := ParseRules([]Entry{{Name: "bad name!", Value: "check=container:x"}}, nil); err == nil {
		t.Error("a bad rule name was accepted")
	}
}

func TestLoadAgentConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "nrpe.cfg")
	os.WriteFile(file, []byte(`# nrpe.cfg
server_port=5666
vigil_heal_state_dir=/srv/heal
command[check_api]=/usr/lib/nagios/plugins/check_http -H 127.0.0.1
watch[api]=check=command:check_api action=none
  watch[c] = check=container:c
`), 0o644)
	l, err := LoadAgentConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 2 || l.Entries[0].Name != "api" || l.Entries[1].Value != "check=container:c" || l.Entries[1].Pos != file+":6" {
		t.Fatalf("entries %+v", l.Entries)
	}
	if l.Commands["check_api"] != "/usr/lib/nagios/plugins/check_http -H 127.0.0.1" || l.StateDir != "/srv/heal" {
		t.Fatalf("loaded %+v", l)
	}
	if _, err := ParseRules(l.Entries, l.Commands); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseRules: no rule line makes the parser panic, and whatever it
// accepts validates.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"check=container:x", "check=command:c action=none attempts=2", "check=container:x window=1h max_actions=0",
		"check=container:x backoff=1e9 max_backoff=1", "fail_on=,, check=container:", "check=container:x dry_run=maybe interval=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		rules, err := ParseRules([]Entry{{Name: "r", Value: value}}, map[string]string{"c": "true"})
		if err != nil {
			return
		}
		for i := range rules {
			if verr := rules[i].Validate(); verr != nil {
				t.Fatalf("%q accepted but invalid: %v", value, verr)
			}
		}
	})
}

// TestShippedExample: configs/agent/vigil-heal.cfg parses into its two
// rules with the agent's parser.
func TestShippedExample(t *testing.T) {
	l, err := LoadAgentConfig(filepath.Join(testenv.RepoRoot(), "configs", "agent", "vigil-heal.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := ParseRules(l.Entries, l.Commands)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Name != "model_api" || rules[0].Target != "model-api" || rules[1].Action != ActionSystemd || !rules[1].DryRun {
		t.Fatalf("rules %+v", rules)
	}
	if l.StateDir != DefaultStateDir {
		t.Fatalf("state dir %q", l.StateDir)
	}
}
