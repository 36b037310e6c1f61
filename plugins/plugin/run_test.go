package plugin

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testPlugin behaves as its --mode flag says, to drive Run through every path.
func testPlugin() *Plugin {
	var mode, label string
	var sleep time.Duration
	return &Plugin{
		Program:     "check_test",
		Name:        "TEST",
		Description: "A plugin for testing the Run wrapper.",
		Examples:    []string{"check_test --mode value -w 10 -c 20"},
		Thresholds:  true,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&mode, "mode", "value", "value, panic, hang, ignore-ctx, outside")
			fs.StringVar(&label, "label", "value", "perfdata label")
			fs.DurationVar(&sleep, "sleep", 0, "how long hang sleeps")
		},
		Check: func(ctx context.Context, env Env) Result {
			switch mode {
			case "panic":
				var items []int
				_ = items[len(env.Args)+3]
			case "hang":
				SetStage(ctx, "waiting for the answer")
				<-ctx.Done()
				time.Sleep(sleep)
				if sleep > 0 && sleep < 50*time.Millisecond {
					return Result{Status: Unknown, Summary: "timed out while waiting for the answer"}
				}
				return Result{Status: Critical, Summary: "gave up on my own"}
			case "ignore-ctx":
				SetStage(ctx, "ignoring the deadline")
				time.Sleep(sleep)
				return Result{Status: OK, Summary: "too late"}
			case "outside":
				return Result{Status: Warning, Summary: "name a|b; c\nsecond line\r",
					Details:  []string{"  \\_ [WARNING] a|b", "line one\nline two | pipe", ""},
					Perfdata: []Perfdata{{Label: "a b", Value: 1}}}
			}
			v := 15.0
			return Result{Status: env.Thresholds.Evaluate(v), Summary: "value is 15",
				Perfdata: []Perfdata{{Label: label, Value: v, Warning: env.Thresholds.Warning, Critical: env.Thresholds.Critical, Min: Float(0)}}}
		},
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Status
	}{
		{"ok", []string{}, OK},
		{"warning", []string{"-w", "10", "-c", "20"}, Warning},
		{"critical", []string{"-w", "10", "--critical=@10:20"}, Critical},
		{"empty_thresholds", []string{"-w", "", "-c", ""}, OK},
		{"bad_range", []string{"-w", "x:y"}, Unknown},
		{"reversed_range", []string{"-c", "10:5"}, Unknown},
		{"unknown_flag", []string{"--bogus"}, Unknown},
		{"positional", []string{"extra"}, Unknown},
		{"help", []string{"-h"}, Unknown},
		{"version", []string{"-V"}, Unknown},
		{"panic", []string{"--mode", "panic"}, Unknown},
		{"timeout_stage", []string{"--mode", "hang", "--sleep", "1s", "-t", "0.1"}, Unknown},
		{"timeout_state", []string{"--mode", "hang", "--sleep", "1s", "-t", "0.1:CRITICAL"}, Critical},
		{"timeout_check_answers", []string{"--mode", "hang", "-t", "0.1"}, Critical},
		{"timeout_own_unknown_takes_state", []string{"--mode", "hang", "--sleep", "1ms", "-t", "0.1:WARNING"}, Warning},
		{"timeout_own_unknown", []string{"--mode", "hang", "--sleep", "1ms", "-t", "0.1"}, Unknown},
		{"timeout_ignored", []string{"--mode", "ignore-ctx", "--sleep", "1s", "-t", "0.1"}, Unknown},
		{"bad_timeout", []string{"-t", "0"}, Unknown},
		{"bad_timeout_state", []string{"-t", "5:MAYBE"}, Unknown},
		{"outside_text", []string{"--mode", "outside"}, Warning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			start := time.Now()
			got := Run(context.Background(), testPlugin(), tt.args, &stdout, &stderr)
			if got != tt.want {
				t.Errorf("status = %v, want %v\n%s", got, tt.want, stdout.String())
			}
			if time.Since(start) > 900*time.Millisecond {
				t.Errorf("Run took %v: a timeout must not wait for the check", time.Since(start))
			}
			checkGolden(t, filepath.Join("testdata", "run_"+tt.name+".golden"), stdout.String())
			if got != Unknown || tt.name == "help" || tt.name == "version" {
				return
			}
			// Every non-help output is exactly one status line naming the state.
			first := strings.SplitN(stdout.String(), "\n", 2)[0]
			if !strings.HasPrefix(first, "TEST "+got.String()) {
				t.Errorf("first line %q does not carry the state %v", first, got)
			}
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// A caller's earlier deadline (the agent's command_timeout) caps -t, and
// the message names the time the check really had.
func TestExecuteCallerDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	got := Run(ctx, testPlugin(), []string{"--mode", "ignore-ctx", "--sleep", "2s", "-t", "10"}, &out, &out)
	if got != Unknown {
		t.Errorf("status %v, want UNKNOWN: %s", got, out.String())
	}
	if !strings.HasPrefix(out.String(), "TEST UNKNOWN - timed out after 0.3s while ignoring the deadline") {
		t.Errorf("output %q does not name the 0.3 s the check had", out.String())
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v: the caller's deadline was not honoured", d)
	}
}
