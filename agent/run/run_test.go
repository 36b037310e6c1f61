package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

var stockPolicy = Policy{NastyMetachars: "|`&><'\\[]{};\r\n"}

func TestParseRequest(t *testing.T) {
	args := stockPolicy
	args.AllowArguments = true
	tests := []struct {
		text   string
		pol    Policy
		cmd    string
		args   []string
		reject string
	}{
		{"check_load", stockPolicy, "check_load", nil, ""},
		{"check_load!1", stockPolicy, "", nil, "argument option is not enabled"},
		{"bad;cmd", stockPolicy, "", nil, "illegal metachars"},
		{"x!a|id", args, "", nil, "illegal metachars"},
		{"x!line\nbreak", args, "", nil, "illegal metachars"},
		{"x!$(id)", args, "", nil, "bash command substitution"},
		{"x!!a!!b", args, "x", []string{"a", "b"}, ""},
		{"x!hello world!$HOME", args, "x", []string{"hello world", "$HOME"}, ""},
		{"", args, "", nil, "no query"},
		{"!a", args, "", nil, "no command"},
	}
	for _, tc := range tests {
		req, err := ParseRequest(tc.text, tc.pol)
		if tc.reject != "" {
			if !IsRejection(err) || !strings.Contains(err.Error(), tc.reject) {
				t.Errorf("%q: error %v, want rejection %q", tc.text, err, tc.reject)
			}
			continue
		}
		if err != nil || req.Command != tc.cmd || strings.Join(req.Args, "|") != strings.Join(tc.args, "|") {
			t.Errorf("%q: %+v %v", tc.text, req, err)
		}
	}
	sub := args
	sub.AllowBashCommandSubstitution = true
	if _, err := ParseRequest("x!$(id)", sub); err != nil {
		t.Errorf("allowed substitution rejected: %v", err)
	}
}

func TestPrepare(t *testing.T) {
	tests := []struct {
		prefix, line string
		args         []string
		shell        bool
		want         string // argv joined by | (no shell) or the line (shell)
	}{
		{"", "/usr/lib/nagios/plugins/check_load -r -w .15,.10,.05 -c .30,.25,.20", nil, false,
			"/usr/lib/nagios/plugins/check_load|-r|-w|.15,.10,.05|-c|.30,.25,.20"},
		{"", "/usr/lib/nagios/plugins/check_disk -w 20% -c 10% -p /", nil, false, "/usr/lib/nagios/plugins/check_disk|-w|20%|-c|10%|-p|/"},
		{"", "check_dummy $ARG1$ $ARG2$", []string{"1", "warn text"}, false, "check_dummy|1|warn text"},
		{"", "check_x -w $ARG1$ -c $ARG2$", []string{"5"}, false, "check_x|-w|5|-c"},
		{"", "echo --opt=$ARG1$", []string{"$HOME"}, false, "echo|--opt=$HOME"},
		{"/usr/bin/sudo", "check_x $ARG1$", []string{"a"}, false, "/usr/bin/sudo|check_x|a"},
		{"", "echo a1=[$ARG1$] dollar=$$ lit=$FOO$", []string{"one"}, true, "echo a1=[one] dollar=$ lit=$FOO$"},
		{"", "check_x | head -1", nil, true, "check_x | head -1"},
		{"", "LANG=C check_x", nil, true, "LANG=C check_x"},
		{"", `echo "$ARG1$"`, []string{"x"}, true, `echo "x"`},
		{"", "echo $ARG17$ $ARG1", nil, true, "echo $ARG17$ $ARG1"},
	}
	for _, tc := range tests {
		c := Prepare(tc.prefix, tc.line, tc.args)
		got := c.Line
		if !c.Shell {
			got = strings.Join(c.Argv, "|")
		}
		if c.Shell != tc.shell || got != tc.want {
			t.Errorf("%q %q: shell=%v %q, want shell=%v %q", tc.line, tc.args, c.Shell, got, tc.shell, tc.want)
		}
	}
}

func newRunner(commands map[string]string) *Runner {
	pol := stockPolicy
	pol.AllowArguments = true
	return &Runner{
		Policy:      pol,
		Commands:    commands,
		Timeout:     2 * time.Second,
		InProcess:   true,
		VersionText: "NRPE v4.1.0",
		Process: ProcessOptions{
			Env:       CleanEnv("/nonexistent", "nobody", []string{"VIGIL_TEST_KEEP", "VIGIL_TEST_UNSET"}),
			MaxOutput: 65535,
			MaxStderr: 4096,
			KillGrace: 100 * time.Millisecond,
		},
	}
}

