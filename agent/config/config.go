// Package config reads nrpe.cfg, the stock NRPE daemon's configuration
// format, plus vigil-agent's own vigil_* settings in the same file.
//
// The syntax is the stock daemon's: key=value lines, whitespace around both
// trimmed, '#' comments, command[NAME]=LINE (the last definition of a name
// wins), include=FILE (alias include_file) and include_dir=DIR (every *.cfg
// regular file below DIR, recursively, alphabetically, hidden directories
// skipped). An option vigil-agent does not implement is reported once, by
// name, as a warning; a value that does not parse is an error carrying its
// file and line.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultNastyMetachars is the stock daemon's default set: the characters
// a request may not contain (checked over the whole request).
const DefaultNastyMetachars = "|`&><'\\[]{};\r\n"

// Command is one command[NAME]=LINE definition.
type Command struct {
	Name string
	Line string
	Pos  Pos // where it was defined (the last definition)
}

// Watch is one watch[NAME]=VALUE line, handed to agent/heal as is.
type Watch struct {
	Name  string
	Value string
	Pos   Pos
}

// Pos is a place in a config file.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// ClientCerts is ssl_client_certs: whether a TLS client must present a
// certificate.
type ClientCerts int

// The ssl_client_certs values.
const (
	ClientCertsNone    ClientCerts = 0 // don't ask
	ClientCertsAsk     ClientCerts = 1 // ask, verify if given
	ClientCertsRequire ClientCerts = 2 // require and verify
)

// Config is a parsed nrpe.cfg.
type Config struct {
	File string // the top-level file

	ServerAddress                string
	ServerPort                   int
	AllowedHosts                 []string // raw entries; nil = everyone
	DontBlameNRPE                bool
	NastyMetachars               string
	AllowBashCommandSubstitution bool
	CommandPrefix                string
	CommandTimeout               time.Duration
	ConnectionTimeout            time.Duration
	Commands                     map[string]Command
	Debug                        bool
	LogFacility                  string
	LogFile                      string
	DisableSyslog                bool
	PidFile                      string
	NrpeUser                     string
	NrpeGroup                    string
	KeepEnvVars                  []string
	ListenQueueSize              int

	SSLEnabled     bool // ssl_enabled (nrpe 4.2); serve -n turns it off
	SSLCertFile    string
	SSLKeyFile     string
	SSLCACertFile  string
	SSLClientCerts ClientCerts
	SSLVersion     string
	SSLLogging     int

	// vigil-agent's own settings.
	InProcess           bool          // vigil_inprocess: run vigil's own plugins in-process
	MaxConnections      int           // vigil_max_connections
	MaxConcurrentChecks int           // max_concurrent_checks / vigil_max_concurrent_checks
	TLSDir              string        // vigil_tls_dir: where the self-signed pair is generated
	AllowPlaintext      bool          // vigil_allow_plaintext: accept -n clients on the TLS port too
	MaxOutput           int           // vigil_max_output: bytes of plugin output kept
	LogTarget           string        // vigil_log: stderr, syslog or file (default: file if log_file, else stderr)
	ShutdownTimeout     time.Duration // vigil_shutdown_timeout

	// Watches are the watch[NAME]=... recovery rules, raw, in file order;
	// agent/heal parses them (heal.ParseRules).
	Watches []Watch
	// HealStateDir is vigil_heal_state_dir: the recovery state, lock and
	// audit log.
	HealStateDir string

	// Warnings lists each option given but not implemented, once per name,
	// and other things worth an administrator's eye.
	Warnings []string
}

// Defaults returns the configuration an empty file gives.
func Defaults() *Config {
	return &Config{
		ServerPort:          5666,
		NastyMetachars:      DefaultNastyMetachars,
		CommandTimeout:      60 * time.Second,
		ConnectionTimeout:   300 * time.Second,
		Commands:            map[string]Command{},
		LogFacility:         "daemon",
		ListenQueueSize:     5,
		SSLEnabled:          true,
		InProcess:           true,
		MaxConnections:      1024,
		MaxConcurrentChecks: 64,
		TLSDir:              "/var/lib/vigil-agent",
		MaxOutput:           65535,
		ShutdownTimeout:     30 * time.Second,
		HealStateDir:        "/var/lib/vigil/heal",
	}
}

// Error is a problem at a place in a config file.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Load reads a config file with its includes. All errors are returned
// together (errors.Join of *Error), so check-config can list every one; a
// Config is returned even with errors, holding what did parse.
func Load(file string) (*Config, error) {
	c := Defaults()
	c.File = file
	p := &parser{cfg: c, warned: map[string]bool{}, seen: map[string]bool{}}
	if err := p.file(file, Pos{}, 0); err != nil {
		p.errs = append(p.errs, err)
	}
	p.finish()
	return c, errors.Join(p.errs...)
}

type parser struct {
	cfg    *Config
	errs   []error
	warned map[string]bool
	seen   map[string]bool // files being read, against include loops
}

const maxIncludeDepth = 16

func (p *parser) warnOnce(key, msg string) {
	if p.warned[key] {
		return
	}
	p.warned[key] = true
	p.cfg.Warnings = append(p.cfg.Warnings, msg)
}

