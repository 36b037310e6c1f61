package run

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

const dummy = "/usr/lib/nagios/plugins/check_dummy"

// BenchmarkHandleProcess is one external check through the whole request
// path: parse, prepare, fork/exec in a process group, read, reply.
func BenchmarkHandleProcess(b *testing.B) {
	if _, err := os.Stat(dummy); err != nil {
		b.Skip("check_dummy missing")
	}
	r := newRunner(map[string]string{"dummy": dummy + " 0 OK"})
	for b.Loop() {
		if rep, _ := r.Handle(context.Background(), "dummy"); rep.Output != "OK: OK" {
			b.Fatal(rep.Output)
		}
	}
}

// BenchmarkBareExec is the floor: os/exec of the same program, nothing else.
func BenchmarkBareExec(b *testing.B) {
	if _, err := os.Stat(dummy); err != nil {
		b.Skip("check_dummy missing")
	}
	for b.Loop() {
		exec.Command(dummy, "0", "OK").Output()
	}
}

// BenchmarkHandleInProcess is one in-process check through the request path.
func BenchmarkHandleInProcess(b *testing.B) {
	r := newRunner(map[string]string{"fake": "vigil:check_fake -w 1"})
	fake := func() *plugin.Plugin {
		return &plugin.Plugin{Program: "check_fake", Name: "FAKE", Thresholds: true,
			Check: func(ctx context.Context, env plugin.Env) plugin.Result {
				return plugin.Result{Status: plugin.OK, Summary: "fine"}
			}}
	}
	r.Lookup = func(string) (func() *plugin.Plugin, bool) { return fake, true }
	for b.Loop() {
		if rep, _ := r.Handle(context.Background(), "fake"); rep.Code != 0 {
			b.Fatal(rep.Output)
		}
	}
}
