package heal

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// auditLogger writes one JSON object per line: time, level, msg, and the
// fields every audit record carries (event, rule, action, why, output,
// result, duration_ms). slog's JSON handler makes one Write per record,
// and the file is opened O_APPEND, so lines from several healers never
// interleave.
func auditLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// OpenAudit opens the audit log: "-" is standard error, "" is audit.log in
// the state directory, anything else a file path. The returned close
// function closes the file.
func OpenAudit(path, stateDir string) (*slog.Logger, func(), error) {
	switch path {
	case "-":
		return auditLogger(os.Stderr), func() {}, nil
	case "":
		path = filepath.Join(stateDir, "audit.log")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o660)
	if err != nil {
		return nil, nil, fmt.Errorf("opening audit log: %w", err)
	}
	sharedWithGroup(f)
	return auditLogger(f), func() { f.Close() }, nil
}
