package kafkalag

import (
	"math"
	"testing"
)

func TestComputeLag(t *testing.T) {
	tests := []struct {
		name                string
		commit, start, end  int64
		missing             string
		lag, lost           int64
		counted, zeroSecond bool
	}{
		{"behind", 6, 0, 17, MissingLatest, 11, 0, true, false},
		{"caught up", 17, 0, 17, MissingLatest, 0, 0, true, true},
		{"commit past end clamps to 0", 20, 0, 17, MissingLatest, 0, 0, true, true},
		{"commit below log start", 5, 15, 35, MissingLatest, 30, 10, true, false},
		{"no commit, latest", -1, 3, 24, MissingLatest, 0, 0, true, true},
		{"no commit, earliest", -1, 3, 24, MissingEarliest, 21, 0, true, false},
		{"no commit, earliest, empty log", -1, 24, 24, MissingEarliest, 0, 0, true, true},
		{"no commit, ignore", -1, 0, 24, MissingIgnore, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := &PartitionLag{Commit: tt.commit, Start: tt.start, End: tt.end, Seconds: math.NaN()}
			computeLag(pl, tt.missing)
			if pl.Lag != tt.lag || pl.Lost != tt.lost || pl.Counted != tt.counted {
				t.Errorf("lag %d lost %d counted %v, want %d %d %v", pl.Lag, pl.Lost, pl.Counted, tt.lag, tt.lost, tt.counted)
			}
			// Zero lag is zero seconds, whatever the age of the last record.
			if got := pl.Seconds == 0; got != tt.zeroSecond {
				t.Errorf("seconds %v, want zero: %v", pl.Seconds, tt.zeroSecond)
			}
		})
	}
}

func TestReadOffset(t *testing.T) {
	for _, tt := range []struct{ commit, start, want int64 }{
		{6, 0, 6}, {5, 15, 15}, {-1, 3, 3}, {-1, -1, 0},
	} {
		pl := &PartitionLag{Commit: tt.commit, Start: tt.start}
		if got := pl.readOffset(); got != tt.want {
			t.Errorf("commit %d start %d: read at %d, want %d", tt.commit, tt.start, got, tt.want)
		}
	}
}

func TestSums(t *testing.T) {
	nan := math.NaN()
	gl := &GroupLag{Topics: []*TopicLag{
		{Topic: "a", Partitions: []*PartitionLag{
			{Topic: "a", Partition: 0, Lag: 5, Counted: true, Seconds: 12},
			{Topic: "a", Partition: 1, Lag: 9, Counted: true, Seconds: 3},
			{Topic: "a", Partition: 2, Lag: 100, Counted: false, Seconds: nan}, // ignored partition
		}},
		{Topic: "b", Partitions: []*PartitionLag{
			{Topic: "b", Partition: 0, Lag: 0, Counted: true, Seconds: 0},
			{Topic: "b", Partition: 1, Lag: 2, Counted: true, Seconds: 40, Lost: 7},
		}},
	}}
	gl.sum()
	gl.sumSeconds()
	if gl.Total != 16 || gl.Topics[0].Lag != 14 || gl.Topics[1].Lag != 2 || gl.MaxPartition.Partition != 1 || gl.MaxPartition.Topic != "a" || gl.Lost != 7 {
		t.Errorf("total %d, topics %d %d, max %s/%d, lost %d", gl.Total, gl.Topics[0].Lag, gl.Topics[1].Lag, gl.MaxPartition.Topic, gl.MaxPartition.Partition, gl.Lost)
	}
	if gl.Seconds != 40 || gl.Topics[0].Seconds != 12 {
		t.Errorf("seconds %v, topic a %v", gl.Seconds, gl.Topics[0].Seconds)
	}
	// A lagging partition whose record could not be read makes the age unknown.
	gl.Topics[1].Partitions[1].Seconds = nan
	gl.sumSeconds()
	if !math.IsNaN(gl.Seconds) || gl.Topics[0].Seconds != 12 {
		t.Errorf("with an unreadable record: group %v, topic a %v", gl.Seconds, gl.Topics[0].Seconds)
	}
}
