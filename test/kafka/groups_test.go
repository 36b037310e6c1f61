package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func statusLine(out string) string {
	l, _, _ := strings.Cut(firstLine(out), " | ")
	return l
}

// TestGroupStates: an Empty group with lag is a consumer that is down
// (CRITICAL, still reported); a live member makes it Stable; --min-members;
// an Empty group with no commits is UNKNOWN, never "lag 0".
func TestGroupStates(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "events", 2)
	produce(t, cl, "events", map[int32]int{0: 10, 1: 10})
	now := base.Add(time.Hour)

	c.consumeAndCommit(t, "down", "events", map[int32]int64{0: 10, 1: 4}, true)
	res, out := run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"down"}}, now)
	if want := "KAFKA_LAG CRITICAL - group down topic events lag 6: no active members (consumer down)"; res.Status != plugin.Critical || statusLine(out) != want {
		t.Errorf("Empty with lag:\n%s\nwant %q", out, want)
	}
	if !strings.Contains(out, "\n[CRITICAL] group down: Empty, 0 members, lag 6,") || !strings.Contains(out, " down_members=0;;;0 ") {
		t.Errorf("Empty group details:\n%s", out)
	}

	c.consumeAndCommit(t, "live", "events", map[int32]int64{0: 7, 1: 10}, false)
	res, out = run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"live"}, Verbose: 1}, now)
	if want := "KAFKA_LAG OK - 1 group, total lag 3, most behind group live topic events lag 3, 3593s behind"; res.Status != plugin.OK || statusLine(out) != want {
		t.Errorf("live group:\n%s\nwant %q", out, want)
	}
	if !strings.Contains(out, "[OK] group live: Stable, 1 member, lag 3") || !strings.Contains(out, "events/0: commit 7, start 0, end 10, lag 3, 3593s behind, member lag-test-live") {
		t.Errorf("live group details:\n%s", out)
	}
	res, out = run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"live"}, MinMembers: 2}, now)
	if want := "KAFKA_LAG CRITICAL - group live topic events lag 3: 1 member (minimum 2)"; res.Status != plugin.Critical || statusLine(out) != want {
		t.Errorf("--min-members:\n%s\nwant %q", out, want)
	}

	c.consume(t, "nocommit", "events", map[int32]int64{0: 10, 1: 10}, false, true)
	res, out = run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"nocommit"}}, now)
	if want := "KAFKA_LAG UNKNOWN - group nocommit lag 0: no committed offsets and no members"; res.Status != plugin.Unknown || statusLine(out) != want {
		t.Errorf("Empty without commits:\n%s\nwant %q", out, want)
	}
}

// TestKIP848Group: a consumer using the KIP-848 protocol; the classic
// DescribeGroups says 0 members, the check asks ConsumerGroupDescribe.
func TestKIP848Group(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "events", 2)
	produce(t, cl, "events", map[int32]int{0: 10, 1: 10})
	c.consumeAndCommit(t, "next", "events", map[int32]int64{0: 10, 1: 6}, false, kgo.ServerSideBalancer())
	res, out := run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"next"}, MinMembers: 1}, base.Add(time.Hour))
	if want := "KAFKA_LAG OK - 1 group, total lag 4, most behind group next topic events lag 4, 3594s behind"; res.Status != plugin.OK || statusLine(out) != want {
		t.Errorf("KIP-848 group:\n%s\nwant %q", out, want)
	}
	if !strings.Contains(out, "[OK] group next: Stable, 1 member, lag 4") {
		t.Errorf("KIP-848 details:\n%s", out)
	}
}

// TestMissingOffsets: one partition committed, one not, under each policy.
func TestMissingOffsets(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "events", 2)
	produce(t, cl, "events", map[int32]int{0: 10, 1: 8})
	commitDirect(t, cl, "half", "events", map[int32]int64{0: 6})
	now := base.Add(time.Hour)
	for _, tt := range []struct {
		policy, line, detail string
	}{
		{kafkalag.MissingLatest, "KAFKA_LAG OK - 1 group, total lag 4, most behind group half topic events lag 4, 3594s behind",
			"events/1: no commit, start 0, end 8, lag 0, 0s behind"},
		{kafkalag.MissingEarliest, "KAFKA_LAG OK - 1 group, total lag 12, most behind group half topic events lag 12, 3600s behind",
			"events/1: no commit, start 0, end 8, lag 8, 3600s behind"},
		{kafkalag.MissingIgnore, "KAFKA_LAG OK - 1 group, total lag 4, most behind group half topic events lag 4, 3594s behind",
			"1 partition without committed offset (ignore)"},
	} {
		res, out := run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"half"}, AllowEmpty: true, MissingOffset: tt.policy, Verbose: 1}, now)
		if res.Status != plugin.OK || statusLine(out) != tt.line || !strings.Contains(out, tt.detail) {
			t.Errorf("--missing-offset %s:\n%s\nwant %q and %q", tt.policy, out, tt.line, tt.detail)
		}
	}
}

