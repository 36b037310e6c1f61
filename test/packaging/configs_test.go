// Package packaging holds the validation tests of what vigil ships: the
// Nagios, Icinga 2 and nrpe.cfg configurations under configs/ against the
// real Nagios Core, Icinga 2 and nrpe daemons and against the plugins' own
// flags, the .deb through dpkg, the systemd unit through systemd-analyze and
// the container image through the Docker engine.
package packaging

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// installedName is the name a plugin is installed under. monitoring-plugins
// already owns /usr/lib/nagios/plugins/check_host (a link to check_icmp).
func installedName(program string) string {
	if program == "check_host" {
		return "check_vigil_host"
	}
	return program
}

// programName reverses installedName.
func programName(installed string) string {
	if installed == "check_vigil_host" {
		return "check_host"
	}
	return installed
}

// treePlugins lists the plugin programs in this tree (plugins/cmd/check_*).
func treePlugins(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "plugins", "cmd", "check_*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no plugins under plugins/cmd (%v)", err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(d))
	}
	sort.Strings(names)
	return names
}

// pluginDir builds every plugin of the tree into one directory under its
// installed name, standing in for /usr/lib/nagios/plugins.
func pluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, prog := range treePlugins(t) {
		bin := testenv.Build(t, "plugins/cmd/"+prog)
		if err := os.Symlink(bin, filepath.Join(dir, installedName(prog))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// requirePlugin fails under CI, and skips locally, when a configuration
// names a plugin this tree does not have yet.
func requirePlugin(t *testing.T, dir, installed string) {
	t.Helper()
	_, err := os.Stat(filepath.Join(dir, installed))
	testenv.Require(t, err == nil, fmt.Sprintf("plugin %s (plugins/cmd/%s) named by the shipped configs", installed, programName(installed)))
}

func configPath(parts ...string) string {
	return filepath.Join(append([]string{testenv.RepoRoot(), "configs"}, parts...)...)
}

// nagiosObject is one `define TYPE { key value ... }` block.
type nagiosObject struct {
	Type  string
	Attrs map[string]string
	Line  int
}

// parseNagiosObjects reads the object definitions of a Nagios file, as
// Nagios does: '#' and ';' start comments, a value is the rest of the line.
func parseNagiosObjects(t *testing.T, path string) []nagiosObject {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		objs []nagiosObject
		cur  *nagiosObject
		n    int
	)
	define := regexp.MustCompile(`^define\s+(\w+)\s*\{$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if m := define.FindStringSubmatch(line); m != nil {
			cur = &nagiosObject{Type: m[1], Attrs: map[string]string{}, Line: n}
			continue
		}
		if line == "}" {
			if cur == nil {
				t.Fatalf("%s:%d: } outside a definition", path, n)
			}
			objs = append(objs, *cur)
			cur = nil
			continue
		}
		if cur == nil {
			t.Fatalf("%s:%d: %q outside a definition", path, n, line)
		}
		key := strings.Fields(line)[0]
		cur.Attrs[key] = strings.TrimSpace(strings.TrimPrefix(line, key))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return objs
}

// nagiosCommands maps command_name to command_line.
func nagiosCommands(t *testing.T) map[string]string {
	t.Helper()
	cmds := map[string]string{}
	for _, o := range parseNagiosObjects(t, configPath("nagios", "vigil-commands.cfg")) {
		if o.Type != "command" {
			t.Fatalf("vigil-commands.cfg:%d: a %s definition in the commands file", o.Line, o.Type)
		}
		cmds[o.Attrs["command_name"]] = o.Attrs["command_line"]
	}
	return cmds
}

var nagiosArg = regexp.MustCompile(`\$ARG(\d+)\$`)

// expandNagios expands a command line the way Nagios does for a service
// with check_command NAME!ARG1!ARG2...: $USER1$, $HOSTADDRESS$, $ARGn$
// (empty when not given).
func expandNagios(line, user1 string, args []string) string {
	line = strings.ReplaceAll(line, "$USER1$", user1)
	line = strings.ReplaceAll(line, "$HOSTADDRESS$", "127.0.0.1")
	return nagiosArg.ReplaceAllStringFunc(line, func(m string) string {
		var n int
		fmt.Sscanf(m, "$ARG%d$", &n)
		if n <= len(args) {
			return args[n-1]
		}
		return ""
	})
}

// nrpeCommands maps the names of configs/nrpe/vigil.cfg to their lines.
func nrpeCommands(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(configPath("nrpe", "vigil.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^command\[([^\]]+)\]=(.+)$`)
	cmds := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("nrpe/vigil.cfg:%d: not a command[...] line: %q", i+1, line)
		}
		if _, dup := cmds[m[1]]; dup {
			t.Fatalf("nrpe/vigil.cfg:%d: command[%s] defined twice", i+1, m[1])
		}
		cmds[m[1]] = m[2]
	}
	return cmds
}

