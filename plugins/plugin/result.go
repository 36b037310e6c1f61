package plugin

import (
	"fmt"
	"strings"
)

// Result is what a check returns: a state, a one-line summary, optional long
// output lines and performance data.
type Result struct {
	Status   Status
	Summary  string
	Details  []string
	Perfdata []Perfdata
}

// Unknownf is a shortcut for a Result that could not be measured.
func Unknownf(format string, args ...any) Result {
	return Result{Status: Unknown, Summary: fmt.Sprintf(format, args...)}
}

// Render formats the result as the plugin's standard output:
//
//	NAME STATUS - summary | perfdata
//	long output line
//	...
//
// All perfdata stays on the first line, the only place where Nagios and
// Icinga 2 both read it. Text that came from outside (container names, error
// messages, HTTP bodies) passes through here and nowhere else, so it can never
// inject a '|' or a line break into the status line, nor a '|' into the long
// output.
func (r Result) Render(name string) string {
	var b strings.Builder
	if name != "" {
		b.WriteString(name)
		b.WriteByte(' ')
	}
	b.WriteString(r.Status.String())
	if s := cleanLine(r.Summary); s != "" {
		b.WriteString(" - ")
		b.WriteString(s)
	}
	if len(r.Perfdata) > 0 {
		b.WriteString(" |")
		for _, p := range r.Perfdata {
			b.WriteByte(' ')
			b.WriteString(p.String())
		}
	}
	b.WriteByte('\n')
	for _, d := range r.Details {
		for _, line := range strings.Split(strings.ReplaceAll(d, "\r\n", "\n"), "\n") {
			line = cleanDetail(line)
			if line == "" {
				continue
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// cleanLine makes outside text safe for the status line: '|' becomes '/',
// ';' becomes ',' (Nagios rewrites it to ':', since ';' separates the fields
// of its log and external commands), control characters become spaces,
// runs of spaces collapse, and the ends are trimmed.
func cleanLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '|':
			return '/'
		case r == ';':
			return ','
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// cleanDetail is cleanLine for long output, keeping the indentation that
// structures it.
func cleanDetail(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '|':
			return '/'
		case r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
	return strings.TrimRight(s, " ")
}
