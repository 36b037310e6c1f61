package serve

import (
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"strings"

	"github.com/vigil-monitoring/vigil/agent/config"
)

// NewLogger builds the agent's logger from the config: to log_file when
// set (or vigil_log=file), to syslog with log_facility when vigil_log=syslog,
// else to stderr (what systemd's journal collects from a foreground
// service). debug=1 adds per-request lines. The returned closer releases
// the file or syslog connection.
func NewLogger(c *config.Config, stderr io.Writer) (*slog.Logger, io.Closer, error) {
	level := slog.LevelInfo
	if c.Debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	target := c.LogTarget
	if target == "" {
		target = "stderr"
		if c.LogFile != "" {
			target = "file"
		}
	}
	switch target {
	case "file":
		if c.LogFile == "" {
			return nil, nil, fmt.Errorf("vigil_log=file needs log_file")
		}
		f, err := os.OpenFile(c.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("opening log_file: %w", err)
		}
		return slog.New(slog.NewTextHandler(f, opts)), f, nil
	case "syslog":
		fac, err := facility(c.LogFacility)
		if err != nil {
			return nil, nil, err
		}
		w, err := syslog.New(fac|syslog.LOG_INFO, "vigil-agent")
		if err != nil {
			return nil, nil, fmt.Errorf("connecting to syslog: %w", err)
		}
		return slog.New(slog.NewTextHandler(w, opts)), w, nil
	}
	return slog.New(slog.NewTextHandler(stderr, opts)), io.NopCloser(nil), nil
}

func facility(name string) (syslog.Priority, error) {
	facilities := map[string]syslog.Priority{
		"kern": syslog.LOG_KERN, "user": syslog.LOG_USER, "mail": syslog.LOG_MAIL, "daemon": syslog.LOG_DAEMON,
		"auth": syslog.LOG_AUTH, "syslog": syslog.LOG_SYSLOG, "lpr": syslog.LOG_LPR, "news": syslog.LOG_NEWS,
		"uucp": syslog.LOG_UUCP, "cron": syslog.LOG_CRON, "authpriv": syslog.LOG_AUTHPRIV, "ftp": syslog.LOG_FTP,
		"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3,
		"local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
	}
	if f, ok := facilities[strings.ToLower(name)]; ok {
		return f, nil
	}
	return 0, fmt.Errorf("log_facility %q is not a syslog facility", name)
}
