package latency

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// seriesCounts are one series' cumulative counters at one scrape.
type seriesCounts struct {
	Buckets   map[string]float64 `json:"buckets,omitempty"`   // upper bound ("0.5", "+Inf") -> cumulative count
	Quantiles map[string]float64 `json:"quantiles,omitempty"` // summaries only; not windowed
	Sum       float64            `json:"sum"`
	Count     float64            `json:"count"`
}

// snapshot is every selected series at one scrape.
type snapshot struct {
	Time   time.Time               `json:"time"`
	Series map[string]seriesCounts `json:"series"`
}

// window is the increase of the counters between two snapshots, summed over
// the series (sum by (le) (increase(...))).
type window struct {
	bucketCounts map[float64]float64
	sum, count   float64
	resets       int
}

// increase is Prometheus's rule for a counter between two samples: the
// difference, or the new value when it went down (the counter was reset and
// counted up again from zero).
func increase(prev, cur float64) (float64, bool) {
	if cur < prev {
		return cur, true
	}
	return cur - prev, false
}

// since computes the window from prev to s; with no prev it is the
// lifetime. A series absent from prev started after it, so its whole count
// is in the window.
func (s snapshot) since(prev *snapshot) window {
	w := window{bucketCounts: map[float64]float64{}}
	for key, cur := range s.Series {
		var old seriesCounts
		if prev != nil {
			old = prev.Series[key]
		}
		reset := false
		for le, c := range cur.Buckets {
			bound, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			d, r := increase(old.Buckets[le], c)
			reset = reset || r
			w.bucketCounts[bound] += d
		}
		dc, r := increase(old.Count, cur.Count)
		reset = reset || r
		w.count += dc
		if r {
			w.sum += cur.Sum
		} else {
			w.sum += cur.Sum - old.Sum
		}
		if reset {
			w.resets++
		}
	}
	return w
}

// buckets returns the window's buckets for BucketQuantile.
func (w window) buckets() []Bucket {
	out := make([]Bucket, 0, len(w.bucketCounts))
	for le, c := range w.bucketCounts {
		out = append(out, Bucket{UpperBound: le, Count: c})
	}
	return out
}

// stateFile is the JSON kept between runs.
type stateFile struct {
	Version  int      `json:"version"`
	Key      string   `json:"key"`
	Snapshot snapshot `json:"snapshot"`
}

// defaultStatePath names a state file after what is selected, so checks of
// different servers or metrics never share one.
func defaultStatePath(dir, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "model-latency-"+hex.EncodeToString(sum[:8])+".json")
}

// loadState returns the previous snapshot, nil when there is none yet.
func loadState(path, key string) (*snapshot, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state file: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %w", path, err)
	}
	if st.Version != 1 || st.Key != key {
		return nil, fmt.Errorf("state file %s was written for another selection", path)
	}
	return &st.Snapshot, nil
}

// saveState writes the snapshot atomically: a temporary file in the same
// directory, synced, then renamed over the old one, so a crash or a
// concurrent run never leaves half a file.
func saveState(path, key string, snap snapshot) error {
	for _, c := range snap.Series {
		if math.IsNaN(c.Sum) || math.IsInf(c.Sum, 0) || math.IsNaN(c.Count) {
			return fmt.Errorf("saving state: counts are not finite numbers")
		}
	}
	b, err := json.Marshal(stateFile{Version: 1, Key: key, Snapshot: snap})
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	return plugin.WriteFileAtomic(path, b, 0o600)
}
