package packaging

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// TestRPMContents reads the .rpm back with rpm(8): the same files as the
// .deb, the configuration marked %config(noreplace), the maintainer scripts.
func TestRPMContents(t *testing.T) {
	rpm := testenv.RequireCommand(t, "rpm")
	dist := buildPackages(t, "rpm")
	rpms, _ := filepath.Glob(filepath.Join(dist, "vigil-*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("build.sh made %v, want one vigil-*.rpm", rpms)
	}
	files := strings.Fields(mustRun(t, rpm, "-qp", "--list", rpms[0]))
	for _, prog := range treePlugins(t) {
		if p := "/usr/lib/nagios/plugins/" + installedName(prog); !contains(files, p) {
			t.Errorf("the rpm lacks %s:\n%s", p, strings.Join(files, "\n"))
		}
	}
	if !contains(files, "/usr/sbin/vigil-agent") {
		t.Errorf("the rpm lacks /usr/sbin/vigil-agent")
	}
	config := strings.Fields(mustRun(t, rpm, "-qp", "--configfiles", rpms[0]))
	for _, f := range shippedConffiles {
		if !contains(config, f) {
			t.Errorf("%s is not a %%config file of the rpm: %v", f, config)
		}
	}
	// %config(noreplace): the fileflags carry RPMFILE_NOREPLACE (1<<4).
	flags := mustRun(t, rpm, "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", rpms[0])
	for _, line := range strings.Split(flags, "\n") {
		if f := strings.Fields(line); len(f) == 2 && contains(shippedConffiles, f[0]) && !strings.Contains(f[1], "n") {
			t.Errorf("%s is not noreplace: %s", f[0], line)
		}
	}
	scripts := mustRun(t, rpm, "-qp", "--scripts", rpms[0])
	for _, want := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet", "useradd --system"} {
		if !strings.Contains(scripts, want) {
			t.Errorf("rpm scripts lack %q:\n%s", want, scripts)
		}
	}
	if req := mustRun(t, rpm, "-qp", "--requires", rpms[0]); !strings.Contains(req, "shadow-utils") {
		t.Errorf("rpm does not require shadow-utils (useradd):\n%s", req)
	}
}

// TestPackagesAreReproducible builds the packages twice: with the commit's
// time as SOURCE_DATE_EPOCH, static binaries and -trimpath, both builds must
// be byte-identical.
func TestPackagesAreReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the packages twice")
	}
	// Without git, build.sh falls back to the current time.
	err := exec.Command("git", "-C", testenv.RepoRoot(), "log", "-1", "--format=%ct").Run()
	testenv.Require(t, err == nil || os.Getenv("SOURCE_DATE_EPOCH") != "", "a git checkout (build.sh dates the files by the last commit) or SOURCE_DATE_EPOCH")
	first, second := buildPackages(t, "deb", "rpm"), buildPackages(t, "deb", "rpm")
	pkgs, _ := filepath.Glob(filepath.Join(first, "vigil*.*"))
	if len(pkgs) != 2 {
		t.Fatalf("build.sh made %v, want a .deb and an .rpm", pkgs)
	}
	for _, p := range pkgs {
		a, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(second, filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of the same tree", filepath.Base(p))
		}
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the shipped unit:
// an unknown or misspelt directive, a bad value or a wrong section is
// reported there. The unit's ExecStart program is pointed at an existing
// binary, since the agent is not installed on the test machine.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := testenv.RequireCommand(t, "systemd-analyze")
	unit, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "packaging", "vigil-agent.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nUser=vigil\n", "\nNoNewPrivileges=yes\n", "\nProtectSystem=strict\n",
		"\nReadWritePaths=/var/lib/vigil\n", "\nCapabilityBoundingSet=\n",
		"\nExecStart=/usr/sbin/vigil-agent serve -c /etc/vigil/vigil-agent.cfg\n",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("vigil-agent.service lacks %q", strings.TrimSpace(want))
		}
	}
	dir := t.TempDir()
	stand := testenv.Build(t, "agent/cmd/vigil-agent")
	unit = bytes.ReplaceAll(unit, []byte("/usr/sbin/vigil-agent"), []byte(stand))
	path := filepath.Join(dir, "vigil-agent.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze, "verify", path)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
