// Package run turns an NRPE request into a command's result: it validates
// the request (metacharacters, arguments), expands $ARGn$ into the
// configured command line, and runs it as a process (own process group,
// clean environment, bounded output, killed as a group at its timeout) or,
// for vigil's own plugins, in-process.
package run

import (
	"errors"
	"strings"
)

// Policy is what a request may contain.
type Policy struct {
	NastyMetachars               string // rejected anywhere in the request
	AllowArguments               bool   // dont_blame_nrpe=1
	AllowBashCommandSubstitution bool   // allow_bash_command_substitution=1
}

// Rejection is a request the agent refuses. Like the stock daemon, the
// agent closes the connection without an answer and logs Reason.
type Rejection struct{ Reason string }

func (r *Rejection) Error() string { return r.Reason }

// IsRejection reports whether err is a *Rejection.
func IsRejection(err error) bool {
	var r *Rejection
	return errors.As(err, &r)
}

// Request is a parsed query: the command name and its arguments.
type Request struct {
	Command string
	Args    []string
}

// MaxArgs is the number of $ARGn$ macros (n = 1..16), as in the stock daemon.
const MaxArgs = 16

// ParseRequest validates and splits a query text "name!arg1!arg2" in the
// order the stock daemon does: non-empty, metacharacters over the whole
// request, arguments allowed, command substitution. Empty arguments vanish
// ("cmd!!x" gives $ARG1$=x), as in the stock daemon.
func ParseRequest(text string, pol Policy) (Request, error) {
	if text == "" {
		return Request{}, &Rejection{"Error: Request contained no query!"}
	}
	if pol.NastyMetachars != "" && strings.ContainsAny(text, pol.NastyMetachars) {
		return Request{}, &Rejection{"Error: Request contained illegal metachars!"}
	}
	parts := strings.Split(text, "!")
	if len(parts) > 1 && !pol.AllowArguments {
		return Request{}, &Rejection{"Error: Request contained command arguments, but argument option is not enabled!"}
	}
	if !pol.AllowBashCommandSubstitution && strings.Contains(text, "$(") {
		return Request{}, &Rejection{"Error: Request contained a bash command substitution, but they are disallowed!"}
	}
	req := Request{Command: parts[0]}
	for _, a := range parts[1:] {
		if a != "" && len(req.Args) < MaxArgs {
			req.Args = append(req.Args, a)
		}
	}
	if req.Command == "" {
		return Request{}, &Rejection{"Error: Request contained no command!"}
	}
	return req, nil
}
