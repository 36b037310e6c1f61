package heal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is the name of the lock every healer takes in the state
// directory before it reads the state, probes and acts.
const LockFile = "heal.lock"

// lockPoll is how often a waiting healer retries the lock. flock has no
// timeout of its own, so a bounded wait polls the non-blocking form.
const lockPoll = 20 * time.Millisecond

// lock takes the exclusive lock on dir/heal.lock, waiting until ctx ends.
// flock locks belong to the open file, so two goroutines of one daemon
// exclude each other as two processes do, and the kernel drops the lock
// when its holder dies, even by SIGKILL.
func lock(ctx context.Context, dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o660)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	sharedWithGroup(f)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the heal lock %s (another healer holds it): %w", f.Name(), ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// sharedWithGroup makes a file the healers share group-writable despite
// the umask: the agent (root) and an event handler run by nrpe_user share
// the state directory through its group (see docs/recovery.md). It fails
// harmlessly on a file someone else owns.
func sharedWithGroup(f *os.File) {
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o060 != 0o060 {
		f.Chmod(st.Mode().Perm() | 0o060)
	}
}
