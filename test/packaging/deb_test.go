package packaging

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// testVersion is what the tests pass to packaging/build.sh.
const testVersion = "v0.0.1"

// buildPackages runs packaging/build.sh into a temporary dist directory and
// returns it.
func buildPackages(t *testing.T, targets ...string) string {
	t.Helper()
	return buildWithEnv(t, nil, targets...)
}

// buildWithEnv is buildPackages with extra environment (VIGIL_IMAGE=...).
func buildWithEnv(t *testing.T, env []string, targets ...string) string {
	t.Helper()
	return buildVersion(t, testVersion, env, targets...)
}

// buildVersion is buildWithEnv for another version than testVersion.
func buildVersion(t *testing.T, version string, env []string, targets ...string) string {
	t.Helper()
	testenv.RequireCommand(t, "go")
	dist := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(testenv.RepoRoot(), "packaging", "build.sh"), append([]string{version}, targets...)...)
	cmd.Env = append(append(os.Environ(), "DIST="+dist), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packaging/build.sh: %v\n%s", err, out)
	}
	return dist
}

func run(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, code := run(t, name, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), code, out)
	}
	return out
}

func packageStatus(t *testing.T) string {
	out, code := run(t, "dpkg-query", "-W", "-f", "${Status}", "vigil")
	if code != 0 {
		return ""
	}
	return out
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestDebInstallRunRemovePurge builds the .deb, installs it with dpkg on this
// machine, runs the installed binaries from their paths and the shipped NRPE
// snippet under the stock nrpe daemon, then removes and purges the package
// and checks that nothing is left. It needs root and a machine without a
// vigil package or user; the package is purged at the end even on failure.
func TestDebInstallRunRemovePurge(t *testing.T) {
	testenv.Require(t, os.Geteuid() == 0, "root (dpkg -i)")
	testenv.RequireCommand(t, "dpkg")
	testenv.RequireCommand(t, "dpkg-deb")
	if s := packageStatus(t); s != "" {
		testenv.Require(t, false, fmt.Sprintf("a machine without the vigil package (it is %q here)", s))
	}
	if _, err := user.Lookup("vigil"); err == nil {
		testenv.Require(t, false, "a machine without a vigil user")
	}

	dist := buildPackages(t, "deb")
	debs, _ := filepath.Glob(filepath.Join(dist, "vigil_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("build.sh made %v, want one vigil_*.deb", debs)
	}
	deb := debs[0]
	if filepath.Base(deb) != "vigil_0.0.1-1_"+mustArch(t)+".deb" {
		t.Errorf("package file %s", filepath.Base(deb))
	}
	shipped := debFiles(t, deb)

	t.Cleanup(func() {
		if packageStatus(t) != "" {
			out, code := run(t, "dpkg", "--purge", "vigil")
			if code != 0 {
				t.Errorf("cleanup: dpkg --purge vigil: exit %d\n%s", code, out)
			}
		}
	})
	mustRun(t, "dpkg", "-i", deb)
	if s := packageStatus(t); s != "install ok installed" {
		t.Fatalf("after dpkg -i: status %q", s)
	}

	t.Run("plugins", func(t *testing.T) {
		for _, prog := range treePlugins(t) {
			path := "/usr/lib/nagios/plugins/" + installedName(prog)
			out, code := run(t, path, "--version")
			if want := prog + " " + testVersion + " (vigil)\n"; code != 3 || out != want {
				t.Errorf("%s --version: exit %d, %q; want exit 3, %q", path, code, out, want)
			}
			out, code = run(t, path, "--help")
			if code != 3 || !strings.HasPrefix(out, prog+" "+testVersion) || !strings.Contains(out, "\nUsage: "+prog) {
				t.Errorf("%s --help: exit %d\n%s", path, code, out)
			}
		}
		// The stock check_host is still monitoring-plugins' check_icmp.
		if target, err := os.Readlink("/usr/lib/nagios/plugins/check_host"); exists("/usr/lib/nagios/plugins/check_icmp") && (err != nil || target != "check_icmp") {
			t.Errorf("/usr/lib/nagios/plugins/check_host is no longer the link to check_icmp (%q, %v)", target, err)
		}
	})

	t.Run("agent", func(t *testing.T) {
		out, code := run(t, "/usr/sbin/vigil-agent", "version")
		if code != 0 || !strings.Contains(out, testVersion) {
			t.Errorf("/usr/sbin/vigil-agent version: exit %d, %q", code, out)
		}
		unit := "/usr/lib/systemd/system/vigil-agent.service"
		if !exists(unit) {
			t.Errorf("%s not installed", unit)
		}
		// The packaged configuration, served as the vigil user (what the
		// unit does; there is no systemd on the test machines), on a free
		// port instead of 5666.
		checkNRPE := testenv.RequireFile(t, "/usr/lib/nagios/plugins/check_nrpe")
		port := startPackagedAgent(t)
		out, code = run(t, checkNRPE, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		if want := "NRPE v4.1.0 (vigil-agent " + testVersion + ")\n"; code != 0 || out != want {
			t.Errorf("check_nrpe (version query, TLS) against the packaged agent: exit %d, %q; want %q", code, out, want)
		}
		out, code = run(t, checkNRPE, "-H", "127.0.0.1", "-p", strconv.Itoa(port), "-c", "vigil_host_memory")
		if code > 2 || !strings.HasPrefix(out, "HOST ") || !strings.Contains(out, " | mem_used=") {
			t.Errorf("check_nrpe -c vigil_host_memory against the packaged agent: exit %d\n%s", code, out)
		}
		t.Logf("check_nrpe -c vigil_host_memory, packaged agent: exit %d: %s", code, strings.TrimSpace(out))
		if !exists("/var/lib/vigil/tls") {
			t.Errorf("the agent kept no TLS pair in /var/lib/vigil/tls (vigil_tls_dir)")
		}
	})

	t.Run("user", func(t *testing.T) {
		u, err := user.Lookup("vigil")
		if err != nil {
			t.Fatalf("no vigil user after install: %v", err)
		}
		if u.HomeDir != "/var/lib/vigil" {
			t.Errorf("vigil's home %q", u.HomeDir)
		}
		passwd := mustRun(t, "getent", "passwd", "vigil")
		if !strings.HasSuffix(strings.TrimSpace(passwd), ":/usr/sbin/nologin") {
			t.Errorf("vigil can log in: %s", passwd)
		}
		if uid, _ := strconv.Atoi(u.Uid); uid >= 1000 {
			t.Errorf("vigil is not a system user: uid %d", uid)
		}
		groups := strings.Fields(mustRun(t, "id", "-nG", "vigil"))
		_, dockerErr := user.LookupGroup("docker")
		if dockerErr == nil && !contains(groups, "docker") {
			t.Errorf("vigil is not in the docker group: %v", groups)
		}
		st, err := os.Stat("/var/lib/vigil")
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if !st.IsDir() || st.Mode().Perm() != 0o750 || strconv.Itoa(int(sys.Uid)) != u.Uid {
			t.Errorf("/var/lib/vigil: %v, uid %d; want a 0750 directory owned by vigil", st.Mode(), sys.Uid)
		}
	})

	t.Run("conffiles", func(t *testing.T) {
		out := mustRun(t, "dpkg-query", "-W", "-f", "${Conffiles}", "vigil")
		for _, f := range shippedConffiles {
			if !strings.Contains(out, " "+f+" ") {
				t.Errorf("%s is not a conffile:\n%s", f, out)
			}
		}
	})

	// What an administrator adds to Debian's nagios.cfg and icinga2.conf.
	t.Run("installed configs", func(t *testing.T) {
		dir := readableTempDir(t)
		nagiosVerify(t, debianNagiosConfig(t, dir,
			"/etc/vigil/nagios/vigil-commands.cfg",
			"/usr/share/doc/vigil/examples/nagios/vigil-services.cfg"))
		validateIcinga(t,
			"/etc/icinga2/conf.d/templates.conf",
			"/etc/vigil/icinga2/vigil-commands.conf",
			"/usr/share/doc/vigil/examples/icinga2/vigil-services.conf")
	})

	// The installed snippet under the stock daemon: what an administrator
	// who keeps nagios-nrpe-server gets by linking it into nrpe.d.
	t.Run("stock nrpe", func(t *testing.T) {
		testenv.RequireFile(t, "/usr/sbin/nrpe")
		checkNRPE := testenv.RequireFile(t, "/usr/lib/nagios/plugins/check_nrpe")
		port := startStockNRPE(t, "/etc/vigil/nrpe.d/vigil.cfg")
		out, code := run(t, checkNRPE, "-H", "127.0.0.1", "-p", strconv.Itoa(port), "-n", "-c", "vigil_host_memory")
		if code > 2 || !strings.HasPrefix(out, "HOST ") || !strings.Contains(out, " | mem_used=") {
			t.Errorf("check_nrpe -c vigil_host_memory through the stock daemon: exit %d\n%s", code, out)
		}
		t.Logf("check_nrpe -c vigil_host_memory: exit %d: %s", code, strings.TrimSpace(out))
	})

	// An upgrade keeps an edited conffile and the user; the maintainer
	// scripts run again on a machine where everything exists.
	t.Run("upgrade", func(t *testing.T) {
		const edited = "/etc/vigil/nrpe.d/vigil.cfg"
		orig, err := os.ReadFile(edited)
		if err != nil {
			t.Fatal(err)
		}
		mine := append(orig, []byte("command[local_extra]=/usr/lib/nagios/plugins/check_vigil_host --mode swap\n")...)
		if err := os.WriteFile(edited, mine, 0o644); err != nil {
			t.Fatal(err)
		}
		next, _ := filepath.Glob(filepath.Join(buildVersion(t, "v0.0.2", nil, "deb"), "vigil_*.deb"))
		if len(next) != 1 {
			t.Fatalf("build.sh v0.0.2 made %v", next)
		}
		out := mustRun(t, "dpkg", "-i", next[0])
		if !strings.Contains(out, "Unpacking vigil (0.0.2-1) over (0.0.1-1)") {
			t.Errorf("dpkg -i of 0.0.2 did not upgrade 0.0.1:\n%s", out)
		}
		if got, _ := os.ReadFile(edited); !bytes.Equal(got, mine) {
			t.Errorf("the upgrade replaced the edited %s", edited)
		}
		out, _ = run(t, "/usr/lib/nagios/plugins/check_vigil_host", "--version")
		if out != "check_host v0.0.2 (vigil)\n" {
			t.Errorf("after the upgrade: %q", out)
		}
		if _, err := user.Lookup("vigil"); err != nil {
			t.Errorf("after the upgrade: no vigil user")
		}
	})

	// dpkg -r: programs gone, conffiles, state and user kept.
	mustRun(t, "dpkg", "-r", "vigil")
	if s := packageStatus(t); s != "deinstall ok config-files" {
		t.Errorf("after dpkg -r: status %q", s)
	}
	for _, f := range shipped {
		if isShared(f) {
			continue
		}
		// /etc/vigil holds only conffiles and their directories.
		if kept := strings.HasPrefix(f, "/etc/vigil"); kept != exists(f) {
			t.Errorf("after dpkg -r: %s exists: %v, want %v", f, exists(f), kept)
		}
	}
	if _, err := user.Lookup("vigil"); err != nil {
		t.Errorf("after dpkg -r the vigil user is gone; only a purge removes it")
	}

	// dpkg -P: nothing left.
	mustRun(t, "dpkg", "-P", "vigil")
	if s := packageStatus(t); s != "" {
		t.Errorf("after dpkg -P: status %q", s)
	}
	for _, f := range append(shipped, "/etc/vigil", "/var/lib/vigil") {
		if !isShared(f) && exists(f) {
			t.Errorf("after dpkg -P: %s is left", f)
		}
	}
	if _, err := user.Lookup("vigil"); err == nil {
		t.Errorf("after dpkg -P: the vigil user is left")
	}
	if _, err := user.LookupGroup("vigil"); err == nil {
		t.Errorf("after dpkg -P: the vigil group is left")
	}
	if g, err := user.LookupGroup("docker"); err == nil {
		if members := mustRun(t, "getent", "group", g.Name); strings.Contains(members, "vigil") {
			t.Errorf("after dpkg -P: vigil is still in the docker group: %s", members)
		}
	}
}

// shippedConffiles are the configuration files under /etc/vigil.
var shippedConffiles = []string{
	"/etc/vigil/vigil-agent.cfg",
	"/etc/vigil/nrpe.d/vigil.cfg",
	"/etc/vigil/nagios/vigil-commands.cfg",
	"/etc/vigil/icinga2/vigil-commands.conf",
}

// isShared tells the directories other packages own too.
func isShared(path string) bool {
	switch path {
	case "/etc", "/usr", "/usr/lib", "/usr/sbin", "/usr/share", "/usr/share/doc",
		"/usr/lib/nagios", "/usr/lib/nagios/plugins",
		"/usr/lib/systemd", "/usr/lib/systemd/system":
		return true
	}
	return false
}

// debFiles lists the paths a .deb installs.
func debFiles(t *testing.T, deb string) []string {
	t.Helper()
	var files []string
	out := mustRun(t, "dpkg-deb", "-c", deb)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		p := strings.TrimSuffix(strings.TrimPrefix(f[len(f)-1], "."), "/")
		if p != "" {
			files = append(files, p)
		}
	}
	return files
}

func mustArch(t *testing.T) string {
	return strings.TrimSpace(mustRun(t, "dpkg", "--print-architecture"))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// startStockNRPE runs Debian's nrpe daemon in the foreground on a free port
// of 127.0.0.1 with the given snippet included, and stops it when the test
// ends. It returns the port.
func startStockNRPE(t *testing.T, include string) int {
	t.Helper()
	port := testenv.FreePort(t)
	dir := readableTempDir(t)
	cfg := filepath.Join(dir, "nrpe.cfg")
	conf := fmt.Sprintf(`server_port=%d
server_address=127.0.0.1
allowed_hosts=127.0.0.1
nrpe_user=nagios
nrpe_group=nagios
dont_blame_nrpe=0
command_timeout=30
connection_timeout=60
log_file=%s
include=%s
`, port, filepath.Join(dir, "nrpe.log"), include)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nrpe.log"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "nrpe.log"), 0o666)
	cmd := exec.Command("/usr/sbin/nrpe", "-c", cfg, "-n", "-f")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nrpe: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitListening(t, port, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "nrpe.log"))
		return string(log)
	})
	return port
}

// startPackagedAgent runs the installed vigil-agent as the vigil user with
// the installed /etc/vigil/vigil-agent.cfg, moved to a free port of
// 127.0.0.1, and stops it (by PID) when the calling (sub)test ends, before
// the package is removed: userdel refuses a user with running processes.
func startPackagedAgent(t *testing.T) int {
	t.Helper()
	u, err := user.Lookup("vigil")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	var groups []uint32
	for _, g := range strings.Fields(mustRun(t, "id", "-G", "vigil")) {
		n, _ := strconv.Atoi(g)
		groups = append(groups, uint32(n))
	}
	port := testenv.FreePort(t)
	dir := readableTempDir(t)
	cfg := filepath.Join(dir, "agent.cfg")
	conf := fmt.Sprintf("include=/etc/vigil/vigil-agent.cfg\nserver_port=%d\nserver_address=127.0.0.1\n", port)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	cmd := exec.Command("/usr/sbin/vigil-agent", "serve", "-c", cfg)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting vigil-agent: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	waitListening(t, port, func() string { return log.String() })
	return port
}

// waitListening waits up to 10 s for a TCP listener on 127.0.0.1:port.
func waitListening(t *testing.T, port int, diag func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %d: %v\n%s", port, err, diag())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