func TestHandle(t *testing.T) {
	t.Setenv("VIGIL_TEST_KEEP", "kept")
	t.Setenv("VIGIL_TEST_DROP", "dropped")
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755)
		return p
	}
	r := newRunner(map[string]string{
		"ok":        "/bin/echo OK: fine",
		"multiline": script("multi", `printf 'line1 | a=1\nline2\nline3\n\n'`),
		"seven":     script("seven", "echo seven; exit 7"),
		"minus":     script("minus", "echo minus-one; exit 255"),
		"silent":    script("silent", "echo why >&2; exit 1"),
		"true":      "/bin/true",
		"signal":    script("signal", `echo dying; kill -9 $$`),
		"noshell":   "/bin/echo =$ARG1$=",
		"shell":     `/bin/echo "=$ARG1$="`,
		"split":     "/usr/lib/nagios/plugins/check_dummy $ARG1$ $ARG2$",
		"env":       "/usr/bin/env",
		"missing":   "/nonexistent/check_x",
		"big":       script("big", "head -c 70000 /dev/zero | tr '\\0' x"),
	})
	tests := []struct {
		text string
		code int
		out  string
	}{
		{"_NRPE_CHECK", 0, "NRPE v4.1.0"},
		{"nosuch", 3, "NRPE: Command 'nosuch' not defined"},
		{"ok", 0, "OK: fine"},
		{"multiline", 0, "line1 | a=1\nline2\nline3\n"},
		{"seven", 3, "seven"},
		{"minus", 3, "minus-one"},
		{"silent", 3, "NRPE: Unable to read output"},
		{"true", 3, "NRPE: Unable to read output"},
		{"signal", 2, "dying"},
		{"noshell!$HOME", 0, "=$HOME="},
		{"shell!$HOME", 0, "=/nonexistent="},
		{"missing", 3, "NRPE: Unable to read output"},
	}
	for _, tc := range tests {
		rep, err := r.Handle(context.Background(), tc.text)
		if err != nil || rep.Code != tc.code || rep.Output != tc.out {
			t.Errorf("%q: %d %q %v, want %d %q", tc.text, rep.Code, rep.Output, err, tc.code, tc.out)
		}
	}
	if _, err := os.Stat("/usr/lib/nagios/plugins/check_dummy"); err == nil {
		// Without a shell an argument stays one word; the stock daemon's
		// shell would give "WARNING: warn".
		rep, _ := r.Handle(context.Background(), "split!1!warn text")
		if rep.Code != 1 || rep.Output != "WARNING: warn text" {
			t.Errorf("split: %d %q", rep.Code, rep.Output)
		}
	}
	rep, _ := r.Handle(context.Background(), "env")
	for _, line := range strings.Split(rep.Output, "\n") {
		name, _, _ := strings.Cut(line, "=")
		switch name {
		case "PATH", "NRPE_MULTILINESUPPORT", "NRPE_PROGRAMVERSION", "SHELL", "HOME", "USER", "LOGNAME", "VIGIL_TEST_KEEP":
		default:
			t.Errorf("environment leaks %q", line)
		}
	}
	if !strings.Contains(rep.Output, "VIGIL_TEST_KEEP=kept") {
		t.Errorf("keep_env_vars not passed: %q", rep.Output)
	}
	rep, _ = r.Handle(context.Background(), "big")
	if rep.Code != 0 || len(rep.Output) != 65535 {
		t.Errorf("big: code %d, %d bytes", rep.Code, len(rep.Output))
	}
}

