package nrpe

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// Stock check_nrpe 4.1.0 against vigil-agent over TLS (its default mode,
// with the agent's generated self-signed certificate) and every flag that
// changes the handshake or the packet version.
func TestStockClientTLS(t *testing.T) {
	testenv.RequireFile(t, checkNRPE)
	testenv.RequireFile(t, checkDummy)
	dir := workDir(t)
	a := startAgent(t, strings.Join([]string{
		"dont_blame_nrpe=1",
		"command_timeout=2",
		"command[dummy]=" + checkDummy + " $ARG1$ $ARG2$",
		"command[ok]=" + checkDummy + " 0 OK",
		"command[multi]=" + script(t, dir, "multi", `printf 'OK - first | a=1\nsecond line\nthird line\n'`),
		"command[seven]=" + script(t, dir, "seven", "echo seven; exit 7"),
		"command[minus]=" + script(t, dir, "minus", "echo minus-one; exit 255"),
		"command[stderr]=" + script(t, dir, "stderr", "echo only-on-stderr >&2; exit 1"),
		"command[killed]=" + script(t, dir, "killed", "echo dying; kill -9 $$"),
		"command[sleep]=/bin/sleep 30",
		"command[whoami]=/usr/bin/id -un",
		"command[out3000]=" + script(t, dir, "out3000", `head -c 2999 /dev/zero | tr '\0' a; echo; exit 1`),
		"command[out60000]=" + script(t, dir, "out60000", `head -c 60000 /dev/zero | tr '\0' b`),
		"command[out70000]=" + script(t, dir, "out70000", `head -c 70000 /dev/zero | tr '\0' c`),
		"",
	}, "\n"))
	long := func(c string, n int) string { return strings.Repeat(c, n) + "\n" }
	tests := []struct {
		name string
		args []string
		out  string
		code int
	}{
		{"version", nil, "NRPE v4.1.0 (vigil-agent dev)\n", 0},
		{"default", []string{"-c", "ok"}, "OK: OK\n", 0},
		{"v2", []string{"-2", "-c", "ok"}, "OK: OK\n", 0},
		{"v3", []string{"-3", "-c", "ok"}, "OK: OK\n", 0},
		{"TLSv1.2", []string{"-S", "TLSv1.2", "-c", "ok"}, "OK: OK\n", 0},
		{"TLSv1.3", []string{"-S", "TLSv1.3", "-c", "ok"}, "OK: OK\n", 0},
		{"TLSv1.2+", []string{"-S", "TLSv1.2+", "-c", "ok"}, "OK: OK\n", 0},
		{"force ADH list", []string{"-d", "2", "-c", "ok"}, "OK: OK\n", 0},
		{"arguments", []string{"-c", "dummy", "-a", "2", "CRIT thing"}, "CRITICAL: CRIT thing\n", 2},
		{"arguments v2", []string{"-2", "-c", "dummy", "-a", "1", "warn"}, "WARNING: warn\n", 1},
		{"unknown command", []string{"-c", "nosuch"}, "NRPE: Command 'nosuch' not defined\n", 3},
		{"multi-line", []string{"-c", "multi"}, "OK - first | a=1\nsecond line\nthird line\n", 0},
		{"exit 7", []string{"-c", "seven"}, "seven\n", 3},
		{"exit 255", []string{"-c", "minus"}, "minus-one\n", 3},
		{"stderr only", []string{"-c", "stderr"}, "NRPE: Unable to read output\n", 3},
		{"killed by a signal", []string{"-c", "killed"}, "dying\n", 2},
		{"timeout", []string{"-c", "sleep"}, "NRPE: Command timed out after 2 seconds\n", 3},
		{"3000 bytes v4", []string{"-c", "out3000"}, long("a", 2999), 1},
		{"3000 bytes v2", []string{"-2", "-c", "out3000"}, long("a", 1023), 1},
		{"60000 bytes v4", []string{"-c", "out60000"}, long("b", 60000), 0},
		{"70000 bytes v4 keeps 65535", []string{"-c", "out70000"}, long("c", 65535), 0},
	}
	tests = append(tests, []struct {
		name string
		args []string
		out  string
		code int
	}{
		// The generated certificate is its own CA: copied to the Nagios
		// server, -A pins the agent.
		{"-A generated certificate", []string{"-A", filepath.Join(a.dir, "tls", "vigil-agent.crt"), "-c", "ok"}, "OK: OK\n", 0},
		{"-n against TLS", []string{"-n", "-c", "ok"}, "CHECK_NRPE: Receive header underflow - only -1 bytes received (4 expected).\n", 3},
		{"-S TLSv1.1 below the default minimum", []string{"-S", "TLSv1.1", "-c", "ok"}, "CHECK_NRPE: (ssl_err != 5) Error - Could not complete SSL handshake with 127.0.0.1: 1\n", 2},
	}...)
	if os.Geteuid() == 0 {
		// started as root, checks run as nrpe_user
		tests = append(tests, struct {
			name string
			args []string
			out  string
			code int
		}{"runs as nrpe_user", []string{"-c", "whoami"}, "nagios\n", 0})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := stock(t, a.addr(), tc.args...)
			if out != tc.out || code != tc.code {
				t.Errorf("check_nrpe %q: rc %d, %d bytes %q\nwant rc %d, %d bytes %q", tc.args, code, len(out), clip(out), tc.code, len(tc.out), clip(tc.out))
			}
		})
	}
	waitLog(t, a.log, "only-on-stderr") // the check's stderr reaches the agent's log
}

