package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// nagios is a Nagios Core process of the test's own, in the foreground,
// every file it writes in dir.
type nagios struct {
	t   *testing.T
	dir string
	cmd *exec.Cmd
	out *bytes.Buffer
}

// nagiosService is one service of the test's object configuration.
type nagiosService struct {
	Host, Description, Command string
	Extra                      []string // more "key value" lines
}

// startNagios writes nagios.cfg (interval_length=1, so intervals are
// seconds; status.dat written every second; event handlers on), the
// resource file ($USER1$ = the test's plugin directory), the objects, and
// runs nagios4 in the foreground; it is stopped by PID when the test ends.
// cfgFiles are the shipped files included with cfg_file, unchanged.
func startNagios(t *testing.T, s *stack, hosts map[string]string, services []nagiosService, cfgFiles ...string) *nagios {
	t.Helper()
	bin := testenv.RequireCommand(t, "nagios4")
	dir := filepath.Join(s.dir, "nagios")
	mkdir(t, dir, 0o755)
	spool := filepath.Join(dir, "spool")
	mkdir(t, spool, 0o755)
	chownNagios(t, dir)
	chownNagios(t, spool)

	writeFile(t, filepath.Join(dir, "resource.cfg"), 0o644, "$USER1$="+s.pluginDir+"\n")
	var obj strings.Builder
	obj.WriteString(`define timeperiod {
    timeperiod_name 24x7
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
# Nagios requires a contact; notifications are off.
define command {
    command_name vigil_e2e_no_notification
    command_line /bin/true
}
define contact {
    contact_name                  vigil-e2e
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    vigil_e2e_no_notification
    service_notification_commands vigil_e2e_no_notification
}
`)
	for name, addr := range hosts {
		fmt.Fprintf(&obj, `define host {
    host_name             %s
    address               %s
    max_check_attempts    1
    check_period          24x7
    active_checks_enabled 0
    contacts              vigil-e2e
    notification_period   24x7
    notification_interval 0
}
`, name, addr)
	}
	for _, sv := range services {
		fmt.Fprintf(&obj, `define service {
    host_name             %s
    service_description   %s
    check_command         %s
    check_period          24x7
    contacts              vigil-e2e
    notification_period   24x7
    notification_interval 0
    notifications_enabled 0
`, sv.Host, sv.Description, sv.Command)
		extra := map[string]bool{}
		for _, e := range sv.Extra {
			extra[strings.Fields(e)[0]] = true
			fmt.Fprintf(&obj, "    %s\n", e)
		}
		// By default a service runs only when the test forces a check.
		for _, d := range []string{"max_check_attempts 1", "check_interval 3600", "retry_interval 3600", "active_checks_enabled 0"} {
			if !extra[strings.Fields(d)[0]] {
				fmt.Fprintf(&obj, "    %s\n", d)
			}
		}
		obj.WriteString("}\n")
	}
	objects := filepath.Join(dir, "objects.cfg")
	writeFile(t, objects, 0o644, obj.String())

	lines := []string{
		"log_file=" + filepath.Join(dir, "nagios.log"),
		"resource_file=" + filepath.Join(dir, "resource.cfg"),
		"status_file=" + filepath.Join(dir, "status.dat"),
		"status_update_interval=1",
		"object_cache_file=" + filepath.Join(dir, "objects.cache"),
		"precached_object_file=" + filepath.Join(dir, "objects.precache"),
		"command_file=" + filepath.Join(dir, "nagios.cmd"),
		"check_external_commands=1",
		"lock_file=" + filepath.Join(dir, "nagios.lock"),
		"query_socket=" + filepath.Join(dir, "nagios.qh"),
		"temp_file=" + filepath.Join(dir, "nagios.tmp"),
		"temp_path=" + spool,
		"check_result_path=" + spool,
		"log_archive_path=" + spool,
		"state_retention_file=" + filepath.Join(dir, "retention.dat"),
		"retain_state_information=0",
		"use_retained_program_state=0",
		"nagios_user=nagios",
		"nagios_group=nagios",
		"use_syslog=0",
		"log_rotation_method=n",
		"interval_length=1",
		"service_inter_check_delay_method=n",
		"host_inter_check_delay_method=n",
		"max_service_check_spread=1",
		"check_result_reaper_frequency=1",
		"execute_service_checks=1",
		"execute_host_checks=0",
		"enable_notifications=0",
		"enable_event_handlers=1",
		"log_event_handlers=1",
		"log_service_retries=1",
		"log_external_commands=1",
		"log_initial_states=1",
		"log_passive_checks=0",
		"service_check_timeout=60",
		// The shipped vigil_heal waits up to 90 s for the agent; its
		// comment asks for event_handler_timeout above that.
		"event_handler_timeout=120",
		"check_for_orphaned_services=0",
		"check_service_freshness=0",
		"check_for_updates=0",
		"bare_update_check=1",
		"enable_flap_detection=0",
		"soft_state_dependencies=0",
		"enable_environment_macros=0",
		"illegal_object_name_chars=`~!$%^&*|'\"<>?,()=",
		"illegal_macro_output_chars=`~$&|'\"<>",
		"date_format=iso8601",
	}
	for _, f := range append(cfgFiles, objects) {
		lines = append(lines, "cfg_file="+f)
	}
	main := filepath.Join(dir, "nagios.cfg")
	writeFile(t, main, 0o644, strings.Join(lines, "\n")+"\n")

	if out, err := exec.Command(bin, "-v", main).CombinedOutput(); err != nil {
		t.Fatalf("nagios4 -v: %v\n%s", err, out)
	}
	n := &nagios{t: t, dir: dir, out: &bytes.Buffer{}}
	n.cmd = exec.Command(bin, main)
	// Checks inherit Nagios's environment: check_kafka_lag keeps its
	// history under $TMPDIR, here the test's directory.
	// The shipped event handler runs $CHECK_NRPE: the stock check_nrpe
	// with the agent's port.
	n.cmd.Env = append(os.Environ(), "TMPDIR="+s.tmpDir("nagios"), "CHECK_NRPE="+s.checkNRPEWrapper())
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting nagios4: %v", err)
	}
	t.Cleanup(func() {
		stopProcess(n.cmd)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "nagios.log"))
			t.Logf("nagios4 output:\n%s\nnagios.log:\n%s", n.out.String(), b)
		}
	})
	waitFor(t, 30*time.Second, "nagios4 to open its command file and write status.dat", func() bool {
		fi, err := os.Stat(filepath.Join(dir, "nagios.cmd"))
		if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			return false
		}
		_, err = os.Stat(filepath.Join(dir, "status.dat"))
		return err == nil
	})
	return n
}

