package kafkalag

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStalledRule(t *testing.T) {
	s := func(commit, lag int64) partitionSample { return partitionSample{0, commit, lag} }
	tests := []struct {
		name    string
		samples []partitionSample
		runs    int
		want    bool
	}{
		{"too few samples", []partitionSample{s(3, 7), s(3, 7), s(3, 7)}, 3, false},
		{"unchanged for 3 runs", []partitionSample{s(3, 7), s(3, 7), s(3, 7), s(3, 7)}, 3, true},
		{"moved inside the window", []partitionSample{s(2, 8), s(3, 7), s(3, 7), s(3, 7)}, 3, false},
		{"moved before the window", []partitionSample{s(2, 8), s(3, 7), s(3, 7), s(3, 7), s(3, 7)}, 3, true},
		{"caught up once in the window", []partitionSample{s(3, 7), s(3, 0), s(3, 7), s(3, 7)}, 3, false},
		{"one run", []partitionSample{s(3, 7), s(3, 7)}, 1, true},
	}
	for _, tt := range tests {
		if got := stalled(tt.samples, tt.runs); got != tt.want {
			t.Errorf("%s: stalled = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestGrowingRule(t *testing.T) {
	s := func(sum, lag int64) groupSample { return groupSample{CommitSum: sum, Lag: lag} }
	tests := []struct {
		name    string
		samples []groupSample
		want    bool
	}{
		{"rising while consuming", []groupSample{s(5, 5), s(6, 7), s(7, 9), s(8, 11)}, true},
		{"too few", []groupSample{s(6, 7), s(7, 9), s(8, 11)}, false},
		{"one step flat", []groupSample{s(5, 5), s(6, 7), s(7, 7), s(8, 11)}, false},
		{"one dip", []groupSample{s(5, 5), s(6, 7), s(7, 6), s(8, 11)}, false},
		{"not consuming is stalled, not growing", []groupSample{s(5, 5), s(5, 7), s(5, 9), s(5, 11)}, false},
	}
	for _, tt := range tests {
		if got := growing(tt.samples, 3); got != tt.want {
			t.Errorf("%s: growing = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestTrack drives the state over runs with a synthetic group: stalled,
// stopped, rewound and recovery, and the file round trip.
func TestTrack(t *testing.T) {
	o := &Options{StallRuns: 2, StopAfter: 5 * time.Minute, GrowthRuns: 3}
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type want struct{ stalled, stopped, rewound bool }
	steps := []struct {
		at          time.Duration
		commit, end int64
		want        want
	}{
		{0, 10, 20, want{}},
		{time.Minute, 10, 20, want{}},
		{2 * time.Minute, 10, 20, want{stalled: true}},
		{5 * time.Minute, 10, 20, want{stalled: true, stopped: true}},
		{6 * time.Minute, 4, 20, want{rewound: true}},
		{7 * time.Minute, 9, 20, want{rewound: true}},
		{8 * time.Minute, 10, 20, want{}},
		{9 * time.Minute, 20, 20, want{}},
		{10 * time.Minute, 20, 20, want{}}, // no lag: never stalled
		{20 * time.Minute, 20, 20, want{}}, // no lag: never stopped
	}
	for i, s := range steps {
		st, err := loadState(path)
		if err != nil {
			t.Fatal(err)
		}
		pl := &PartitionLag{Topic: "t", Partition: 0, Commit: s.commit, End: s.end}
		computeLag(pl, MissingLatest)
		gl := &GroupLag{Group: "g", Topics: []*TopicLag{{Topic: "t", Partitions: []*PartitionLag{pl}}}}
		gl.sum()
		st.track([]*GroupLag{gl}, o, t0.Add(s.at))
		if err := st.save(path); err != nil {
			t.Fatal(err)
		}
		got := want{pl.Stalled, pl.Stopped, pl.Rewound}
		if got != s.want {
			t.Errorf("step %d (+%v, commit %d): %+v, want %+v", i, s.at, s.commit, got, s.want)
		}
	}
	// A group no longer selected is forgotten.
	st, _ := loadState(path)
	st.track(nil, o, t0)
	if len(st.Groups) != 0 {
		t.Errorf("history kept for unselected groups: %v", st.Groups)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files in the state directory, want 1", len(entries))
	}
}
