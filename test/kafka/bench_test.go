package kafka

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

// bigCluster has `groups` groups, each on its own topic of `partitions`
// partitions holding 5 records each, every group committed at offset 2: every
// partition lags by 3, so every one needs a record fetched for its age.
func bigCluster(tb testing.TB, groups int, partitions int32) (*cluster, []string) {
	tb.Helper()
	c := startCluster(tb)
	cl := c.producer(tb, kgo.MaxBufferedRecords(1<<20))
	adm := kadm.NewClient(cl)
	var names []string
	for g := 0; g < groups; g++ {
		topic := fmt.Sprintf("big-%02d", g)
		group := fmt.Sprintf("grp-%02d", g)
		names = append(names, group)
		createTopic(tb, cl, topic, partitions)
		var recs []*kgo.Record
		for p := int32(0); p < partitions; p++ {
			for i := 0; i < 5; i++ {
				recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("x"), Timestamp: base.Add(time.Duration(i) * time.Second)})
			}
		}
		if err := cl.ProduceSync(ctxFor(tb, 60*time.Second), recs...).FirstErr(); err != nil {
			tb.Fatalf("producing: %v", err)
		}
		os := make(kadm.Offsets)
		for p := int32(0); p < partitions; p++ {
			os.AddOffset(topic, p, 2, -1)
		}
		resp, err := adm.CommitOffsets(ctxFor(tb, 30*time.Second), group, os)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			tb.Fatalf("committing: %v", err)
		}
	}
	return c, names
}

// countRequests counts requests by API key while letting the broker answer.
func countRequests(c *cluster, keys ...kmsg.Key) (get func() map[string]int) {
	var mu sync.Mutex
	counts := map[string]int{}
	for _, k := range keys {
		name := k.Name()
		c.ControlKey(int16(k), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			mu.Lock()
			counts[name]++
			mu.Unlock()
			return nil, nil, false
		})
	}
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range counts {
			out[k] = v
		}
		return out
	}
}

// TestBatchedRequests: 10 groups × 200 partitions cost a handful of requests
// per kind (one per broker or coordinator), never one per partition.
func TestBatchedRequests(t *testing.T) {
	c, groups := bigCluster(t, 10, 200)
	counts := countRequests(c, kmsg.DescribeGroups, kmsg.OffsetFetch, kmsg.ListOffsets, kmsg.Fetch, kmsg.Metadata)
	res, out := run(t, kafkalag.Options{Brokers: c.addrs, Groups: groups, AllowEmpty: true}, base.Add(time.Hour))
	if res.Status != plugin.OK || !strings.HasPrefix(out, "KAFKA_LAG OK - 10 groups, total lag 6000, most behind group grp-00 topic big-00 lag 600, 3598s behind |") {
		t.Errorf("status %v:\n%.400s", res.Status, out)
	}
	got := counts()
	t.Logf("requests for 2000 group-partitions on 3 brokers: %v", got)
	// 3 brokers: at most one request per broker for each kind, and for
	// ListOffsets one per broker for start and one for end offsets.
	limits := map[string]int{"DescribeGroups": 3, "OffsetFetch": 3, "ListOffsets": 6, "Fetch": 3, "Metadata": 6}
	for k, limit := range limits {
		if got[k] == 0 || got[k] > limit {
			t.Errorf("%s requests: %d, want 1..%d", k, got[k], limit)
		}
	}
}

// BenchmarkCheck10Groups1000Partitions: one check over 10 groups of 1000
// partitions each on a loopback kfake cluster, every partition lagging, lag in
// seconds included. The budget is 500 ms.
func BenchmarkCheck10Groups1000Partitions(b *testing.B) {
	c, groups := bigCluster(b, 10, 1000)
	// The whole program as Nagios runs it: process start, connection,
	// every request, output.
	b.Run("binary", func(b *testing.B) {
		bin := testenv.Build(b, "plugins/cmd/check_kafka_lag")
		args := []string{"-B", strings.Join(c.addrs, ","), "-g", strings.Join(groups, ","), "--allow-empty", "--state-file", "none", "-t", "10"}
		for i := 0; i < b.N; i++ {
			out, err := exec.Command(bin, args...).Output()
			if err != nil || !strings.HasPrefix(string(out), "KAFKA_LAG OK - 10 groups, total lag 30000;") {
				b.Fatalf("%v %.300s", err, out)
			}
		}
	})
	// With the movement history: 10 000 partitions read from and written
	// to the state file every run.
	b.Run("with-state-file", func(b *testing.B) {
		o := kafkalag.Options{Brokers: c.addrs, Groups: groups, AllowEmpty: true, StateFile: b.TempDir() + "/state.json", StallRuns: 3, GrowthRuns: 5}
		for i := 0; i < b.N; i++ {
			if res, out := run(b, o, base.Add(time.Hour+time.Duration(i)*time.Minute)); res.Status == plugin.Unknown {
				b.Fatalf("%.300s", out)
			}
		}
	})
	for _, tl := range []bool{false, true} {
		name := "with-time-lag"
		if tl {
			name = "no-time-lag"
		}
		b.Run(name, func(b *testing.B) {
			o := kafkalag.Options{Brokers: c.addrs, Groups: groups, AllowEmpty: true, NoTimeLag: tl}
			for i := 0; i < b.N; i++ {
				res, out := run(b, o, base.Add(time.Hour))
				if res.Status != plugin.OK || !strings.HasPrefix(out, "KAFKA_LAG OK - 10 groups, total lag 30000;") {
					b.Fatalf("%v %.300s", res.Status, out)
				}
			}
		})
	}
}
