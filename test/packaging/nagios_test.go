package packaging

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// debianNagiosMain is the nagios.cfg the Debian package installs.
const debianNagiosMain = "/etc/nagios4/nagios.cfg"

// everyCommandServices writes one service per vigil command on host
// vigil-test, so that Nagios resolves each of them.
func everyCommandServices(t *testing.T, dir string, cmds map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("define host {\n    use linux-server\n    host_name vigil-test\n    address 127.0.0.1\n}\n")
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		check := name
		if name == "vigil_heal" {
			check = "vigil_nrpe!vigil_host_load"
		}
		fmt.Fprintf(&b, "define service {\n    use generic-service\n    host_name vigil-test\n    service_description %s\n    check_command %s\n", name, check)
		if name == "vigil_heal" {
			b.WriteString("    event_handler vigil_heal!model_api\n")
		}
		b.WriteString("}\n")
	}
	path := filepath.Join(dir, "every-command.cfg")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// debianNagiosConfig is Debian's /etc/nagios4/nagios.cfg with every file
// and directory Nagios writes moved into dir, and the given cfg_file lines
// appended: what an administrator gets by adding those lines, without
// touching the installed instance's state.
func debianNagiosConfig(t *testing.T, dir string, cfgFiles ...string) string {
	t.Helper()
	data, err := os.ReadFile(debianNagiosMain)
	if err != nil {
		t.Fatal(err)
	}
	// Nagios checks that its user can write these; they stay empty.
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(spool, 0o1777); err != nil {
		t.Fatal(err)
	}
	moved := map[string]string{
		"log_file":              filepath.Join(dir, "nagios.log"),
		"object_cache_file":     filepath.Join(dir, "objects.cache"),
		"precached_object_file": filepath.Join(dir, "objects.precache"),
		"status_file":           filepath.Join(dir, "status.dat"),
		"command_file":          filepath.Join(dir, "nagios.cmd"),
		"lock_file":             filepath.Join(dir, "nagios.lock"),
		"temp_file":             filepath.Join(dir, "nagios.tmp"),
		"temp_path":             spool,
		"check_result_path":     spool,
		"state_retention_file":  filepath.Join(dir, "retention.dat"),
		"log_archive_path":      spool,
		"debug_file":            filepath.Join(dir, "nagios.debug"),
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		key, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if p, ok := moved[key]; ok {
			line = key + "=" + p
		}
		out = append(out, line)
	}
	for _, f := range cfgFiles {
		out = append(out, "cfg_file="+f)
	}
	main := filepath.Join(dir, "nagios.cfg")
	if err := os.WriteFile(main, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return main
}

// nagiosVerify runs the pre-flight check and requires a clean result.
func nagiosVerify(t *testing.T, main string) string {
	t.Helper()
	nagios := testenv.RequireCommand(t, "nagios4")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, nagios, "-v", main).CombinedOutput()
	if err != nil {
		t.Fatalf("nagios4 -v: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Things look okay - No serious problems were detected during the pre-flight check",
		"Total Warnings: 0",
		"Total Errors:   0",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("nagios4 -v output lacks %q:\n%s", want, out)
		}
	}
	return string(out)
}

// TestNagiosAcceptsShippedConfig runs Debian's Nagios Core pre-flight check
// (nagios4 -v) on Debian's own nagios.cfg (its object files, the
// monitoring-plugins command definitions, its illegal_object_name_chars)
// plus the shipped command definitions, the shipped example services and a
// service using every shipped command.
func TestNagiosAcceptsShippedConfig(t *testing.T) {
	testenv.RequireCommand(t, "nagios4")
	testenv.RequireFile(t, debianNagiosMain)
	dir := readableTempDir(t)
	main := debianNagiosConfig(t, dir,
		configPath("nagios", "vigil-commands.cfg"),
		configPath("nagios", "vigil-services.cfg.example"),
		everyCommandServices(t, dir, nagiosCommands(t)))
	out := nagiosVerify(t, main)
	if !strings.Contains(out, "Checked 4 hosts.") {
		t.Errorf("nagios4 -v did not read the four hosts (localhost, the examples' two, vigil-test):\n%s", out)
	}
}

// TestNagiosCommandsMatchPlugins expands every check_command of the shipped
// example services as Nagios would ($USER1$, $HOSTADDRESS$, $ARGn$) and runs
// it with --help through the shell: the plugin must exist under its
// installed name and know every flag and value the command passes. Every
// direct command must be used by an example, every plugin of the tree by a
// command.
func TestNagiosCommandsMatchPlugins(t *testing.T) {
	dir := pluginDir(t)
	cmds := nagiosCommands(t)
	examples := parseNagiosObjects(t, configPath("nagios", "vigil-services.cfg.example"))

	exercised := map[string]bool{}
	plugins := map[string]bool{}
	for _, o := range examples {
		if o.Type != "service" {
			continue
		}
		parts := strings.Split(o.Attrs["check_command"], "!")
		name, args := parts[0], parts[1:]
		line, ok := cmds[name]
		if !ok {
			t.Errorf("example service %q uses %s, which vigil-commands.cfg does not define", o.Attrs["service_description"], name)
			continue
		}
		exercised[name] = true
		if h := o.Attrs["event_handler"]; h != "" {
			exercised[strings.Split(h, "!")[0]] = true
		}
		if name == "vigil_nrpe" {
			if len(args) != 1 {
				t.Errorf("example service %q: vigil_nrpe takes the NRPE command, got %q", o.Attrs["service_description"], args)
			} else if _, ok := nrpeCommands(t)[args[0]]; !ok {
				t.Errorf("example service %q asks NRPE for %s, which configs/nrpe/vigil.cfg does not define", o.Attrs["service_description"], args[0])
			}
			continue
		}
		t.Run(o.Attrs["service_description"], func(t *testing.T) {
			expanded := expandNagios(line, dir, args)
			installed := filepath.Base(strings.Fields(expanded)[0])
			plugins[installed] = true
			requirePlugin(t, dir, installed)
			parsesFlags(t, expanded)
		})
	}
	for name, line := range cmds {
		if !exercised[name] {
			t.Errorf("command %s is used by no example service in vigil-services.cfg.example", name)
		}
		if !strings.HasPrefix(line, "$USER1$/") {
			t.Errorf("command %s: %q does not run a program from $USER1$", name, line)
		}
	}
	for _, prog := range treePlugins(t) {
		if !plugins[installedName(prog)] {
			t.Errorf("no Nagios command runs %s", prog)
		}
	}
}
