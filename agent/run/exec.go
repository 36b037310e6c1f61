package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessOptions are how external commands run.
type ProcessOptions struct {
	Env        []string            // the whole environment (see CleanEnv)
	Credential *syscall.Credential // run as this user/group; nil: as the agent
	MaxOutput  int                 // stdout bytes kept; the rest is read and dropped
	MaxStderr  int                 // stderr bytes kept for the log
	// KillGrace is how long a timed-out process group gets between SIGTERM
	// and SIGKILL.
	KillGrace time.Duration
}

// Outcome is what a process did.
type Outcome struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int  // -1 when killed by a signal
	Signaled bool // killed by a signal
	TimedOut bool // ctx ran out first; the group was killed
}

// defaultPath is the PATH commands get (the stock daemon resets PATH too).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// readDrainTimeout bounds how long the output is still read once the
// process group has been killed: a descendant that left the group (setsid)
// and kept the pipe cannot hold the answer hostage.
const readDrainTimeout = time.Second

// RunProcess runs argv (or /bin/sh -c line when shell is set) in its own
// process group, with stdin from /dev/null, in "/". When the command exits,
// whatever is left of its process group is killed: a check may not leave
// background processes behind. When ctx ends first, the whole group gets
// SIGTERM, then SIGKILL after KillGrace.
func RunProcess(ctx context.Context, cmd Command, opts ProcessOptions) (Outcome, error) {
	argv := cmd.Argv
	if cmd.Shell {
		argv = []string{"/bin/sh", "-c", cmd.Line}
	}
	if len(argv) == 0 {
		return Outcome{}, errors.New("empty command line")
	}
	prog, err := lookPath(argv[0])
	if err != nil {
		return Outcome{}, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return Outcome{}, fmt.Errorf("creating stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return Outcome{}, fmt.Errorf("creating stderr pipe: %w", err)
	}
	c := &exec.Cmd{
		Path:   prog,
		Args:   argv,
		Env:    opts.Env,
		Dir:    "/",
		Stdout: outW,
		Stderr: errW,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:    true,
			Credential: opts.Credential,
			Pdeathsig:  syscall.SIGKILL,
		},
	}
	err = c.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return Outcome{}, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	pgid := c.Process.Pid

	var wg sync.WaitGroup
	var stdout, stderr []byte
	wg.Add(2)
	go func() { defer wg.Done(); stdout = readLimited(outR, opts.MaxOutput) }()
	go func() { defer wg.Done(); stderr = readLimited(errR, opts.MaxStderr) }()

	waited := make(chan error, 1)
	go func() { waited <- c.Wait() }()

	var out Outcome
	select {
	case <-waited:
	case <-ctx.Done():
		select {
		case <-waited: // it finished just in time
		default:
			out.TimedOut = true
			syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-waited:
			case <-time.After(opts.KillGrace):
				syscall.Kill(-pgid, syscall.SIGKILL)
				<-waited
			}
		}
	}
	// The leader is gone; kill what it left in its group (a background
	// child holding the pipe, a forgotten sleep).
	syscall.Kill(-pgid, syscall.SIGKILL)

	readers := make(chan struct{})
	go func() { wg.Wait(); close(readers) }()
	select {
	case <-readers:
	case <-time.After(readDrainTimeout):
		outR.Close()
		errR.Close()
		<-readers
	}
	outR.Close()
	errR.Close()

	out.Stdout, out.Stderr = stdout, stderr
	if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		out.Signaled = true
		out.ExitCode = -1
	} else {
		out.ExitCode = c.ProcessState.ExitCode()
	}
	return out, nil
}

// readLimited keeps the first max bytes and reads the rest to EOF so the
// writer never blocks on a full pipe.
func readLimited(r io.Reader, max int) []byte {
	var buf []byte
	chunk := make([]byte, 32*1024)
	for {
		n, err := r.Read(chunk)
		if n > 0 && len(buf) < max {
			keep := n
			if len(buf)+keep > max {
				keep = max - len(buf)
			}
			buf = append(buf, chunk[:keep]...)
		}
		if err != nil {
			return buf
		}
	}
}

// lookPath finds a program as the stock daemon's shell would with the
// commands' PATH, not the agent's.
func lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(defaultPath) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in %s", name, defaultPath)
}

// CleanEnv builds the environment a command gets: PATH, the run-as user's
// HOME/USER/LOGNAME/SHELL, the two variables the stock daemon sets, and
// the agent's own value of each name in keep (keep_env_vars). Nothing else
// of the agent's environment leaks into checks.
func CleanEnv(home, user string, keep []string) []string {
	env := []string{
		"PATH=" + defaultPath,
		"NRPE_MULTILINESUPPORT=1",
		"NRPE_PROGRAMVERSION=" + StockVersion,
		"SHELL=/bin/sh",
	}
	if home != "" {
		env = append(env, "HOME="+home)
	}
	if user != "" {
		env = append(env, "USER="+user, "LOGNAME="+user)
	}
	for _, k := range keep {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
