// Package plugin implements the Nagios plugin API that every vigil check
// speaks: states and exit codes, threshold ranges, performance data, the
// rendered output, and the Run wrapper that turns a check into a program.
//
// A check never prints and never exits: it returns a Result. Run renders that
// Result, so a check binary and the agent's in-process path produce the same
// bytes and the same exit code.
package plugin

import (
	"fmt"
	"strings"
)

// Status is a plugin state; its value is the process exit code.
type Status int

// The four plugin states, valued as their exit codes.
const (
	OK       Status = 0
	Warning  Status = 1
	Critical Status = 2
	Unknown  Status = 3
)

// String returns the state word used in the status line.
func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	case Unknown:
		return "UNKNOWN"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Severity orders states as monitoring-plugins' max_state_alt does:
// OK 0 < UNKNOWN 1 < WARNING 2 < CRITICAL 3. A definite problem outranks a
// measurement that could not be made. Sort worst-first by it.
func (s Status) Severity() int {
	switch s {
	case OK:
		return 0
	case Unknown:
		return 1
	case Warning:
		return 2
	case Critical:
		return 3
	}
	return 1
}

// Worst returns the most severe of the given states (OK for none), in the
// order CRITICAL > WARNING > UNKNOWN > OK.
func Worst(states ...Status) Status {
	worst := OK
	for _, s := range states {
		if s.Severity() > worst.Severity() {
			worst = s
		}
	}
	return worst
}

// ParseStatus reads a state word (OK, WARNING, CRITICAL, UNKNOWN, case
// insensitive, or the digits 0-3).
func ParseStatus(text string) (Status, error) {
	switch strings.ToUpper(strings.TrimSpace(text)) {
	case "OK", "0":
		return OK, nil
	case "WARNING", "WARN", "1":
		return Warning, nil
	case "CRITICAL", "CRIT", "2":
		return Critical, nil
	case "UNKNOWN", "3":
		return Unknown, nil
	}
	return Unknown, fmt.Errorf("state %q is not one of OK, WARNING, CRITICAL, UNKNOWN", text)
}
