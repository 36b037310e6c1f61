package container

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/docker/docker/client"
)

// Connect opens a client of the engine named by opts.DockerHost or
// DOCKER_HOST and negotiates the API version with a ping, so that an old
// engine (20.10 speaks 1.41) and a new one (29 refuses below 1.44) both work.
// Its errors are EngineErrors that say what to do.
func Connect(ctx context.Context, opts Options) (*client.Client, error) {
	clientOpts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.DockerHost != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.DockerHost))
	}
	cli, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, &EngineError{Host: opts.DockerHost, Msg: fmt.Sprintf("bad engine address: %v", err)}
	}
	ping, err := cli.Ping(ctx)
	if err != nil {
		cli.Close()
		return nil, engineError(ctx, cli.DaemonHost(), "connecting to the engine", err)
	}
	cli.NegotiateAPIVersionPing(ping)
	return cli, nil
}

// EngineError is a failure to talk to the engine, phrased for the person
// who has to fix it. The check reports it as UNKNOWN.
type EngineError struct {
	Host string
	Msg  string
	Err  error
}

func (e *EngineError) Error() string { return e.Msg }
func (e *EngineError) Unwrap() error { return e.Err }

// engineError classifies err from a call to the engine at host: no socket,
// permission denied on the socket, connection refused, an API version the
// engine refuses; anything else keeps the engine's own words.
func engineError(ctx context.Context, host, doing string, err error) error {
	if ctx.Err() != nil {
		// The plugin runner reports the timeout with the stage it was in.
		return ctx.Err()
	}
	msg := strings.TrimPrefix(err.Error(), "Error response from daemon: ")
	switch {
	case isPermission(err):
		return &EngineError{Host: host, Err: err, Msg: permissionMessage(host)}
	case strings.Contains(msg, "too old") || strings.Contains(msg, "Minimum supported API version"):
		return &EngineError{Host: host, Err: err, Msg: fmt.Sprintf("the engine at %s refuses this client's API version: %s", host, firstLine(msg))}
	case client.IsErrConnectionFailed(err):
		// The client hides the cause; dialling again recovers it ("no such
		// file or directory", "connection refused").
		cause := dialCause(ctx, host)
		if cause == "" {
			cause = firstLine(msg)
		}
		return &EngineError{Host: host, Err: err, Msg: fmt.Sprintf("cannot reach the Docker engine at %s: %s", host, cause)}
	}
	return &EngineError{Host: host, Err: err, Msg: fmt.Sprintf("%s at %s: %s", doing, host, firstLine(msg))}
}

func isPermission(err error) bool {
	return errors.Is(err, os.ErrPermission) || strings.Contains(err.Error(), "permission denied")
}

// permissionMessage says who was refused and how to fix it: under NRPE the
// check runs as the agent's user, not as the one who tried it in a shell.
func permissionMessage(host string) string {
	who := strconv.Itoa(os.Getuid())
	if u, err := user.LookupId(who); err == nil {
		who += " (" + u.Username + ")"
	}
	msg := fmt.Sprintf("permission denied on the Docker socket %s for uid %s", host, who)
	if path, ok := socketPath(host); ok {
		var st syscall.Stat_t
		if syscall.Stat(path, &st) == nil {
			group := strconv.Itoa(int(st.Gid))
			if g, err := user.LookupGroupId(group); err == nil {
				group = g.Name
			}
			msg += fmt.Sprintf(", socket mode %04o group %s", st.Mode&0o7777, group)
		}
	}
	return msg + ": add the user that runs the check (for NRPE, the nrpe user) to the socket's group (usually docker, which is root-equivalent), or point --docker-host at a read-only socket proxy"
}

func socketPath(host string) (string, bool) {
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "unix" {
		return "", false
	}
	return u.Path, true
}

// dialCause dials the engine's address to learn why a connection failed.
func dialCause(ctx context.Context, host string) string {
	u, err := url.Parse(host)
	if err != nil {
		return ""
	}
	var d net.Dialer
	var conn net.Conn
	switch u.Scheme {
	case "unix":
		conn, err = d.DialContext(ctx, "unix", u.Path)
	case "tcp", "http", "https":
		conn, err = d.DialContext(ctx, "tcp", u.Host)
	default:
		return ""
	}
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			return op.Err.Error()
		}
		return err.Error()
	}
	conn.Close()
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
