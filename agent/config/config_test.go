package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIncludesAndLastDefinitionWins(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "conf.d/b.cfg", "command[x]=/bin/echo from-b\n")
	write(t, dir, "conf.d/a.cfg", "command[x]=/bin/echo from-a\ncommand[a]=/bin/echo a\n")
	write(t, dir, "conf.d/sub/c.cfg", "command[c]=/bin/echo c\n")
	write(t, dir, "conf.d/c.txt", "command[txt]=/bin/echo never\n")
	write(t, dir, "conf.d/.hidden/h.cfg", "command[hidden]=/bin/echo never\n")
	write(t, dir, "local.cfg", "command[local]=/bin/echo local\ncommand[dup]=/bin/echo second-definition\n")
	main := write(t, dir, "nrpe.cfg", strings.Join([]string{
		"# comment",
		"  server_port = 15666  ",
		"allowed_hosts=127.0.0.1, ::1,10.0.0.0/8 ,nagios.example",
		"command[dup]=/bin/echo first-definition",
		"include=" + filepath.Join(dir, "local.cfg"),
		"include_dir=" + filepath.Join(dir, "conf.d"),
		"command_timeout=7",
		"nasty_metachars=|\\n;",
		"",
	}, "\n"))
	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerPort != 15666 || c.CommandTimeout != 7*time.Second || c.ConnectionTimeout != 300*time.Second {
		t.Errorf("port %d timeout %v conn %v", c.ServerPort, c.CommandTimeout, c.ConnectionTimeout)
	}
	if got := strings.Join(c.AllowedHosts, " "); got != "127.0.0.1 ::1 10.0.0.0/8 nagios.example" {
		t.Errorf("allowed_hosts %q", got)
	}
	if c.NastyMetachars != "|\n;" {
		t.Errorf("nasty_metachars %q", c.NastyMetachars)
	}
	want := map[string]string{
		"x":     "/bin/echo from-b", // a.cfg then b.cfg: alphabetical, last wins
		"a":     "/bin/echo a",
		"c":     "/bin/echo c",
		"local": "/bin/echo local",
		"dup":   "/bin/echo second-definition",
	}
	if len(c.Commands) != len(want) {
		t.Errorf("commands %v", c.Commands)
	}
	for name, line := range want {
		if c.Commands[name].Line != line {
			t.Errorf("command[%s] = %q, want %q", name, c.Commands[name].Line, line)
		}
	}
	if pos := c.Commands["x"].Pos; pos.File != filepath.Join(dir, "conf.d/b.cfg") || pos.Line != 1 {
		t.Errorf("command[x] defined at %v", pos)
	}
}

func TestErrorsCarryLineNumbers(t *testing.T) {
	dir := t.TempDir()
	inc := write(t, dir, "inc.cfg", "ok_line_missing_equals\n")
	main := write(t, dir, "nrpe.cfg", strings.Join([]string{
		"server_port=http",           // 1
		"dont_blame_nrpe=yes",        // 2
		"command[]=/bin/true",        // 3
		"command_timeout=-1",         // 4
		"include=" + inc,             // 5
		"include=/nonexistent/x.cfg", // 6
		"ssl_client_certs=2",         // 7
		"vigil_allow_plaintext=1",
	}, "\n"))
	_, err := Load(main)
	if err == nil {
		t.Fatal("no error")
	}
	text := err.Error()
	for _, want := range []string{
		main + `:1: server_port: "http" is not a number`,
		main + `:2: dont_blame_nrpe: "yes" is not 0 or 1`,
		main + `:3: bad command definition "command[]"`,
		main + `:4: command_timeout: -1 is outside 1..604800`,
		inc + `:1: line "ok_line_missing_equals" is not key=value`,
		main + `:6: reading included file: open /nonexistent/x.cfg: no such file or directory`,
		"ssl_client_certs=2 requires ssl_cacert_file",
		"vigil_allow_plaintext=1 would let plaintext clients past ssl_client_certs",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Error("errors are not *Error")
	}
}

func TestUnknownOptionsWarnedOnceByName(t *testing.T) {
	dir := t.TempDir()
	main := write(t, dir, "nrpe.cfg", "frobnicate=1\nfrobnicate=2\nssl_cipher_list=ALL\nssl_use_adh=1\nssl_use_adh=2\n")
	c, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 3 {
		t.Fatalf("warnings %q", c.Warnings)
	}
	if !strings.HasPrefix(c.Warnings[0], "frobnicate: unknown option") {
		t.Errorf("first warning %q", c.Warnings[0])
	}
}

func TestIncludeLoop(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.cfg")
	write(t, dir, "a.cfg", "include="+a+"\n")
	if _, err := Load(a); err == nil || !strings.Contains(err.Error(), "includes itself") {
		t.Errorf("error %v", err)
	}
}

// Debian's /etc/nagios/nrpe.cfg, unmodified, loads without error and
// defines its sample commands.
func TestDebianConfig(t *testing.T) {
	const debian = "/etc/nagios/nrpe.cfg"
	if _, err := os.Stat(debian); err != nil {
		t.Skip("nagios-nrpe-server not installed")
	}
	c, err := Load(debian)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"check_users", "check_load", "check_hda1", "check_zombie_procs", "check_total_procs"} {
		if _, ok := c.Commands[name]; !ok {
			t.Errorf("command[%s] missing", name)
		}
	}
	if strings.Join(c.AllowedHosts, ",") != "127.0.0.1,::1" || c.NrpeUser != "nagios" || c.DontBlameNRPE {
		t.Errorf("allowed_hosts %v user %q dont_blame %v", c.AllowedHosts, c.NrpeUser, c.DontBlameNRPE)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings on the stock file: %q", c.Warnings)
	}
}
