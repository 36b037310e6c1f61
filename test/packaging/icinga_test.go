package packaging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// icingaObject is one object of the debug object file `icinga2 daemon -C`
// writes (CacheDir/icinga2.debug): what the configuration evaluated to.
type icingaObject struct {
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties"`
}

// readIcingaObjects parses icinga2.debug: netstrings ("LEN:JSON,").
func readIcingaObjects(t *testing.T, path string) []icingaObject {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []icingaObject
	for len(data) > 0 {
		colon := bytes.IndexByte(data, ':')
		if colon < 0 {
			t.Fatalf("%s: truncated netstring", path)
		}
		n, err := strconv.Atoi(string(data[:colon]))
		if err != nil || colon+1+n >= len(data) || data[colon+1+n] != ',' {
			t.Fatalf("%s: bad netstring length %q", path, data[:colon])
		}
		var o icingaObject
		if err := json.Unmarshal(data[colon+1:colon+1+n], &o); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		objs = append(objs, o)
		data = data[colon+1+n+1:]
	}
	return objs
}

// validateIcinga runs `icinga2 daemon -C` on a configuration in a temporary
// directory and returns the objects it evaluated. The --define'd CacheDir,
// DataDir and ConfigDir keep it away from /var/cache/icinga2 and the rest of
// the installed instance's state; ICINGA2_USER/GROUP keep it from dropping
// to the nagios user, which could not read the temporary directory.
func validateIcinga(t *testing.T, files ...string) []icingaObject {
	t.Helper()
	icinga := testenv.RequireCommand(t, "icinga2")
	testenv.RequireFile(t, "/usr/share/icinga2/include/command-plugins.conf")
	dir := t.TempDir()
	for _, d := range []string{"cache", "data", "etc"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var conf strings.Builder
	// Debian's constants.conf, and what conf.d/templates.conf relies on.
	conf.WriteString(`const PluginDir = "/usr/lib/nagios/plugins"
const PluginContribDir = "/usr/lib/nagios/plugins"
const ManubulonPluginDir = "/usr/lib/nagios/plugins"
const NodeName = "vigil-test"
const ZoneName = NodeName
const TicketSalt = ""
include <itl>
include <plugins>
include <plugins-contrib>
include <manubulon>
include <windows-plugins>
include <nscp>
`)
	for _, f := range files {
		fmt.Fprintf(&conf, "include %q\n", f)
	}
	main := filepath.Join(dir, "icinga2.conf")
	if err := os.WriteFile(main, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	group, err := user.LookupGroupId(me.Gid)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, icinga, "daemon", "-C", "-c", main,
		"--define", "CacheDir="+filepath.Join(dir, "cache"),
		"--define", "DataDir="+filepath.Join(dir, "data"),
		"--define", "ConfigDir="+filepath.Join(dir, "etc"))
	cmd.Env = append(os.Environ(), "ICINGA2_USER="+me.Username, "ICINGA2_GROUP="+group.Name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("icinga2 daemon -C: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Finished validating the configuration file(s).") {
		t.Fatalf("icinga2 daemon -C did not finish validating:\n%s", out)
	}
	if w := regexp.MustCompile(`(?m)^.*(warning|critical)/.*$`).FindAllString(string(out), -1); len(w) > 0 {
		t.Errorf("icinga2 daemon -C warned:\n%s", strings.Join(w, "\n"))
	}
	return readIcingaObjects(t, filepath.Join(dir, "cache", "icinga2.debug"))
}

// icingaPluginCommands maps each vigil CheckCommand (and EventCommand) to
// the program it runs and its argument keys, as evaluated by Icinga.
type icingaCommand struct {
	Type    string
	Program string
	Keys    []string
	Vars    map[string]any
}

func icingaCommands(objs []icingaObject) map[string]icingaCommand {
	cmds := map[string]icingaCommand{}
	for _, o := range objs {
		if (o.Type != "CheckCommand" && o.Type != "EventCommand") || !strings.HasPrefix(o.Name, "vigil_") {
			continue
		}
		c := icingaCommand{Type: o.Type}
		if argv, ok := o.Properties["command"].([]any); ok && len(argv) > 0 {
			c.Program, _ = argv[0].(string)
		}
		if args, ok := o.Properties["arguments"].(map[string]any); ok {
			for k := range args {
				c.Keys = append(c.Keys, k)
			}
		}
		c.Vars, _ = o.Properties["vars"].(map[string]any)
		cmds[o.Name] = c
	}
	return cmds
}

// TestIcingaAcceptsShippedConfig validates the shipped CheckCommands and
// the example services with the real Icinga 2 and checks what they
// evaluated to: each service's command, NRPE command and event command.
func TestIcingaAcceptsShippedConfig(t *testing.T) {
	objs := validateIcinga(t,
		"/etc/icinga2/conf.d/templates.conf",
		configPath("icinga2", "vigil-commands.conf"),
		configPath("icinga2", "vigil-services.conf.example"))

	services := map[string]map[string]any{}
	for _, o := range objs {
		if o.Type == "Service" {
			full, _ := o.Properties["__name"].(string) // host!service
			services[full] = o.Properties
		}
	}
	nrpe := nrpeCommands(t)
	cmds := icingaCommands(objs)
	want := map[string][2]string{ // service: check_command, vars.nrpe_command
		"ml-node-01!vigil-host-load":          {"vigil_nrpe", "vigil_host_load"},
		"ml-node-01!vigil-host-memory":        {"vigil_nrpe", "vigil_host_memory"},
		"ml-node-01!vigil-host-disk":          {"vigil_nrpe", "vigil_host_disk"},
		"ml-node-01!container-model-api":      {"vigil_nrpe", "vigil_container_model_api"},
		"ml-node-01!prediction-drift-agent":   {"vigil_nrpe", "vigil_drift"},
		"ml-node-01!model-latency-iris":       {"vigil_model_latency", ""},
		"ml-node-01!model-latency-p99-triton": {"vigil_model_latency", ""},
		"ml-node-01!container-local-scorer":   {"vigil_container", ""},
		"ml-node-01!prediction-drift":         {"vigil_drift", ""},
		"ml-node-01!kafka-lag-predictions":    {"vigil_kafka_lag", ""},
	}
	for name, w := range want {
		p, ok := services[name]
		if !ok {
			t.Errorf("service %s was not created", name)
			continue
		}
		if p["check_command"] != w[0] {
			t.Errorf("%s: check_command %v, want %s", name, p["check_command"], w[0])
		}
		if _, ok := cmds[w[0]]; !ok {
			t.Errorf("%s: %s is not one of vigil's commands", name, w[0])
		}
		vars, _ := p["vars"].(map[string]any)
		if got, _ := vars["nrpe_command"].(string); got != w[1] {
			t.Errorf("%s: vars.nrpe_command %q, want %q", name, got, w[1])
		} else if got != "" {
			if _, ok := nrpe[got]; !ok {
				t.Errorf("%s asks NRPE for %s, which configs/nrpe/vigil.cfg does not define", name, got)
			}
		}
	}
	if len(services) != len(want) {
		t.Errorf("%d services, want %d", len(services), len(want))
	}
	if ev := services["ml-node-01!container-model-api"]["event_command"]; ev != "vigil_heal" {
		t.Errorf("container-model-api: event_command %v, want vigil_heal", ev)
	}
	if c := cmds["vigil_heal"]; c.Type != "EventCommand" || c.Program != "/usr/lib/nagios/plugins/vigil-heal-event-handler" {
		t.Errorf("vigil_heal: %+v", c)
	}
	if c := cmds["vigil_nrpe"]; c.Program != "/usr/lib/nagios/plugins/check_nrpe" || c.Vars["nrpe_timeout"] != float64(30) {
		t.Errorf("vigil_nrpe does not extend the ITL's nrpe with a 30 s timeout: %+v", c)
	}
}

// TestIcingaCommandsMatchPlugins checks every argument of every vigil
// CheckCommand against the options the plugin's --help lists, ITL naming
// (no check_ prefix, vars <command>_<option>) and that every plugin of the
// tree has a CheckCommand.
func TestIcingaCommandsMatchPlugins(t *testing.T) {
	objs := validateIcinga(t, configPath("icinga2", "vigil-commands.conf"))
	dir := pluginDir(t)
	covered := map[string]bool{}
	varRef := regexp.MustCompile(`^\$([a-z0-9_]+)\$$`)
	for name, c := range icingaCommands(objs) {
		if c.Type != "CheckCommand" || name == "vigil_nrpe" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			installed := strings.TrimPrefix(c.Program, "/usr/lib/nagios/plugins/")
			if installed == c.Program {
				t.Fatalf("%s runs %q, not a program of PluginDir", name, c.Program)
			}
			covered[installed] = true
			if want := "vigil_" + strings.TrimPrefix(programName(installed), "check_"); want != name {
				t.Errorf("CheckCommand %s runs %s; ITL style names it %s", name, installed, want)
			}
			requirePlugin(t, dir, installed)
			flags := helpFlags(t, filepath.Join(dir, installed))
			args := objectArguments(t, objs, name)
			for key, spec := range args {
				if !flags[key] {
					t.Errorf("%s: argument %s is not an option of %s", name, key, installed)
				}
				ref, _ := spec["value"].(string)
				if ref == "" {
					ref, _ = spec["set_if"].(string)
				}
				m := varRef.FindStringSubmatch(ref)
				if m == nil || !strings.HasPrefix(m[1], name+"_") {
					t.Errorf("%s: argument %s takes %q; ITL style is $%s_<option>$", name, key, ref, name)
				}
				if d, _ := spec["description"].(string); d == "" {
					t.Errorf("%s: argument %s has no description", name, key)
				}
			}
		})
	}
	for _, prog := range treePlugins(t) {
		if !covered[installedName(prog)] {
			t.Errorf("no Icinga CheckCommand runs %s", prog)
		}
	}
}

// objectArguments returns the evaluated arguments dictionary of a command.
func objectArguments(t *testing.T, objs []icingaObject, name string) map[string]map[string]any {
	t.Helper()
	for _, o := range objs {
		if o.Name != name || o.Type != "CheckCommand" {
			continue
		}
		out := map[string]map[string]any{}
		args, _ := o.Properties["arguments"].(map[string]any)
		for k, v := range args {
			spec, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s: argument %s is %T, want a dictionary", name, k, v)
			}
			out[k] = spec
		}
		return out
	}
	t.Fatalf("no CheckCommand %s", name)
	return nil
}