// parsesFlags runs a plugin command line through /bin/sh, as Nagios and the
// stock nrpe daemon do, with --help appended: a plugin that knows every
// flag (and can parse every value) prints its help and exits 3; one that
// does not prints "UNKNOWN - unknown flag ...". It returns the help.
func parsesFlags(t *testing.T, line string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", line+" --help")
	out, err := cmd.Output()
	code := cmd.ProcessState.ExitCode()
	prog := programName(filepath.Base(strings.Fields(line)[0]))
	if code != 3 || !strings.HasPrefix(string(out), prog+" ") || !strings.Contains(string(out), "\nUsage: ") {
		t.Errorf("%s --help: exit %d (%v), want the help and exit 3; output:\n%s", line, code, err, out)
	}
	return string(out)
}

var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[a-z0-9][a-z0-9-]*)[ \[\n]`)

// helpFlags lists the long options a plugin's --help shows.
func helpFlags(t *testing.T, bin string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "--help").Output()
	flags := map[string]bool{}
	for _, m := range helpFlag.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if len(flags) == 0 {
		t.Fatalf("%s --help lists no options:\n%s", bin, out)
	}
	return flags
}

// TestNRPESnippetMatchesPlugins runs every command line of the shipped
// nrpe.cfg snippet with --help, through the shell as the stock daemon does:
// each must name an installed plugin path and only flags the plugin has.
// Every plugin of the tree must have at least one command.
func TestNRPESnippetMatchesPlugins(t *testing.T) {
	dir := pluginDir(t)
	const installDir = "/usr/lib/nagios/plugins/"
	used := map[string]bool{}
	for name, line := range nrpeCommands(t) {
		t.Run(name, func(t *testing.T) {
			if !strings.HasPrefix(name, "vigil_") {
				t.Errorf("command[%s]: vigil's NRPE commands are named vigil_*", name)
			}
			if !strings.HasPrefix(line, installDir) {
				t.Fatalf("command[%s]: %q does not start with %s: NRPE has no $USER1$", name, line, installDir)
			}
			if strings.Contains(line, "$ARG") || strings.ContainsAny(line, "|`&><'\"\\;") {
				t.Errorf("command[%s]: arguments and shell characters stay out of the shipped snippet: %q", name, line)
			}
			installed := strings.Fields(strings.TrimPrefix(line, installDir))[0]
			used[installed] = true
			requirePlugin(t, dir, installed)
			parsesFlags(t, dir+"/"+strings.TrimPrefix(line, installDir))
		})
	}
	for _, prog := range treePlugins(t) {
		if !used[installedName(prog)] {
			t.Errorf("configs/nrpe/vigil.cfg has no command for %s", prog)
		}
	}
}

// readableTempDir is a t.TempDir that the nagios user can read: nagios4 and
// icinga2, started as root, drop their privileges before reading objects.
func readableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
