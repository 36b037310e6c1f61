package kafka

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

type step struct {
	at      time.Duration // after base + 1h
	commit  map[int32]int64
	produce map[int32]int
	status  plugin.Status
	summary string // the status line up to the perfdata
}

// runSteps commits and produces as each step says, runs the check with the
// clock at that step and compares the state and status line.
func runSteps(t *testing.T, c *cluster, group, topic string, o kafkalag.Options, steps []step) {
	t.Helper()
	cl := c.producer(t)
	for i, s := range steps {
		if s.produce != nil {
			produce(t, cl, topic, s.produce)
		}
		if s.commit != nil {
			commitDirect(t, cl, group, topic, s.commit)
		}
		res, out := run(t, o, base.Add(time.Hour+s.at))
		line, _, _ := strings.Cut(firstLine(out), " | ")
		if res.Status != s.status || line != s.summary {
			t.Errorf("step %d (+%v): got %v %q\nwant %v %q\n%s", i, s.at, res.Status, line, s.status, s.summary, out)
		}
	}
}

// TestStalledThenStopped: a partition whose commit does not move with lag
// behind it turns WARNING after --stall-runs runs and CRITICAL after
// --stop-after; a commit clears both.
func TestStalledThenStopped(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c.producer(t), "feed", 2)
	produce(t, c.producer(t), "feed", map[int32]int{0: 10, 1: 10})
	state := filepath.Join(t.TempDir(), "state.json")
	o := kafkalag.Options{Brokers: c.addrs, Groups: []string{"stuck"}, AllowEmpty: true, StateFile: state,
		StallRuns: 3, StopAfter: 10 * time.Minute, NoTimeLag: true}
	head := "KAFKA_LAG OK - 1 group, total lag 7, most behind group stuck topic feed lag 7"
	runSteps(t, c, "stuck", "feed", o, []step{
		{at: 0, commit: map[int32]int64{0: 3, 1: 10}, status: plugin.OK, summary: head},
		{at: time.Minute, status: plugin.OK, summary: head},
		{at: 2 * time.Minute, status: plugin.OK, summary: head},
		{at: 3 * time.Minute, status: plugin.Warning, summary: "KAFKA_LAG WARNING - group stuck topic feed lag 7: stalled: offsets unchanged for 3 runs on feed/0"},
		{at: 9 * time.Minute, status: plugin.Warning, summary: "KAFKA_LAG WARNING - group stuck topic feed lag 7: stalled: offsets unchanged for 3 runs on feed/0"},
		{at: 10 * time.Minute, status: plugin.Critical, summary: "KAFKA_LAG CRITICAL - group stuck topic feed lag 7: stopped: offsets unchanged for 10m00s on feed/0"},
		{at: 11 * time.Minute, commit: map[int32]int64{0: 5}, status: plugin.OK, summary: "KAFKA_LAG OK - 1 group, total lag 5, most behind group stuck topic feed lag 5"},
	})
	// The file is JSON, written by rename: no temporary files left behind.
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("state file after the last run: %s", b)
	var parsed map[string]any
	if err := json.Unmarshal(b, &parsed); err != nil {
		t.Errorf("state file is not JSON: %v\n%s", err, b)
	}
	entries, _ := os.ReadDir(filepath.Dir(state))
	if len(entries) != 1 {
		t.Errorf("state directory holds %d entries, want only the state file", len(entries))
	}
}

// TestRewound: a commit that goes backwards is WARNING until the group is
// back past where it was.
func TestRewound(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c.producer(t), "feed", 1)
	produce(t, c.producer(t), "feed", map[int32]int{0: 20})
	o := kafkalag.Options{Brokers: c.addrs, Groups: []string{"replay"}, AllowEmpty: true, NoTimeLag: true,
		StateFile: filepath.Join(t.TempDir(), "state.json"), StallRuns: 3}
	runSteps(t, c, "replay", "feed", o, []step{
		{at: 0, commit: map[int32]int64{0: 12}, status: plugin.OK, summary: "KAFKA_LAG OK - 1 group, total lag 8, most behind group replay topic feed lag 8"},
		{at: time.Minute, commit: map[int32]int64{0: 4}, status: plugin.Warning, summary: "KAFKA_LAG WARNING - group replay topic feed lag 16: rewound: offsets went back on feed/0"},
		{at: 2 * time.Minute, commit: map[int32]int64{0: 9}, status: plugin.Warning, summary: "KAFKA_LAG WARNING - group replay topic feed lag 11: rewound: offsets went back on feed/0"},
		{at: 3 * time.Minute, commit: map[int32]int64{0: 13}, status: plugin.OK, summary: "KAFKA_LAG OK - 1 group, total lag 7, most behind group replay topic feed lag 7"},
	})
}

// TestLagGrowing: the consumer commits at every run, but more arrives than
// it consumes: WARNING once the lag has risen for --growth-runs runs.
func TestLagGrowing(t *testing.T) {
	c := startCluster(t)
	createTopic(t, c.producer(t), "feed", 1)
	produce(t, c.producer(t), "feed", map[int32]int{0: 10})
	o := kafkalag.Options{Brokers: c.addrs, Groups: []string{"slow"}, AllowEmpty: true, NoTimeLag: true,
		StateFile: filepath.Join(t.TempDir(), "state.json"), StallRuns: 3, GrowthRuns: 3}
	runSteps(t, c, "slow", "feed", o, []step{
		{at: 0, commit: map[int32]int64{0: 5}, status: plugin.OK, summary: "KAFKA_LAG OK - 1 group, total lag 5, most behind group slow topic feed lag 5"},
		{at: time.Minute, commit: map[int32]int64{0: 6}, produce: map[int32]int{0: 3}, status: plugin.OK, summary: "KAFKA_LAG OK - 1 group, total lag 7, most behind group slow topic feed lag 7"},
		{at: 2 * time.Minute, commit: map[int32]int64{0: 7}, produce: map[int32]int{0: 3}, status: plugin.OK, summary: "KAFKA_LAG OK - 1 group, total lag 9, most behind group slow topic feed lag 9"},
		{at: 3 * time.Minute, commit: map[int32]int64{0: 8}, produce: map[int32]int{0: 3}, status: plugin.Warning, summary: "KAFKA_LAG WARNING - group slow topic feed lag 11: lag growing for 3 runs"},
		// Catching up a little ends it.
		{at: 4 * time.Minute, commit: map[int32]int64{0: 12}, produce: map[int32]int{0: 1}, status: plugin.OK, summary: "KAFKA_LAG OK - 1 group, total lag 8, most behind group slow topic feed lag 8"},
	})
}

// TestDamagedStateFile: a damaged state file costs the history, not the
// check, and is replaced.
func TestDamagedStateFile(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "feed", 1)
	produce(t, cl, "feed", map[int32]int{0: 4})
	commitDirect(t, cl, "g", "feed", map[int32]int64{0: 1})
	state := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(state, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := kafkalag.Options{Brokers: c.addrs, Groups: []string{"g"}, AllowEmpty: true, NoTimeLag: true, StateFile: state, StallRuns: 3}
	res, out := run(t, o, base.Add(time.Hour))
	if res.Status != plugin.OK || !strings.Contains(out, "\nstate file "+state+" is damaged, starting afresh: ") {
		t.Errorf("status %v:\n%s", res.Status, out)
	}
	b, _ := os.ReadFile(state)
	if !json.Valid(b) {
		t.Errorf("state file not rewritten: %s", b)
	}
}
