package serve

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// WritePidFile writes this process's PID to path, refusing when the file
// names a process that is still alive (a second instance). A stale file is
// replaced. The returned function removes the file; after the agent has
// dropped root that only works where nrpe_user may write the directory
// (Debian's /run/nagios), as for the stock daemon.
func WritePidFile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 && pid != os.Getpid() {
			if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
				return nil, fmt.Errorf("there's already an agent running (PID %d, pid_file %s)", pid, path)
			}
		}
		os.Remove(path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating pid_file: %w", err)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing pid_file: %w", err)
	}
	return func() error {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing pid_file: %w", err)
		}
		return nil
	}, nil
}
