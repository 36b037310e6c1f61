package kafka

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// TestLargeBatches: the record at the commit sits in batches of about 20 KiB,
// 900 KiB and 2 MiB, larger than the first Fetch's per-partition budget
// (16 KiB); the check asks again with more room, then alone, and still
// reads every age. All four partitions share one leader fetch.
func TestLargeBatches(t *testing.T) {
	c := startCluster(t, kfake.NumBrokers(1), kfake.BrokerConfigs(map[string]string{"message.max.bytes": "8000000"}))
	cl := c.producer(t, kgo.ProducerBatchMaxBytes(6<<20), kgo.MaxBufferedBytes(64<<20),
		kgo.ProducerBatchCompression(kgo.NoCompression())) // sizes as written
	createTopic(t, cl, "big", 4)
	sizes := map[int32]int{0: 100, 1: 20 << 10, 2: 300 << 10, 3: 1 << 20}
	var recs []*kgo.Record
	for p, size := range sizes {
		for i := 0; i < 3; i++ {
			recs = append(recs, &kgo.Record{Topic: "big", Partition: p, Value: bytes.Repeat([]byte{'x'}, size),
				Timestamp: base.Add(time.Duration(10*int(p)+i) * time.Second)})
		}
	}
	if err := cl.ProduceSync(ctxFor(t, 30*time.Second), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	commitDirect(t, cl, "heavy", "big", map[int32]int64{0: 1, 1: 1, 2: 1, 3: 1})
	fetches := countRequests(c, kmsg.Fetch)
	res, out := run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"heavy"}, AllowEmpty: true, Verbose: 1}, base.Add(time.Minute))
	want := map[string]string{
		"big/0": "big/0: commit 1, start 0, end 3, lag 2, 59s behind",
		"big/1": "big/1: commit 1, start 0, end 3, lag 2, 49s behind",
		"big/2": "big/2: commit 1, start 0, end 3, lag 2, 39s behind",
		"big/3": "big/3: commit 1, start 0, end 3, lag 2, 29s behind",
	}
	got := partitionLines(out)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
	// One Fetch for all four; one with 1 MiB of room for the three that came
	// back empty (the 20 KiB and 900 KiB batches fit); one alone for the
	// 2 MiB batch.
	if n := fetches()["Fetch"]; n != 3 {
		t.Errorf("%d Fetch requests, want 3", n)
	}
	if res.Status != plugin.OK {
		t.Errorf("status %v:\n%s", res.Status, out)
	}
}
