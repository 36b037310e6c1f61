package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// TestExactLag: two topics, a franz-go group member commits known offsets
// and leaves; the lag per partition, per topic and in total is exact, and the
// time lag is the age of the record at the commit.
func TestExactLag(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "orders", 3)
	createTopic(t, cl, "clicks", 2)
	produce(t, cl, "orders", map[int32]int{0: 30, 1: 20, 2: 10})
	produce(t, cl, "clicks", map[int32]int{0: 5, 1: 8})
	c.consumeAndCommit(t, "svc", "orders", map[int32]int64{0: 25, 1: 20, 2: 4}, true)

	now := base.Add(time.Hour)
	res, out := run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"svc"}, Verbose: 1, AllowEmpty: true}, now)
	t.Log("\n" + out)
	if res.Status != plugin.OK {
		t.Errorf("status %v, want OK", res.Status)
	}
	got := sortedLines(partitionLines(out))
	want := strings.Join([]string{
		"orders/0: commit 25, start 0, end 30, lag 5, 3575s behind",
		"orders/1: commit 20, start 0, end 20, lag 0, 0s behind",
		"orders/2: commit 4, start 0, end 10, lag 6, 3596s behind",
	}, "\n")
	if got != want {
		t.Errorf("partitions:\n%s\nwant:\n%s", got, want)
	}
}