// command writes one external command to Nagios's command file, the way
// the CGIs and scripts do: "[time] NAME;args" on the named pipe.
func (n *nagios) command(name string, args ...string) {
	n.t.Helper()
	f, err := os.OpenFile(filepath.Join(n.dir, "nagios.cmd"), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		n.t.Fatalf("opening the command file: %v", err)
	}
	defer f.Close()
	line := fmt.Sprintf("[%d] %s;%s\n", time.Now().Unix(), name, strings.Join(args, ";"))
	if _, err := f.WriteString(line); err != nil {
		n.t.Fatalf("writing %q to the command file: %v", line, err)
	}
}

// forceCheck schedules a forced check of a service now.
func (n *nagios) forceCheck(host, service string) {
	n.command("SCHEDULE_FORCED_SVC_CHECK", host, service, strconv.FormatInt(time.Now().Unix(), 10))
}

// statusBlock is one block of status.dat: type and key=value pairs.
type statusBlock struct {
	Type   string
	Fields map[string]string
}

// parseStatus reads status.dat: "TYPE {" lines, "\tkey=value" lines up to
// "\t}". A value is everything after the first "=".
func parseStatus(data []byte) ([]statusBlock, error) {
	var blocks []statusBlock
	var cur *statusBlock
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case cur == nil && strings.HasSuffix(line, " {"):
			cur = &statusBlock{Type: strings.TrimSuffix(line, " {"), Fields: map[string]string{}}
		case cur != nil && strings.TrimSpace(line) == "}":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			k, v, ok := strings.Cut(strings.TrimLeft(line, "\t"), "=")
			if !ok {
				return nil, fmt.Errorf("status.dat line %d: %q is not key=value", n, line)
			}
			cur.Fields[k] = v
		default:
			return nil, fmt.Errorf("status.dat line %d: %q outside a block", n, line)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("status.dat: block %s not closed", cur.Type)
	}
	return blocks, sc.Err()
}

// serviceStatus returns the servicestatus blocks by "host;service", and
// the raw lines of each block (for the documentation and the report).
func (n *nagios) serviceStatus() map[string]statusBlock {
	n.t.Helper()
	data, err := os.ReadFile(filepath.Join(n.dir, "status.dat"))
	if err != nil {
		n.t.Fatalf("reading status.dat: %v", err)
	}
	blocks, err := parseStatus(data)
	if err != nil {
		// Nagios replaces the file by renaming a complete one; a parse
		// error is a real defect.
		n.t.Fatal(err)
	}
	out := map[string]statusBlock{}
	for _, b := range blocks {
		if b.Type == "servicestatus" {
			out[b.Fields["host_name"]+";"+b.Fields["service_description"]] = b
		}
	}
	return out
}

// logLine is one line of nagios.log.
type logLine struct {
	Time time.Time
	Text string
}

var logLineRE = regexp.MustCompile(`^\[(\d+)\] (.*)$`)

func (n *nagios) log() []logLine {
	n.t.Helper()
	data, err := os.ReadFile(filepath.Join(n.dir, "nagios.log"))
	if err != nil {
		n.t.Fatalf("reading nagios.log: %v", err)
	}
	var out []logLine
	for _, l := range strings.Split(string(data), "\n") {
		m := logLineRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, logLine{Time: time.Unix(sec, 0), Text: m[2]})
	}
	return out
}
