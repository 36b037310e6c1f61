package heal_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// TestEventHandlerThroughStockNRPE runs the shipped event-handler script
// as Nagios would on each state change, calling check_nrpe against the
// stock nrpe daemon, whose command[heal_flag] runs `heal --act flag`. The
// rule watches a file with a command probe and "heals" it by creating the
// file, so the whole chain runs without the docker socket as the nagios
// user that nrpe switches to.
func TestEventHandlerThroughStockNRPE(t *testing.T) {
	nrpeBin := testenv.RequireFile(t, "/usr/sbin/nrpe")
	checkNRPE := testenv.RequireFile(t, "/usr/lib/nagios/plugins/check_nrpe")
	testenv.Require(t, os.Geteuid() == 0, "root (to start nrpe, which then switches to the nagios user)")
	_, err := exec.Command("id", "nagios").Output()
	testenv.Require(t, err == nil, "the nagios user (nagios-nrpe-server)")

	// A directory the nagios user can read and write: t.TempDir() sits
	// in a 0700 parent.
	dir, err := os.MkdirTemp("", "vigil-heal-eh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o777)
	os.Chmod(state, 0o777)
	bin := filepath.Join(dir, "vigil-agent")
	copyFile(t, testenv.Build(t, healerPkg), bin, 0o755)
	flag := filepath.Join(state, "flag") // nagios may write there
	write(t, filepath.Join(dir, "check_flag.sh"), 0o755, fmt.Sprintf("#!/bin/sh\nif [ -f %s ]; then echo 'FLAG OK - present'; exit 0; fi\necho 'FLAG CRITICAL - %s is missing'; exit 2\n", flag, flag))
	write(t, filepath.Join(dir, "fix_flag.sh"), 0o755, fmt.Sprintf("#!/bin/sh\ntouch %s && echo created %s\n", flag, flag))
	healCfg := filepath.Join(dir, "heal.cfg")
	write(t, healCfg, 0o644, fmt.Sprintf("command[check_flag]=%s/check_flag.sh\ncommand[fix_flag]=%s/fix_flag.sh\n"+
		"watch[flag]=check=command:check_flag action=command:fix_flag attempts=3 grace=0 backoff=0\n", dir, dir))

	port := testenv.FreePort(t)
	nrpeCfg := filepath.Join(dir, "nrpe.cfg")
	write(t, nrpeCfg, 0o644, fmt.Sprintf(`server_address=127.0.0.1
server_port=%d
allowed_hosts=127.0.0.1
nrpe_user=nagios
nrpe_group=nagios
dont_blame_nrpe=0
command_timeout=30
command[heal_flag]=%s heal --act flag -c %s --state-dir %s
command[check_heal]=%s heal --status -c %s --state-dir %s
`, port, bin, healCfg, state, bin, healCfg, state))
	nrpe := exec.Command(nrpeBin, "-c", nrpeCfg, "-n", "-f")
	var nrpeOut bytes.Buffer
	nrpe.Stdout, nrpe.Stderr = &nrpeOut, &nrpeOut
	nrpe.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := nrpe.Start(); err != nil {
		t.Fatalf("starting nrpe: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-nrpe.Process.Pid, syscall.SIGKILL)
		nrpe.Wait()
		if t.Failed() {
			t.Logf("nrpe output:\n%s", nrpeOut.String())
			b, _ := os.ReadFile(filepath.Join(state, "audit.log"))
			t.Logf("audit log:\n%s", b)
		}
	})
	waitFor(t, 10*time.Second, "nrpe to listen", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	script := filepath.Join(testenv.RepoRoot(), "configs", "nagios", "vigil-heal-event-handler.sh")
	handler := func(state, stateType, attempt string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/bin/sh", script, state, stateType, attempt, "127.0.0.1", "flag", "-n", "-p", fmt.Sprint(port), "-t", "20")
		cmd.Env = append(os.Environ(), "CHECK_NRPE="+checkNRPE)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("event handler: %v", err)
		}
		t.Logf("$ vigil-heal-event-handler.sh %s %s %s 127.0.0.1 flag -n -p %d -t 20\n%s(exit %d)", state, stateType, attempt, port, out, code)
		return string(out), code
	}
	exists := func() bool { _, err := os.Stat(flag); return err == nil }

	// SOFT attempts: the handler waits for HARD.
	for _, a := range []string{"1", "2"} {
		out, code := handler("CRITICAL", "SOFT", a)
		if code != 0 || out != "vigil heal flag: CRITICAL SOFT attempt "+a+", waiting for HARD\n" || exists() {
			t.Fatalf("SOFT attempt %s (exit %d): %q", a, code, out)
		}
	}
	// The first HARD CRITICAL heals at once, through nrpe.
	out, code := handler("CRITICAL", "HARD", "3")
	if !exists() {
		t.Fatalf("HARD CRITICAL did not heal (exit %d):\n%s", code, out)
	}
	want := "vigil heal flag: CRITICAL HARD after attempt 3, asking 127.0.0.1\nHEAL WARNING - flag: command fix_flag: ran: created " + flag
	if code != 1 || !strings.HasPrefix(out, want) {
		t.Fatalf("HARD CRITICAL (exit %d):\n%s\nwant prefix\n%s", code, out, want)
	}
	// A second HARD CRITICAL for the same failure (Nagios re-notifying, or
	// a second handler) finds the service healed: no second action.
	out, code = handler("CRITICAL", "HARD", "3")
	if code != 0 || !strings.Contains(out, "HEAL OK - flag: recovered: command fix_flag at ") {
		t.Fatalf("second HARD CRITICAL (exit %d):\n%s", code, out)
	}
	if out, code := handler("OK", "HARD", "1"); code != 0 || out != "" {
		t.Fatalf("recovery (exit %d): %q", code, out)
	}
	lines := (&env{t: t, stateDir: state}).audit()
	if n := countEvents(lines, "action", "ran: created"); n != 1 || lines[0].Why != "HARD CRITICAL reported by the monitoring server's event handler" {
		t.Fatalf("audit: %+v", lines)
	}
	// check_heal through nrpe: one run of the fix within the window.
	res, err := exec.Command(checkNRPE, "-H", "127.0.0.1", "-n", "-p", fmt.Sprint(port), "-c", "check_heal").CombinedOutput()
	if !strings.HasPrefix(string(res), "HEAL WARNING - flag: 1 run of fix_flag within 1h, last at ") || !strings.Contains(string(res), "| flag_actions=1;;;0;5 actions=1;;;0 gave_up=0;;;0;1") {
		t.Fatalf("check_heal via nrpe (%v):\n%s", err, res)
	}
}

func write(t *testing.T, path string, mode os.FileMode, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, mode, string(b))
}
