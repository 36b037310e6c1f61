package host

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden pins check_host's whole output on a fixed /proc, through the
// same Run path the binary takes.
func TestGolden(t *testing.T) {
	proc, _ := filepath.Abs("testdata/proc")
	tests := []struct {
		name string
		args []string
		want plugin.Status
	}{
		{"load", []string{"-m", "load", "-w", "3", "-c", "5"}, plugin.Warning},
		{"load_per_cpu", []string{"-m", "load", "--per-cpu", "-w", "100", "-c", "200"}, plugin.OK},
		{"memory", []string{"-m", "memory", "-w", "70", "-c", "80"}, plugin.Warning},
		{"memory_bytes", []string{"-m", "memory", "--units", "bytes", "-c", "~:4096000000"}, plugin.Critical},
		{"swap", []string{"-m", "swap", "-w", "20", "-c", "30"}, plugin.Warning},
		{"bad_mode", []string{"-m", "cpu"}, plugin.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			// gopsutil reads /proc through HOST_PROC.
			t.Setenv("HOST_PROC", proc)
			var out bytes.Buffer
			got := plugin.Run(context.Background(), p, tt.args, &out, &out)
			if got != tt.want {
				t.Errorf("status %v, want %v: %s", got, tt.want, out.String())
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				os.WriteFile(path, out.Bytes(), 0o644)
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if out.String() != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
			}
		})
	}
}
