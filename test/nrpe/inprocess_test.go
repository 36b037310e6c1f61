package nrpe

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/plugins/registry"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

// %DIR% is replaced by the test's directory (see writeDriftFixtures).
// Arguments tried for each registered plugin besides the generic ones.
var inProcessCases = map[string][][]string{
	"check_drift": {
		{"--reference", "%DIR%/ref.csv", "--current", "%DIR%/same.csv"},
		{"--reference", "%DIR%/ref.csv", "--current", "%DIR%/shifted.csv", "--method", "ks"},
		{"--reference", "%DIR%/ref.csv", "--current", "%DIR%/shifted.csv", "--method", "psi", "-w", "0.1", "-c", "0.2"},
		{"--reference", "%DIR%/missing.csv", "--current", "%DIR%/same.csv"},
	},
	"check_model_latency": {
		{"-u", "http://127.0.0.1:1", "--v1-model", "m", "-t", "2"},
		{"-u", "http://127.0.0.1:1", "--v1-model", "m", "--data-file", "%DIR%/req.json", "-t", "2"},
		{"--mode", "scrape", "--server", "mlserver", "-u", "http://127.0.0.1:1", "-t", "2"},
	},
	"check_kafka_lag": {
		{"-B", "127.0.0.1:1", "-g", "g", "-t", "2"},
	},
	// The agent runs as nagios (dropped from root) while the direct run is
	// root's, so only cases that do not depend on socket rights compare.
	"check_container": {
		{"--docker-host", "unix:///nonexistent/docker.sock", "--all", "-t", "2"},
		{"--docker-host", "tcp://127.0.0.1:1", "--name", "x", "-t", "2"},
		{"--all", "--expect", "x"},
		{"--all", "--allow-state", "sleeping"},
	},
	"check_host": {
		{"--mode", "load", "-w", "1000", "-c", "2000"},
		{"--mode", "load", "--per-cpu", "-w", "0.000001"},
		{"--mode", "memory", "-w", "99.999", "-c", "100"},
		{"--mode", "swap"},
		{"--mode", "disk", "--include-mount", "/dev"},
		{"--mode", "inodes", "--include-mount", "/dev", "-w", "0", "-c", "0"},
		{"--mode", "disk", "--include-mount", "/nonexistent"},
		{"--mode", "bogus"},
		{"--units", "furlongs"},
	},
}

var genericCases = [][]string{{"--help"}, {"--version"}, {"--no-such-flag"}, {"-w", "not-a-range"}}

// Every plugin in the registry answers in-process with the bytes and the
// exit code its binary gives. The binary is installed under another name
// (as packaging installs check_host as check_vigil_host): the agent knows it
// by its Go build info. The same command lines are served by an agent with
// vigil_inprocess=1 (the default) and one with vigil_inprocess=0, which
// forks the binary, and the binary is also run directly. Measurements can
// move between runs, so each case gets a few tries to line up.
func TestInProcessIdenticalToBinary(t *testing.T) {
	testenv.RequireFile(t, checkNRPE)
	dir := workDir(t)
	writeDriftFixtures(t, dir)
	var cfg strings.Builder
	cfg.WriteString("dont_blame_nrpe=0\ndebug=1\ncommand_timeout=20\n")
	type tc struct {
		name, program, bin string
		args               []string
	}
	var cases []tc
	for _, program := range registry.Names() {
		bin := filepath.Join(dir, "renamed_"+program)
		if err := copyFile(testenv.Build(t, "plugins/cmd/"+program), bin); err != nil {
			t.Fatal(err)
		}
		for i, args := range append(append([][]string{}, genericCases...), inProcessCases[program]...) {
			args = append([]string(nil), args...)
			for j := range args {
				args[j] = strings.ReplaceAll(args[j], "%DIR%", dir)
			}
			name := fmt.Sprintf("%s_%d", program, i)
			fmt.Fprintf(&cfg, "command[%s]=%s %s\n", name, bin, strings.Join(args, " "))
			cases = append(cases, tc{name, program, bin, args})
		}
	}
	// Debian's check_host is check_icmp: never taken for vigil's.
	icmp := "/usr/lib/nagios/plugins/check_host"
	fmt.Fprintf(&cfg, "command[icmp]=%s -H 127.0.0.1 -t 2\n", icmp)
	in := startAgent(t, cfg.String(), "-n")
	forked := startAgent(t, cfg.String()+"vigil_inprocess=0\n", "-n")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var inOut, forkOut, direct string
			var inCode, forkCode, directCode int
			for try := 0; try < 5; try++ {
				inOut, inCode = stock(t, in.addr(), "-n", "-c", c.name)
				forkOut, forkCode = stock(t, forked.addr(), "-n", "-c", c.name)
				direct, directCode = run(t, c.bin, c.args...)
				if inOut == forkOut && inCode == forkCode && inCode == directCode && inOut == normalise(direct) {
					return
				}
			}
			t.Errorf("in-process rc %d %q\nforked     rc %d %q\ndirect     rc %d %q", inCode, inOut, forkCode, forkOut, directCode, direct)
		})
	}
	waitLog(t, in.log, `msg="running in-process" command=check_host_0`)
	if strings.Contains(forked.log.String(), "running in-process") {
		t.Error("vigil_inprocess=0 still ran a check in-process")
	}
	if _, err := os.Stat(icmp); err == nil {
		out, _ := stock(t, in.addr(), "-n", "-c", "icmp")
		if strings.HasPrefix(out, "HOST ") || strings.Contains(in.log.String(), `msg="running in-process" command=icmp`) {
			t.Errorf("monitoring-plugins' check_host (check_icmp) ran as vigil's check_host: %q", out)
		}
	}
}

// normalise turns a binary's own stdout into what an NRPE daemon relays:
// one trailing newline removed, then check_nrpe adds one back.
func normalise(s string) string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return "NRPE: Unable to read output\n"
	}
	return s + "\n"
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// writeDriftFixtures writes small, fixed CSV samples for check_drift and a
// request body for check_model_latency.
func writeDriftFixtures(t *testing.T, dir string) {
	t.Helper()
	var ref, same, shifted strings.Builder
	ref.WriteString("x\n")
	same.WriteString("x\n")
	shifted.WriteString("x\n")
	for i := 0; i < 200; i++ {
		v := float64(i%50) / 10
		fmt.Fprintf(&ref, "%g\n", v)
		fmt.Fprintf(&same, "%g\n", v)
		fmt.Fprintf(&shifted, "%g\n", v+1.5)
	}
	files := map[string]string{"ref.csv": ref.String(), "same.csv": same.String(), "shifted.csv": shifted.String(),
		"req.json": `{"instances": [[1.0, 2.0]]}`}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