func (p *parser) file(name string, from Pos, depth int) error {
	if depth > maxIncludeDepth {
		return &Error{from, fmt.Sprintf("includes nested deeper than %d levels at %s", maxIncludeDepth, name)}
	}
	abs, _ := filepath.Abs(name)
	if p.seen[abs] {
		return &Error{from, fmt.Sprintf("%s includes itself", name)}
	}
	p.seen[abs] = true
	defer delete(p.seen, abs)
	b, err := readConfig(name)
	if err != nil {
		if from.File == "" {
			return fmt.Errorf("reading config: %w", err)
		}
		return &Error{from, fmt.Sprintf("reading included file: %v", err)}
	}
	for i, line := range strings.Split(string(b), "\n") {
		p.line(strings.TrimRight(line, "\r"), Pos{name, i + 1}, depth)
	}
	return nil
}

func (p *parser) line(raw string, pos Pos, depth int) {
	line := strings.TrimSpace(raw)
	if line == "" || line[0] == '#' {
		return
	}
	key, value, ok := strings.Cut(line, "=")
	if !ok {
		p.errs = append(p.errs, &Error{pos, fmt.Sprintf("line %q is not key=value", line)})
		return
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if strings.HasPrefix(key, "command[") {
		name, ok := strings.CutSuffix(strings.TrimPrefix(key, "command["), "]")
		if !ok || name == "" || strings.ContainsAny(name, "[]!") {
			p.errs = append(p.errs, &Error{pos, fmt.Sprintf("bad command definition %q (want command[NAME]=LINE)", key)})
			return
		}
		if value == "" {
			p.errs = append(p.errs, &Error{pos, fmt.Sprintf("command[%s] has an empty command line", name)})
			return
		}
		p.cfg.Commands[name] = Command{Name: name, Line: value, Pos: pos}
		return
	}
	if strings.HasPrefix(key, "watch[") {
		name, ok := strings.CutSuffix(strings.TrimPrefix(key, "watch["), "]")
		if !ok || name == "" || strings.ContainsAny(name, "[]!") {
			p.errs = append(p.errs, &Error{pos, fmt.Sprintf("bad watch rule %q (want watch[NAME]=OPTIONS)", key)})
			return
		}
		p.cfg.Watches = append(p.cfg.Watches, Watch{Name: name, Value: value, Pos: pos})
		return
	}
	if err := p.option(key, value, pos, depth); err != nil {
		p.errs = append(p.errs, &Error{pos, fmt.Sprintf("%s: %v", key, err)})
	}
}

func (p *parser) option(key, value string, pos Pos, depth int) error {
	c := p.cfg
	var err error
	switch key {
	case "include", "include_file":
		if e := p.file(value, pos, depth+1); e != nil {
			p.errs = append(p.errs, e)
		}
	case "include_dir":
		p.dir(value, pos, depth+1)
	case "server_address":
		c.ServerAddress = value
	case "server_port":
		c.ServerPort, err = intIn(value, 1, 65535)
	case "allowed_hosts":
		c.AllowedHosts = nil
		for _, h := range strings.Split(value, ",") {
			if h = strings.TrimSpace(h); h != "" {
				c.AllowedHosts = append(c.AllowedHosts, h)
			}
		}
		if c.AllowedHosts == nil {
			c.AllowedHosts = []string{}
		}
	case "dont_blame_nrpe":
		c.DontBlameNRPE, err = boolValue(value)
	case "nasty_metachars":
		c.NastyMetachars, err = unescapeC(value)
	case "allow_bash_command_substitution":
		c.AllowBashCommandSubstitution, err = boolValue(value)
	case "command_prefix":
		c.CommandPrefix = value
	case "command_timeout":
		c.CommandTimeout, err = seconds(value)
	case "connection_timeout":
		c.ConnectionTimeout, err = seconds(value)
	case "debug":
		c.Debug, err = boolValue(value)
	case "log_facility":
		c.LogFacility = value
	case "log_file":
		c.LogFile = value
	case "disable_syslog":
		c.DisableSyslog, err = boolValue(value)
	case "pid_file":
		c.PidFile = value
	case "nrpe_user":
		c.NrpeUser = value
	case "nrpe_group":
		c.NrpeGroup = value
	case "keep_env_vars":
		c.KeepEnvVars = nil
		for _, v := range strings.Split(value, ",") {
			if v = strings.TrimSpace(v); v != "" {
				c.KeepEnvVars = append(c.KeepEnvVars, v)
			}
		}
	case "listen_queue_size":
		c.ListenQueueSize, err = intIn(value, 1, 1<<20)
	case "ssl_enabled":
		c.SSLEnabled, err = boolValue(value)
	case "ssl_cert_file":
		c.SSLCertFile = value
	case "ssl_privatekey_file":
		c.SSLKeyFile = value
	case "ssl_cacert_file":
		c.SSLCACertFile = value
	case "ssl_client_certs":
		var n int
		n, err = intIn(value, 0, 2)
		c.SSLClientCerts = ClientCerts(n)
	case "ssl_version":
		c.SSLVersion = value
	case "ssl_logging":
		var n int64
		n, err = strconv.ParseInt(value, 0, 32)
		c.SSLLogging = int(n)
	case "max_concurrent_checks", "vigil_max_concurrent_checks":
		c.MaxConcurrentChecks, err = intIn(value, 1, 100000)
	case "vigil_inprocess":
		c.InProcess, err = boolValue(value)
	case "vigil_max_connections":
		c.MaxConnections, err = intIn(value, 1, 1000000)
	case "vigil_heal_state_dir":
		c.HealStateDir = value
	case "vigil_tls_dir":
		c.TLSDir = value
	case "vigil_allow_plaintext":
		c.AllowPlaintext, err = boolValue(value)
	case "vigil_max_output":
		c.MaxOutput, err = intIn(value, 1, 65535)
	case "vigil_log":
		switch value {
		case "stderr", "syslog", "file":
			c.LogTarget = value
		default:
			err = fmt.Errorf("%q is not stderr, syslog or file", value)
		}
	case "vigil_shutdown_timeout":
		c.ShutdownTimeout, err = seconds(value)
	case "ssl_cipher_list":
		p.warnOnce(key, "ssl_cipher_list: not implemented (OpenSSL cipher strings do not map onto Go's TLS); Go's default suites are used, and TLS 1.3 ignores the list in the stock daemon too")
	case "ssl_use_adh":
		p.warnOnce(key, "ssl_use_adh: not implemented (anonymous DH offers no authentication and Go does not support it); the agent always presents a certificate, which stock check_nrpe 4.x accepts")
	case "ssl_shutdown_timeout":
		p.warnOnce(key, "ssl_shutdown_timeout: not implemented (the agent sends close_notify once, bounded by connection_timeout)")
	case "allow_weak_random_seed":
		p.warnOnce(key, "allow_weak_random_seed: not implemented (Go's crypto/rand needs no seed)")
	case "max_commands":
		p.warnOnce(key, "max_commands: not implemented; use max_concurrent_checks and vigil_max_connections")
	default:
		p.warnOnce(key, fmt.Sprintf("%s: unknown option, ignored (%s)", key, pos))
	}
	return err
}

// dir includes every *.cfg regular file under dir, recursively, in
// alphabetical order, skipping hidden directories, as the stock daemon does.
func (p *parser) dir(dir string, from Pos, depth int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		p.errs = append(p.errs, &Error{from, fmt.Sprintf("reading include_dir: %v", err)})
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		info, err := os.Stat(path) // follow symlinks, as stat(2) in the daemon
		if err != nil {
			continue
		}
		switch {
		case info.IsDir():
			if !strings.HasPrefix(e.Name(), ".") {
				p.dir(path, from, depth+1)
			}
		case info.Mode().IsRegular() && strings.HasSuffix(e.Name(), ".cfg"):
			if err := p.file(path, from, depth); err != nil {
				p.errs = append(p.errs, err)
			}
		}
	}
}

