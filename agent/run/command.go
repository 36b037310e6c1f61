package run

import (
	"path"
	"strconv"
	"strings"
)

// The shell rule. A command line runs without a shell, split on blanks
// into an argument vector, unless it contains a character that means
// something to /bin/sh:
//
//	| & ; < > ( ) $ ` \ " ' * ? [ ] { } ~ # and newlines,
//	or a '=' in its first word (an environment assignment).
//
// $ARGn$ macros do not count: without a shell each macro is replaced inside
// its own word, so an argument stays one argv element whatever it holds
// ("warn text" is one argument, "$HOME" is four characters). With a shell,
// the macros are replaced in the text first and /bin/sh then reads the
// whole line, as the stock daemon does (so the client's text is subject to
// shell expansion there: keep such lines free of $ARGn$ or use
// nasty_metachars). "$$" makes a line use the shell, as it does in the stock
// daemon where it becomes "$" before the shell sees it.
const shellChars = "|&;<>()$`\\\"'*?[]{}~#\n\r"

// Command is a configured command line ready to run.
type Command struct {
	Line  string   // after command_prefix and $ARGn$ expansion (for logs and the shell)
	Shell bool     // run as /bin/sh -c Line
	Argv  []string // without a shell: the argument vector
}

// Program is the base name of the program the command runs ("check_load"),
// or "" when it runs through a shell.
func (c Command) Program() string {
	if c.Shell || len(c.Argv) == 0 {
		return ""
	}
	return path.Base(c.Argv[0])
}

// Prepare expands a configured command line for a request: command_prefix
// (joined with a space, as the stock daemon does), then $ARGn$, following
// the shell rule above.
func Prepare(prefix, line string, args []string) Command {
	if prefix != "" {
		line = prefix + " " + line
	}
	if NeedsShell(line) {
		return Command{Line: ExpandMacros(line, args), Shell: true}
	}
	var argv []string
	for _, word := range strings.Fields(line) {
		w := ExpandMacros(word, args)
		if w == "" {
			continue // an unset $ARGn$ disappears, as an empty unquoted word in sh
		}
		argv = append(argv, w)
	}
	return Command{Line: strings.Join(argv, " "), Argv: argv}
}

// NeedsShell applies the shell rule to a configured line.
func NeedsShell(line string) bool {
	stripped := stripArgMacros(line)
	if strings.ContainsAny(stripped, shellChars) {
		return true
	}
	if f := strings.Fields(stripped); len(f) > 0 && strings.Contains(f[0], "=") {
		return true
	}
	return false
}

// stripArgMacros removes every $ARGn$ (n = 1..16).
func stripArgMacros(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if n, l := argMacro(s[i:]); n > 0 {
			i += l - 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// argMacro recognises "$ARGn$" at the start of s, returning n and its length.
func argMacro(s string) (int, int) {
	if !strings.HasPrefix(s, "$ARG") {
		return 0, 0
	}
	end := strings.IndexByte(s[4:], '$')
	if end <= 0 || end > 2 {
		return 0, 0
	}
	n, err := strconv.Atoi(s[4 : 4+end])
	if err != nil || n < 1 || n > MaxArgs {
		return 0, 0
	}
	return n, 4 + end + 1
}

// ExpandMacros replaces $ARGn$ with the n-th argument (empty when missing)
// and $$ with $; any other $NAME$ stays as written, as in the stock daemon.
func ExpandMacros(s string, args []string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if strings.HasPrefix(s[i:], "$$") {
			b.WriteByte('$')
			i++
			continue
		}
		if n, l := argMacro(s[i:]); n > 0 {
			if n <= len(args) {
				b.WriteString(args[n-1])
			}
			i += l - 1
			continue
		}
		b.WriteByte('$')
	}
	return b.String()
}