func clip(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%s...(%d bytes)", s[:120], len(s))
	}
	return s
}

// check_nrpe -n against an agent configured for plaintext (serve -n), and
// what a TLS client sees there.
func TestStockClientPlaintext(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	a := startAgent(t, "command[ok]="+checkDummy+" 0 OK\n", "-n")
	for _, args := range [][]string{{"-n", "-c", "ok"}, {"-n", "-2", "-c", "ok"}, {"-n", "-3", "-c", "ok"}} {
		if out, code := stock(t, a.addr(), args...); out != "OK: OK\n" || code != 0 {
			t.Errorf("check_nrpe %q: rc %d %q", args, code, out)
		}
	}
	out, code := stock(t, a.addr(), "-c", "ok")
	if code != 2 || !strings.Contains(out, "Could not connect to 127.0.0.1: Connection reset by peer") {
		t.Errorf("TLS client to a plaintext agent: rc %d %q", code, out)
	}
}

// vigil_allow_plaintext=1 serves TLS and -n clients on the same port.
func TestStockClientBothModesOnOnePort(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	a := startAgent(t, "vigil_allow_plaintext=1\ncommand[ok]="+checkDummy+" 0 OK\n")
	for _, args := range [][]string{{"-c", "ok"}, {"-n", "-c", "ok"}, {"-n", "-2", "-c", "ok"}, {"-2", "-c", "ok"}} {
		if out, code := stock(t, a.addr(), args...); out != "OK: OK\n" || code != 0 {
			t.Errorf("check_nrpe %q: rc %d %q", args, code, out)
		}
	}
}

// Refused requests are closed without an answer and logged with the
// reason, as the stock daemon does.
func TestStockClientRefusals(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	a := startAgent(t, "command[ok]="+checkDummy+" 0 OK\n")
	const underflow = "CHECK_NRPE: Receive header underflow - only 0 bytes received (4 expected).\n"
	out, code := stock(t, a.addr(), "-c", "ok", "-a", "1")
	if out != underflow || code != 3 {
		t.Errorf("arguments: rc %d %q", code, out)
	}
	waitLog(t, a.log, "Request contained command arguments, but argument option is not enabled!")
	out, code = stock(t, a.addr(), "-c", "bad;cmd")
	if out != underflow || code != 3 {
		t.Errorf("metachars: rc %d %q", code, out)
	}
	waitLog(t, a.log, "Request contained illegal metachars!")

	denied := startAgent(t, "allowed_hosts=10.9.8.7,192.168.0.0/16\ncommand[ok]="+checkDummy+" 0 OK\n")
	out, code = stock(t, denied.addr(), "-c", "ok")
	if code != 2 || !strings.Contains(out, "Connection reset by peer") {
		t.Errorf("denied host: rc %d %q", code, out)
	}
	waitLog(t, denied.log, "Host 127.0.0.1 is not allowed to talk to us!")
}

// IPv6: the agent on ::1 with allowed_hosts ::1.
func TestStockClientIPv6(t *testing.T) {
	testenv.RequireFile(t, checkDummy)
	a := startAgent(t, "server_address=::1\nallowed_hosts=::1\ncommand[ok]="+checkDummy+" 0 OK\n")
	if out, code := stock(t, a.addr(), "-c", "ok"); out != "OK: OK\n" || code != 0 {
		t.Errorf("check_nrpe -H ::1: rc %d %q", code, out)
	}
}