func (p *parser) finish() {
	c := p.cfg
	if c.SSLClientCerts == ClientCertsRequire && c.SSLCACertFile == "" {
		p.errs = append(p.errs, &Error{Pos{c.File, 0}, "ssl_client_certs=2 requires ssl_cacert_file"})
	}
	if c.AllowPlaintext && c.SSLClientCerts != ClientCertsNone {
		p.errs = append(p.errs, &Error{Pos{c.File, 0}, "vigil_allow_plaintext=1 would let plaintext clients past ssl_client_certs: use one or the other"})
	}
	if (c.SSLCertFile == "") != (c.SSLKeyFile == "") {
		p.errs = append(p.errs, &Error{Pos{c.File, 0}, "ssl_cert_file and ssl_privatekey_file must be given together"})
	}
	if c.SSLVersion != "" {
		if err := checkTLSVersion(c.SSLVersion); err != nil {
			p.errs = append(p.errs, &Error{Pos{c.File, 0}, "ssl_version: " + err.Error()})
		}
	}
}

func checkTLSVersion(v string) error {
	s := strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(v), "+"))
	switch s {
	case "SSLV2", "SSLV3", "TLSV1", "TLSV1.0", "TLSV1.1", "TLSV1.2", "TLSV1.3":
		return nil
	}
	return fmt.Errorf("unknown version %q", v)
}

func boolValue(v string) (bool, error) {
	switch v {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, fmt.Errorf("%q is not 0 or 1", v)
}

func intIn(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is outside %d..%d", n, lo, hi)
	}
	return n, nil
}

func seconds(v string) (time.Duration, error) {
	n, err := intIn(v, 1, 86400*7)
	return time.Duration(n) * time.Second, err
}

// unescapeC reads the C escapes the stock daemon accepts in
// nasty_metachars (\n, \r, \t, \\, \', \", \a, \b, \f, \v, \?).
func unescapeC(v string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 == len(v) {
			b.WriteByte('\\')
			break
		}
		i++
		switch v[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\\', '\'', '"', '?':
			b.WriteByte(v[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(v[i])
		}
	}
	return b.String(), nil
}
