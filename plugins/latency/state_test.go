package latency

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWindowSince(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := &snapshot{Time: t0, Series: map[string]seriesCounts{
		`{path="a"}`: {Buckets: map[string]float64{"0.1": 10, "1": 15, "+Inf": 20}, Sum: 8, Count: 20},
		`{path="b"}`: {Buckets: map[string]float64{"0.1": 100, "1": 100, "+Inf": 100}, Sum: 3, Count: 100},
	}}
	cur := snapshot{Time: t0.Add(time.Minute), Series: map[string]seriesCounts{
		// 5 more, all <= 0.1.
		`{path="a"}`: {Buckets: map[string]float64{"0.1": 15, "1": 20, "+Inf": 25}, Sum: 8.25, Count: 25},
		// Restarted: counts below the previous ones are taken whole.
		`{path="b"}`: {Buckets: map[string]float64{"0.1": 1, "1": 3, "+Inf": 4}, Sum: 2, Count: 4},
		// New since the previous run: counted from zero.
		`{path="c"}`: {Buckets: map[string]float64{"0.1": 0, "1": 0, "+Inf": 2}, Sum: 5, Count: 2},
	}}
	w := cur.since(prev)
	want := map[float64]float64{0.1: 5 + 1 + 0, 1: 5 + 3 + 0, math.Inf(1): 5 + 4 + 2}
	for le, c := range want {
		if w.bucketCounts[le] != c {
			t.Errorf("bucket le=%v: got %v, want %v", le, w.bucketCounts[le], c)
		}
	}
	if w.count != 11 || w.sum != 0.25+2+5 || w.resets != 1 {
		t.Errorf("count, sum, resets = %v, %v, %v; want 11, 7.25, 1", w.count, w.sum, w.resets)
	}
	// The lifetime is the window from nothing.
	life := cur.since(nil)
	if life.count != 31 || life.bucketCounts[math.Inf(1)] != 31 || life.resets != 0 {
		t.Errorf("lifetime count %v, +Inf %v, resets %v; want 31, 31, 0", life.count, life.bucketCounts[math.Inf(1)], life.resets)
	}
	// And the quantile over the window is the quantile of its buckets:
	// 11 observations, rank 5.5; c(0.1) = 6 >= 5.5, so the
	// lowest bucket: 0.1·5.5/6.
	if got, want := BucketQuantile(0.5, w.buckets()), interpolate(0, 0.1, 5.5, 6); got != want {
		t.Errorf("window median = %v, want %v", got, want)
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "state.json")
	if prev, err := loadState(path, "k"); prev != nil || err != nil {
		t.Fatalf("missing state file: got %v, %v; want nil, nil", prev, err)
	}
	snap := snapshot{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Series: map[string]seriesCounts{
		`{}`: {Buckets: map[string]float64{"0.005": 1, "+Inf": 3}, Sum: 0.5, Count: 3},
	}}
	if err := saveState(path, "k", snap); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path, "k")
	if err != nil || got == nil {
		t.Fatalf("loadState: %v, %v", got, err)
	}
	if !got.Time.Equal(snap.Time) || got.Series[`{}`].Buckets["+Inf"] != 3 || got.Series[`{}`].Sum != 0.5 {
		t.Errorf("round trip: got %+v, want %+v", *got, snap)
	}
	// Another selection's file is not taken for ours.
	if _, err := loadState(path, "other"); err == nil || !strings.Contains(err.Error(), "another selection") {
		t.Errorf("loadState with another key: err = %v", err)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("state directory holds %d entries, want 1", len(entries))
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(path, "k"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt state: err = %v", err)
	}
}

func TestDefaultStatePathDiffers(t *testing.T) {
	a := defaultStatePath("/var/tmp/vigil", "http://a/metrics\x00m")
	b := defaultStatePath("/var/tmp/vigil", "http://b/metrics\x00m")
	if a == b || !strings.HasPrefix(a, "/var/tmp/vigil/model-latency-") {
		t.Errorf("state paths %q and %q", a, b)
	}
}
