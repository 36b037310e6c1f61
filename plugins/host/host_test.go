package host

import (
	"context"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// perf returns the perfdata item labelled label.
func perf(t *testing.T, res plugin.Result, label string) plugin.Perfdata {
	t.Helper()
	for _, p := range res.Perfdata {
		if p.Label == label {
			return p
		}
	}
	t.Fatalf("no perfdata %q in %q", label, res.Render("HOST"))
	return plugin.Perfdata{}
}

// TestLoadAgreesWithProcLoadavg compares with /proc/loadavg read right after.
func TestLoadAgreesWithProcLoadavg(t *testing.T) {
	res := Check(context.Background(), Options{Mode: "load", Units: "percent"}, plugin.Thresholds{})
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		t.Skipf("no /proc/loadavg: %v", err)
	}
	fields := strings.Fields(string(raw))
	for i, label := range []string{"load1", "load5", "load15"} {
		want, _ := strconv.ParseFloat(fields[i], 64)
		got := perf(t, res, label).Value
		// The kernel updates the averages every 5 s; allow one update's drift.
		if math.Abs(got-want) > 0.5 {
			t.Errorf("%s = %v, /proc/loadavg says %v", label, got, want)
		}
	}
}

// TestMemoryAgreesWithFree compares with `free -b`: used is total - available.
func TestMemoryAgreesWithFree(t *testing.T) {
	if _, err := exec.LookPath("free"); err != nil {
		t.Skip("free(1) not installed")
	}
	res := Check(context.Background(), Options{Mode: "memory", Units: "percent"}, plugin.Thresholds{})
	out, err := exec.Command("free", "-b").Output()
	if err != nil {
		t.Fatalf("free -b: %v", err)
	}
	var total, used float64
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "Mem:" {
			total, _ = strconv.ParseFloat(f[1], 64)
			used, _ = strconv.ParseFloat(f[2], 64)
		}
	}
	p := perf(t, res, "mem_used")
	if *p.Max != total {
		t.Errorf("total = %v, free says %v", *p.Max, total)
	}
	// Memory moves between the two reads; 1% of total is far above that noise
	// and far below the buff/cache difference a wrong formula would make.
	if math.Abs(p.Value-used) > total/100 {
		t.Errorf("used = %v, free says %v", p.Value, used)
	}
}

// TestDiskAgreesWithDf compares bytes and inodes of / with df -B1 and df -i.
func TestDiskAgreesWithDf(t *testing.T) {
	df := func(args ...string) []string {
		out, err := exec.Command("df", append(args, "/")...).Output()
		if err != nil {
			t.Fatalf("df %v: %v", args, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return strings.Fields(lines[len(lines)-1])
	}
	num := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	opts := Options{Mode: "disk", Units: "percent", IncludeMount: []string{"/"}}
	res := Check(context.Background(), opts, plugin.Thresholds{})
	f := df("-B1")
	if got, want := *perf(t, res, "/").Max, num(f[1]); got != want {
		t.Errorf("/ size = %v, df says %v", got, want)
	}
	if got, want := perf(t, res, "/").Value, num(f[2]); math.Abs(got-want) > 64<<20 {
		t.Errorf("/ used = %v, df says %v", got, want)
	}
	if got, want := math.Ceil(perf(t, res, "/_pct").Value), num(strings.TrimSuffix(f[4], "%")); math.Abs(got-want) > 1 {
		t.Errorf("/ used%% = %v, df says %v", got, want)
	}
	opts.Mode = "inodes"
	res = Check(context.Background(), opts, plugin.Thresholds{})
	f = df("-i")
	if got, want := *perf(t, res, "/_inodes").Max, num(f[1]); got != want {
		t.Errorf("/ inodes = %v, df -i says %v", got, want)
	}
	if got, want := perf(t, res, "/_inodes").Value, num(f[2]); math.Abs(got-want) > 1000 {
		t.Errorf("/ inodes used = %v, df -i says %v", got, want)
	}
}

// TestStatusFollowsThresholds drives each mode through thresholds that must
// and must not alert, so the state and exit code follow the measurement.
func TestStatusFollowsThresholds(t *testing.T) {
	tests := []struct {
		mode, warn, crit string
		want             plugin.Status
	}{
		{"load", "", "", plugin.OK},
		{"load", "@0:100000", "", plugin.Warning},
		{"load", "", "@0:100000", plugin.Critical},
		{"memory", "~:100", "~:100", plugin.OK},
		{"memory", "~:0", "", plugin.Warning},
		{"memory", "", "~:0", plugin.Critical},
		{"disk", "@0:100", "", plugin.Warning},
		{"inodes", "", "@0:100", plugin.Critical},
	}
	for _, tt := range tests {
		th := plugin.Thresholds{}
		if tt.warn != "" {
			th.Warning = plugin.MustRange(tt.warn)
		}
		if tt.crit != "" {
			th.Critical = plugin.MustRange(tt.crit)
		}
		opts := Options{Mode: tt.mode, Units: "percent", IncludeMount: []string{"/"}}
		if got := Check(context.Background(), opts, th); got.Status != tt.want {
			t.Errorf("%s -w %q -c %q: %v, want %v (%s)", tt.mode, tt.warn, tt.crit, got.Status, tt.want, got.Render("HOST"))
		}
	}
}

func TestBadOptions(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		msg  string
	}{
		{Options{Mode: "cpu", Units: "percent"}, `--mode "cpu" is not one of load, memory, swap, disk, inodes`},
		{Options{Mode: "disk", Units: "kb"}, `--units "kb" must be percent or bytes`},
		{Options{Mode: "disk", Units: "percent", IncludeMount: []string{"/no/such/mount"}}, "no mount matched the include/exclude options"},
	} {
		res := Check(context.Background(), tt.opts, plugin.Thresholds{})
		if res.Status != plugin.Unknown || res.Summary != tt.msg {
			t.Errorf("%+v: got %v %q, want UNKNOWN %q", tt.opts, res.Status, res.Summary, tt.msg)
		}
	}
}