// A check that forks a child which never exits is timed out and its whole
// process group killed: no process is left behind.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	marker := "vigil-orphan-" + strconv.Itoa(os.Getpid())
	r := newRunner(map[string]string{
		"hang":   fmt.Sprintf(`sh -c 'sleep 300; echo %s' & sleep 200; echo never`, marker),
		"detach": fmt.Sprintf(`(sleep 301; echo %s) >/dev/null 2>&1 & echo detached`, marker),
	})
	r.Timeout = time.Second
	start := time.Now()
	rep, err := r.Handle(context.Background(), "hang")
	if err != nil || rep.Code != 3 || rep.Output != "NRPE: Command timed out after 1 seconds" {
		t.Errorf("hang: %d %q %v", rep.Code, rep.Output, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("hang took %v", d)
	}
	rep, _ = r.Handle(context.Background(), "detach")
	if rep.Code != 0 || rep.Output != "detached" {
		t.Errorf("detach: %d %q", rep.Code, rep.Output)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := testenv.ProcessesWith(marker)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestInProcess(t *testing.T) {
	calls := 0
	fake := func() *plugin.Plugin {
		return &plugin.Plugin{Program: "check_fake", Name: "FAKE", Thresholds: true,
			Check: func(ctx context.Context, env plugin.Env) plugin.Result {
				calls++
				return plugin.Result{Status: plugin.Warning, Summary: "in process"}
			}}
	}
	r := newRunner(map[string]string{
		"path":   "/usr/lib/nagios/plugins/check_fake -w 1",
		"marker": "vigil:check_fake",
		"shell":  "/usr/lib/nagios/plugins/check_fake -w 1 | cat",
	})
	r.Lookup = func(name string) (func() *plugin.Plugin, bool) { return fake, name == "check_fake" }
	r.Identify = func(program string) string {
		if program == "/usr/lib/nagios/plugins/check_fake" {
			return "check_fake"
		}
		return ""
	}
	for _, name := range []string{"path", "marker"} {
		rep, _ := r.Handle(context.Background(), name)
		if rep.Code != 1 || rep.Output != "FAKE WARNING - in process" {
			t.Errorf("%s: %d %q", name, rep.Code, rep.Output)
		}
	}
	if calls != 2 {
		t.Errorf("%d in-process calls", calls)
	}
	r.InProcess = false
	if rep, _ := r.Handle(context.Background(), "path"); rep.Output != "NRPE: Unable to read output" || calls != 2 {
		t.Errorf("vigil_inprocess=0 still ran in-process: %q", rep.Output)
	}
	if rep, _ := r.Handle(context.Background(), "marker"); rep.Code != 1 || calls != 3 {
		t.Errorf("the vigil: marker must run in-process: %q", rep.Output)
	}
}

// Identification reads Go build info, never the file name: Debian's
// check_host is a link to check_icmp and must not be taken for vigil's.
func TestIdentifier(t *testing.T) {
	id := &Identifier{}
	if _, err := os.Stat("/usr/lib/nagios/plugins/check_host"); err == nil {
		if got := id.Plugin("/usr/lib/nagios/plugins/check_host"); got != "" {
			t.Errorf("monitoring-plugins' check_host identified as %q", got)
		}
	}
	self, _ := os.Executable()
	if got := id.Plugin(self); got != "" {
		t.Errorf("a Go binary outside plugins/cmd identified as %q", got)
	}
	for _, p := range []string{"/nonexistent/check_host", "check_nonexistent", "/bin/sh"} {
		if got := id.Plugin(p); got != "" {
			t.Errorf("%s identified as %q", p, got)
		}
	}
}

// An in-process check that outlives command_timeout answers as a forked
// one does (the stock timeout message), whether it ignores its context or
// reports the timeout itself a moment later, and never past the timeout.
func TestInProcessTimeout(t *testing.T) {
	for _, mode := range []string{"ignores", "honours"} {
		fake := func() *plugin.Plugin {
			return &plugin.Plugin{Program: "check_slow", Name: "SLOW",
				Check: func(ctx context.Context, env plugin.Env) plugin.Result {
					if mode == "honours" {
						<-ctx.Done()
						return plugin.Result{Status: plugin.Unknown, Summary: "context deadline exceeded"}
					}
					time.Sleep(3 * time.Second)
					return plugin.Result{Status: plugin.OK, Summary: "too late"}
				}}
		}
		r := newRunner(map[string]string{"slow": "vigil:check_slow"})
		r.Timeout = 500 * time.Millisecond
		r.Lookup = func(name string) (func() *plugin.Plugin, bool) { return fake, name == "check_slow" }
		start := time.Now()
		rep, _ := r.Handle(context.Background(), "slow")
		if rep.Code != 3 || rep.Output != fmt.Sprintf(msgTimedOut, 0) {
			t.Errorf("%s: %d %q", mode, rep.Code, rep.Output)
		}
		if d := time.Since(start); d > 900*time.Millisecond {
			t.Errorf("%s: answered after %v with command_timeout 0.5 s", mode, d)
		}
	}
}