// TestDataLoss: retention deleted records the group had not consumed: the
// loss is reported, and the time lag is that of the oldest record left.
func TestDataLoss(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "events", 1)
	produce(t, cl, "events", map[int32]int{0: 20})
	commitDirect(t, cl, "late", "events", map[int32]int64{0: 2})
	os := make(kadm.Offsets)
	os.AddOffset("events", 0, 6, -1)
	if _, err := kadm.NewClient(cl).DeleteRecords(ctxFor(t, 10*time.Second), os); err != nil {
		t.Fatal(err)
	}
	res, out := run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"late"}, AllowEmpty: true, Verbose: 1}, base.Add(time.Hour))
	if want := "KAFKA_LAG WARNING - group late topic events lag 18: 4 messages deleted unconsumed (commit below log start)"; res.Status != plugin.Warning || statusLine(out) != want {
		t.Errorf("data loss:\n%s\nwant %q", out, want)
	}
	if !strings.Contains(out, "events/0: commit 2, start 6, end 20, lag 18, 3594s behind [4 lost]") {
		t.Errorf("data loss details:\n%s", out)
	}
}

// TestSelection: regular expressions and exclusions over groups and topics,
// with several groups, and thresholds naming the worst group.
func TestSelection(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "orders", 2)
	createTopic(t, cl, "orders-dlq", 1)
	createTopic(t, cl, "clicks", 1)
	produce(t, cl, "orders", map[int32]int{0: 10, 1: 10})
	produce(t, cl, "orders-dlq", map[int32]int{0: 5})
	produce(t, cl, "clicks", map[int32]int{0: 30})
	commitDirect(t, cl, "model-a", "orders", map[int32]int64{0: 9, 1: 9})
	commitDirect(t, cl, "model-a", "orders-dlq", map[int32]int64{0: 0})
	commitDirect(t, cl, "model-b", "clicks", map[int32]int64{0: 5})
	commitDirect(t, cl, "other", "clicks", map[int32]int64{0: 0})
	now := base.Add(time.Hour)
	o := kafkalag.Options{Brokers: c.addrs, GroupRegex: "model-.*", AllowEmpty: true, NoTimeLag: true}
	o.TotalLag.Warning = plugin.MustRange("10")
	o.TotalLag.Critical = plugin.MustRange("20")
	res, out := run(t, o, now)
	if want := "KAFKA_LAG CRITICAL - group model-b topic clicks: lag 25 (critical 20)"; res.Status != plugin.Critical || statusLine(out) != want {
		t.Errorf("regex:\n%s\nwant %q", out, want)
	}
	if strings.Contains(out, "other") {
		t.Errorf("group other selected:\n%s", out)
	}
	o.ExcludeGroups = []string{"model-b"}
	res, out = run(t, o, now)
	if want := "KAFKA_LAG OK - 1 group, total lag 7, most behind group model-a topic orders-dlq lag 7"; res.Status != plugin.OK || statusLine(out) != want {
		t.Errorf("exclude group:\n%s\nwant %q", out, want)
	}
	o.ExcludeTopicRegex = ".*-dlq"
	res, out = run(t, o, now)
	if want := "KAFKA_LAG OK - 1 group, total lag 2, most behind group model-a topic orders lag 2"; res.Status != plugin.OK || statusLine(out) != want {
		t.Errorf("exclude topic:\n%s\nwant %q", out, want)
	}
	o = kafkalag.Options{Brokers: c.addrs, TopicRegex: "clicks", AllowEmpty: true, NoTimeLag: true}
	res, out = run(t, o, now)
	if want := "KAFKA_LAG OK - 2 groups, total lag 55, most behind group other topic clicks lag 30"; res.Status != plugin.OK || statusLine(out) != want {
		t.Errorf("topic regex over all groups:\n%s\nwant %q", out, want)
	}
}
