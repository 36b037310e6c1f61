package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// checkState is what the check remembers between runs, per container id,
// in a small JSON file: the restart count and start time it saw last (the
// engine's RestartCount alone cannot count restarts over time, because an
// API start or restart resets it), the restarts it counted within the
// window, and the last CPU sample (so that CPU% can be averaged since the
// previous run from a single, fast stats request).
type checkState struct {
	Version    int                     `json:"version"`
	Containers map[string]*observation `json:"containers"`

	path   string
	unlock func()
}

type observation struct {
	Name         string         `json:"name"`
	Seen         time.Time      `json:"seen"`
	RestartCount int            `json:"restart_count"`
	StartedAt    time.Time      `json:"started_at"`
	Events       []restartEvent `json:"events,omitempty"`
	CPU          *cpuSample     `json:"cpu,omitempty"`
}

type restartEvent struct {
	At time.Time `json:"at"`
	N  int       `json:"n"`
}

// cpuSample is one reading of a container's CPU counters, as the engine's
// stats report them.
type cpuSample struct {
	Read      time.Time `json:"read"`
	StartedAt time.Time `json:"started_at"` // the run the counters belong to
	Total     uint64    `json:"total"`      // cpu_usage.total_usage, ns
	System    uint64    `json:"system"`     // system_cpu_usage, ns
}

// forgetAfter drops containers not seen for this long (removed ones).
const forgetAfter = 7 * 24 * time.Hour

// openState locks and reads the state file for opts. The lock is held
// until close, so that overlapping runs do not lose each other's
// observations.
func openState(ctx context.Context, opts Options) (*checkState, error) {
	path, err := statePath(opts)
	if err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, path+".lock")
	if err != nil {
		return nil, err
	}
	st, err := loadState(path)
	if err != nil {
		unlock()
		return nil, err
	}
	st.path, st.unlock = path, unlock
	return st, nil
}

// close saves the state (dropping containers long gone) and releases the
// lock.
func (st *checkState) close(now time.Time) error {
	defer st.unlock()
	for id, obs := range st.Containers {
		if now.Sub(obs.Seen) > forgetAfter {
			delete(st.Containers, id)
		}
	}
	return saveState(st.path, st)
}

// statePath is --state-file, or a file per engine and selection in
// --state-dir, so that two services checking different containers never
// share a "previous run".
func statePath(opts Options) (string, error) {
	if opts.StateFile != "" {
		return opts.StateFile, nil
	}
	dir := opts.StateDir
	if dir == "" {
		dir = filepath.Join("/var/tmp", "vigil-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating state directory: %w", err)
	}
	host := opts.DockerHost
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%v", host, describeSelection(opts), opts.NameRegex)
	return filepath.Join(dir, fmt.Sprintf("check_container-%016x.json", h.Sum64())), nil
}

func loadState(path string) (*checkState, error) {
	st := &checkState{Version: 1, Containers: map[string]*observation{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state file: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		// A corrupt file (a full disk, a hand edit) must not wedge the
		// check forever: start again from a baseline.
		return &checkState{Version: 1, Containers: map[string]*observation{}}, nil
	}
	if st.Containers == nil {
		st.Containers = map[string]*observation{}
	}
	return st, nil
}

// saveState writes through a temporary file and a rename, so a crash never
// leaves half a file.
func saveState(path string, st *checkState) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	return plugin.WriteFileAtomic(path, data, 0o600)
}

// lockFile takes an exclusive flock on path, polling so that a lock held by
// a stuck run cannot keep this one past its deadline.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening state lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking state file: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("locking state file: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
