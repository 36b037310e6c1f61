package nrpe

import (
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// Debian's /etc/nagios/nrpe.cfg, unmodified, served by vigil-agent: stock
// check_nrpe's default (TLS) queries are answered by the monitoring-plugins
// the file names, exactly as they answer when run directly.
func TestDebianConfigUnmodified(t *testing.T) {
	const cfg = "/etc/nagios/nrpe.cfg"
	testenv.RequireFile(t, cfg)
	testenv.RequireFile(t, checkNRPE)
	testenv.Require(t, os.Geteuid() == 0, "root (the file sets nrpe_user=nagios and pid_file=/run/nagios/nrpe.pid)")
	testenv.HoldPort(t, 5666) // test/e2e listens there too
	if c, err := net.Dial("tcp", "127.0.0.1:5666"); err == nil {
		c.Close()
		testenv.Require(t, false, "a free port 5666 (the unmodified file listens there)")
	}
	testenv.RequireFile(t, "/run/nagios")
	a := &agent{port: 5666, cfg: cfg, log: &syncBuffer{}, done: make(chan struct{})}
	a.start(t, testenv.Build(t, "agent/cmd/vigil-agent"), []string{"serve", "-c", cfg, "--tls-dir", workDir(t)})

	out, code := stock(t, a.addr(), "-c", "check_users")
	direct, dcode := run(t, "/usr/lib/nagios/plugins/check_users", "-w", "5", "-c", "10")
	if out != direct || code != dcode {
		t.Errorf("check_users via agent: rc %d %q; directly: rc %d %q", code, out, dcode, direct)
	}
	patterns := map[string]string{
		"check_load":         `^LOAD (OK|WARNING|CRITICAL) - scaled load average: [0-9.]+, [0-9.]+, [0-9.]+ - total load average: .*\|load1=`,
		"check_total_procs":  `^PROCS (OK|WARNING|CRITICAL): [0-9]+ process(es)? \| procs=[0-9]+;150;200;0;\n$`,
		"check_zombie_procs": `^PROCS (OK|WARNING|CRITICAL): [0-9]+ process(es)? with STATE = Z \| procs=[0-9]+;5;10;0;\n$`,
		"check_hda1":         `^DISK CRITICAL - /dev/hda1 is not accessible: No such file or directory\n$`,
	}
	for cmd, pat := range patterns {
		out, code := stock(t, a.addr(), "-c", cmd)
		if !regexp.MustCompile(pat).MatchString(out) || code < 0 || code > 3 {
			t.Errorf("%s: rc %d %q, want %s", cmd, code, out, pat)
		}
	}
	if _, err := os.Stat("/run/nagios/nrpe.pid"); err != nil {
		t.Errorf("pid_file not written: %v", err)
	}
	a.stop(t)
	if _, err := os.Stat("/run/nagios/nrpe.pid"); err == nil {
		t.Error("pid_file left behind after SIGTERM")
	}
	if strings.Contains(a.log.String(), "level=WARN msg=config") {
		t.Errorf("warnings on Debian's own file:\n%s", a.log)
	}
}
