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

// The engine's RestartCount cannot count restarts over time by itself: an
// API start or restart (a person, a healer) resets it to 0. So the check
// remembers, per container id, the count and start time it saw last, and
// the restarts it counted since, in a small JSON state file.

type restartState struct {
	Version    int                     `json:"version"`
	Containers map[string]*observation `json:"containers"`
}

type observation struct {
	Name         string         `json:"name"`
	Seen         time.Time      `json:"seen"`
	RestartCount int            `json:"restart_count"`
	StartedAt    time.Time      `json:"started_at"`
	Events       []restartEvent `json:"events,omitempty"`
}

type restartEvent struct {
	At time.Time `json:"at"`
	N  int       `json:"n"`
}

// forgetAfter drops containers not seen for this long (removed ones).
const forgetAfter = 7 * 24 * time.Hour

// countRestarts sets Verdict.Restarts for every verdict and saves what it
// saw, holding a lock on the state file so that overlapping runs do not
// lose each other's observations.
func countRestarts(ctx context.Context, opts Options, verdicts []Verdict, now time.Time) error {
	path, err := statePath(opts)
	if err != nil {
		return err
	}
	unlock, err := lockFile(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer unlock()

	st, err := loadState(path)
	if err != nil {
		return err
	}
	for i := range verdicts {
		v := &verdicts[i]
		prev := st.Containers[v.ID]
		n := restartDelta(prev, v, opts.RestartWindow, now)
		obs := &observation{Name: v.Name, Seen: now, RestartCount: v.RestartCount, StartedAt: v.StartedAt}
		if prev != nil {
			obs.Events = prev.Events
		}
		if n > 0 {
			obs.Events = append(obs.Events, restartEvent{At: now, N: n})
		}
		obs.Events = recentEvents(obs.Events, opts.RestartWindow, now)
		st.Containers[v.ID] = obs
		if opts.RestartWindow > 0 {
			v.Restarts = 0
			for _, e := range obs.Events {
				v.Restarts += e.N
			}
		} else {
			v.Restarts = n
		}
	}
	for id, obs := range st.Containers {
		if now.Sub(obs.Seen) > forgetAfter {
			delete(st.Containers, id)
		}
	}
	return saveState(path, st)
}

// restartDelta counts the restarts between the previous observation and
// this one. The count going down means an API restart reset it: that
// restart plus the new count. A changed start time with the same count is a
// restart too (a stop and start through the API).
//
// Without a previous observation, the restarts so far are known to fall in
// the window only when the container was created within it; otherwise this
// run only records a baseline.
func restartDelta(prev *observation, v *Verdict, window time.Duration, now time.Time) int {
	if prev == nil {
		if window > 0 && !v.Created.IsZero() && now.Sub(v.Created) <= window {
			return v.RestartCount
		}
		return 0
	}
	switch {
	case v.RestartCount < prev.RestartCount:
		return v.RestartCount + 1
	case v.RestartCount > prev.RestartCount:
		return v.RestartCount - prev.RestartCount
	case !v.StartedAt.IsZero() && !prev.StartedAt.IsZero() && !v.StartedAt.Equal(prev.StartedAt):
		return 1
	}
	return 0
}

// recentEvents keeps the events within the window (none without one: the
// previous run is then the only reference).
func recentEvents(events []restartEvent, window time.Duration, now time.Time) []restartEvent {
	if window <= 0 {
		return nil
	}
	var keep []restartEvent
	for _, e := range events {
		if now.Sub(e.At) <= window {
			keep = append(keep, e)
		}
	}
	return keep
}

func restartsFinding(v *Verdict, opts Options) *Finding {
	if v.Restarts < 0 || !opts.Restarts.Set() {
		return nil
	}
	st := opts.Restarts.Evaluate(float64(v.Restarts))
	if st == plugin.OK {
		return nil
	}
	when := "since the previous check"
	if opts.RestartWindow > 0 {
		when = "in " + formatAge(opts.RestartWindow)
	}
	return &Finding{Status: st, Kind: KindRestarts,
		Text: fmt.Sprintf("restarted %d %s %s", v.Restarts, plural(v.Restarts, "time", "times"), when)}
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

func loadState(path string) (*restartState, error) {
	st := &restartState{Version: 1, Containers: map[string]*observation{}}
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
		return &restartState{Version: 1, Containers: map[string]*observation{}}, nil
	}
	if st.Containers == nil {
		st.Containers = map[string]*observation{}
	}
	return st, nil
}

// saveState writes through a temporary file and a rename, so a crash never
// leaves half a file.
func saveState(path string, st *restartState) error {
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing state file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing state file: %w", err)
	}
	return nil
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
