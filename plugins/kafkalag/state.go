package kafkalag

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// stateVersion changes when the file's meaning does; an older file is
// ignored rather than misread.
const stateVersion = 2

// state is what one run leaves for the next: a short window of samples per
// partition, the way Burrow evaluates a window of commits.
type state struct {
	Version int                      `json:"version"`
	Groups  map[string]*groupHistory `json:"groups"`
}

type groupHistory struct {
	// Samples of the group's total lag and the sum of its committed
	// offsets, oldest first, for the lag-growing rule.
	Samples    []groupSample                `json:"samples"`
	Partitions map[string]*partitionHistory `json:"partitions"` // "topic/partition"
}

type groupSample struct {
	Time      int64 `json:"t"` // Unix milliseconds
	Lag       int64 `json:"lag"`
	CommitSum int64 `json:"commit_sum"`
}

type partitionHistory struct {
	Samples []partitionSample `json:"samples"`
	// Since is when the committed offset took its current value (Unix ms);
	// OffsetFetch carries no commit time, so "no commit" means "the
	// committed offset did not change".
	Since int64 `json:"since"`
	// RewoundFrom is the commit before a rewind, kept until the group
	// consumes past it again; -1 when not rewound.
	RewoundFrom int64 `json:"rewound_from"`
}

// partitionSample is [time (Unix ms), committed offset, lag]: with thousands
// of partitions a plain array keeps the file small and quick to read back.
type partitionSample [3]int64

func (s partitionSample) commit() int64 { return s[1] }
func (s partitionSample) lag() int64    { return s[2] }

// defaultStatePath names a state file per broker list and selection, so two
// service definitions do not share history.
func defaultStatePath(o *Options) string {
	h := sha256.New()
	for _, part := range [][]string{o.Brokers, o.Groups, {o.GroupRegex}, o.ExcludeGroups, {o.ExcludeGroupRegex},
		o.Topics, {o.TopicRegex}, o.ExcludeTopics, {o.ExcludeTopicRegex}, {o.MissingOffset}} {
		fmt.Fprintf(h, "%q\n", part)
	}
	return filepath.Join(os.TempDir(), "vigil", "check_kafka_lag-"+hex.EncodeToString(h.Sum(nil))[:16]+".json")
}

func loadState(path string) (*state, error) {
	s := &state{Version: stateVersion, Groups: map[string]*groupHistory{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("reading state file: %w", err)
	}
	var loaded state
	if err := json.Unmarshal(b, &loaded); err != nil {
		// A damaged file costs the history, not the check.
		return s, fmt.Errorf("state file %s is damaged, starting afresh: %w", path, err)
	}
	if loaded.Version != stateVersion || loaded.Groups == nil {
		return s, nil
	}
	return &loaded, nil
}

// save writes the file atomically: a temporary file in the same directory,
// synced, then renamed over the old one, so a check killed mid-write leaves
// the previous state rather than half a file.
func (s *state) save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	return plugin.WriteFileAtomic(path, b, 0o600)
}

// track adds this run to the history and sets the movement flags:
//
//   - stalled: lag > 0 and the committed offset unchanged over the last
//     StallRuns runs (StallRuns+1 samples);
//   - stopped: lag > 0 and the committed offset unchanged for StopAfter;
//   - rewound: the committed offset went backwards, until it is back past
//     where it was;
//   - growing: over the last GrowthRuns runs the group's offsets advanced but
//     its total lag rose at every run.
//
// Groups that were not measured this run keep their history untouched; groups
// no longer selected are dropped.
func (s *state) track(groups []*GroupLag, o *Options, now time.Time) {
	keepPartition := max(o.StallRuns, 1) + 1
	keepGroup := max(o.GrowthRuns, 1) + 1
	t := now.UnixMilli()
	seen := map[string]bool{}
	for _, gl := range groups {
		seen[gl.Group] = true
		if gl.Err != nil {
			continue
		}
		gh := s.Groups[gl.Group]
		if gh == nil {
			gh = &groupHistory{Partitions: map[string]*partitionHistory{}}
			s.Groups[gl.Group] = gh
		}
		var commitSum int64
		for _, tl := range gl.Topics {
			for _, pl := range tl.Partitions {
				if pl.Err != nil || pl.Commit < 0 {
					continue
				}
				commitSum += pl.Commit
				key := tpKey(pl.Topic, pl.Partition)
				ph := gh.Partitions[key]
				if ph == nil {
					ph = &partitionHistory{Since: t, RewoundFrom: -1}
					gh.Partitions[key] = ph
				}
				if n := len(ph.Samples); n > 0 {
					prev := ph.Samples[n-1]
					if pl.Commit != prev.commit() {
						ph.Since = t
					}
					if pl.Commit < prev.commit() {
						ph.RewoundFrom = max(ph.RewoundFrom, prev.commit())
					}
				}
				if ph.RewoundFrom >= 0 && pl.Commit >= ph.RewoundFrom {
					ph.RewoundFrom = -1
				}
				ph.Samples = appendWindow(ph.Samples, partitionSample{t, pl.Commit, pl.Lag}, keepPartition)

				pl.Rewound = ph.RewoundFrom >= 0
				pl.Unmoved = float64(t-ph.Since) / 1000
				if pl.Lag > 0 {
					pl.Stalled = o.StallRuns > 0 && stalled(ph.Samples, o.StallRuns)
					pl.Stopped = o.StopAfter > 0 && t-ph.Since >= o.StopAfter.Milliseconds()
				}
			}
		}
		gh.Samples = appendWindow(gh.Samples, groupSample{Time: t, Lag: gl.Total, CommitSum: commitSum}, keepGroup)
		gl.Growing = o.GrowthRuns > 0 && growing(gh.Samples, o.GrowthRuns)
	}
	for g := range s.Groups {
		if !seen[g] {
			delete(s.Groups, g)
		}
	}
	// Partitions gone from a group (topic deleted, unselected) drop out too.
	for _, gl := range groups {
		gh := s.Groups[gl.Group]
		if gh == nil || gl.Err != nil {
			continue
		}
		live := map[string]bool{}
		for _, tl := range gl.Topics {
			for _, pl := range tl.Partitions {
				live[tpKey(pl.Topic, pl.Partition)] = true
			}
		}
		for k := range gh.Partitions {
			if !live[k] {
				delete(gh.Partitions, k)
			}
		}
	}
}

func appendWindow[T any](xs []T, x T, keep int) []T {
	xs = append(xs, x)
	if len(xs) > keep {
		xs = append(xs[:0:0], xs[len(xs)-keep:]...)
	}
	return xs
}

// stalled: the last runs+1 samples share one commit, each with lag > 0.
func stalled(samples []partitionSample, runs int) bool {
	if len(samples) < runs+1 {
		return false
	}
	window := samples[len(samples)-runs-1:]
	for _, s := range window {
		if s.commit() != window[0].commit() || s.lag() <= 0 {
			return false
		}
	}
	return true
}

// growing: over the last runs+1 samples the offsets moved forward and the
// lag rose at every step. Burrow's WARN says "lag never decreases"; requiring
// a rise at each step keeps an idle, steady backlog out of it.
func growing(samples []groupSample, runs int) bool {
	if len(samples) < runs+1 {
		return false
	}
	window := samples[len(samples)-runs-1:]
	if window[len(window)-1].CommitSum <= window[0].CommitSum {
		return false
	}
	for i := 1; i < len(window); i++ {
		if window[i].Lag <= window[i-1].Lag {
			return false
		}
	}
	return true
}
