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

// Arguments tried for each registered plugin besides the generic ones.
var inProcessCases = map[string][][]string{
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
// exit code its binary gives: the agent's in-process answer is compared
// with the same agent forking the binary (through a symlink whose name is
// not registered) and with the binary run directly. Measurements can move
// between two runs, so each case gets a few tries to line up.
func TestInProcessIdenticalToBinary(t *testing.T) {
	testenv.RequireFile(t, checkNRPE)
	dir := workDir(t)
	var cfg strings.Builder
	cfg.WriteString("dont_blame_nrpe=0\ndebug=1\ncommand_timeout=20\n")
	type tc struct {
		name, program, bin string
		args               []string
	}
	var cases []tc
	for _, program := range registry.Names() {
		bin := testenv.Build(t, "plugins/cmd/"+program)
		shared := filepath.Join(dir, program)
		if err := copyFile(bin, shared); err != nil {
			t.Fatal(err)
		}
		forked := filepath.Join(dir, "forked-"+program)
		if err := os.Symlink(shared, forked); err != nil {
			t.Fatal(err)
		}
		for i, args := range append(append([][]string{}, genericCases...), inProcessCases[program]...) {
			name := fmt.Sprintf("%s_%d", program, i)
			line := strings.Join(args, " ")
			fmt.Fprintf(&cfg, "command[in_%s]=%s %s\ncommand[fork_%s]=%s %s\n", name, shared, line, name, forked, line)
			cases = append(cases, tc{name, program, shared, args})
		}
	}
	a := startAgent(t, cfg.String(), "-n")
	for _, c := range cases {
		t.Run(c.name+"_"+strings.Join(c.args, "_"), func(t *testing.T) {
			var in, fork, direct string
			var inCode, forkCode, directCode int
			for try := 0; try < 5; try++ {
				in, inCode = stock(t, a.addr(), "-n", "-c", "in_"+c.name)
				fork, forkCode = stock(t, a.addr(), "-n", "-c", "fork_"+c.name)
				direct, directCode = run(t, c.bin, c.args...)
				if in == fork && inCode == forkCode && inCode == directCode && in == normalise(direct) {
					return
				}
			}
			t.Errorf("in-process rc %d %q\nforked     rc %d %q\ndirect     rc %d %q", inCode, in, forkCode, fork, directCode, direct)
		})
	}
	waitLog(t, a.log, "running in-process")
	if strings.Contains(a.log.String(), `msg="running in-process" command=fork_`) {
		t.Error("a symlinked, unregistered name ran in-process")
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
