// Package kafka holds check_kafka_lag's integration tests: a real Kafka
// wire-protocol cluster (franz-go's kfake) started in the test, driven by a
// real franz-go consumer group and by Debian's kcat as an independent client.
package kafka

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// base is the CreateTime of the first record the tests produce; record i of
// a partition is stamped base + i seconds, so lag in seconds is exact.
var base = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type cluster struct {
	*kfake.Cluster
	addrs []string
}

// startCluster starts a three-broker kfake cluster on random 127.0.0.1 ports,
// closed when the test ends.
func startCluster(t testing.TB, opts ...kfake.Opt) *cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3)}, opts...)...)
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return &cluster{Cluster: c, addrs: c.ListenAddrs()}
}

func (c *cluster) client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.addrs...)}, opts...)...)
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// createTopic creates a topic with the given partitions.
func createTopic(t testing.TB, cl *kgo.Client, topic string, partitions int32) {
	t.Helper()
	resp, err := kadm.NewClient(cl).CreateTopic(ctxFor(t, 10*time.Second), partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
}

// produce writes counts[p] records to partition p of topic, stamping the
// record at offset o with base + o seconds (the partitions start empty).
func produce(t testing.TB, cl *kgo.Client, topic string, counts map[int32]int) {
	t.Helper()
	ends := endOffsets(t, cl, topic)
	var recs []*kgo.Record
	for p, n := range counts {
		for i := 0; i < n; i++ {
			off := ends[p] + int64(i)
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(fmt.Sprintf("%s-%d-%d", topic, p, off)),
				Timestamp: base.Add(time.Duration(off) * time.Second)})
		}
	}
	if err := cl.ProduceSync(ctxFor(t, 20*time.Second), recs...).FirstErr(); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
}

func endOffsets(t testing.TB, cl *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctxFor(t, 10*time.Second), topic)
	if err != nil {
		t.Fatalf("listing end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// producer returns a client that writes to the partition a record names.
func (c *cluster) producer(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	return c.client(t, append([]kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0)}, opts...)...)
}

// consumeAndCommit joins group as a real consumer-group member, reads every
// partition of topic up to the offsets in upTo (exclusive; the records
// before them are really fetched) and commits those offsets through the
// group, as a consumer does after processing. With leave it then leaves the
// group (which becomes Empty); otherwise it stays a member until the test
// ends.
func (c *cluster) consumeAndCommit(t testing.TB, group, topic string, upTo map[int32]int64, leave bool, opts ...kgo.Opt) *kgo.Client {
	return c.consume(t, group, topic, upTo, true, leave, opts...)
}

func (c *cluster) consume(t testing.TB, group, topic string, upTo map[int32]int64, commit, leave bool, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(c.addrs...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.ClientID("lag-test-" + group),
	}, opts...)...)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			cl.Close()
		}
	})
	ctx := ctxFor(t, 30*time.Second)
	seen := map[int32]int64{}
	done := func() bool {
		for p, want := range upTo {
			if want > 0 && seen[p] < want {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumer %s reached %v of %v: %v", group, seen, upTo, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("consuming %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { seen[r.Partition] = max(seen[r.Partition], r.Offset+1) })
	}
	offsets := map[string]map[int32]kgo.EpochOffset{topic: {}}
	for p, off := range upTo {
		if off > 0 {
			offsets[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
	}
	if !commit {
		if leave {
			cl.Close()
			closed = true
		}
		return cl
	}
	var commitErr error
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			commitErr = err
			return
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if rp.ErrorCode != 0 {
					commitErr = fmt.Errorf("commit %s/%d: error code %d", rt.Topic, rp.Partition, rp.ErrorCode)
				}
			}
		}
	})
	if commitErr != nil {
		t.Fatalf("group %s committing %v: %v", group, upTo, commitErr)
	}
	if leave {
		cl.Close()
		closed = true
	}
	return cl
}

// commitDirect sets a group's committed offsets from outside the group, as
// kafka-consumer-groups.sh --reset-offsets does on an Empty group.
func commitDirect(t testing.TB, cl *kgo.Client, group, topic string, offsets map[int32]int64) {
	t.Helper()
	os := make(kadm.Offsets)
	for p, o := range offsets {
		os.AddOffset(topic, p, o, -1)
	}
	resp, err := kadm.NewClient(cl).CommitOffsets(ctxFor(t, 10*time.Second), group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("committing %v for %s: %v", offsets, group, err)
	}
}

// run runs the check in-process with a fixed clock.
func run(t testing.TB, o kafkalag.Options, now time.Time, args ...string) (plugin.Result, string) {
	t.Helper()
	o.Now = func() time.Time { return now }
	if o.MissingOffset == "" {
		o.MissingOffset = kafkalag.MissingLatest
	}
	if o.ClientID == "" {
		o.ClientID = "vigil-test"
	}
	if o.UnreachableState == 0 {
		o.UnreachableState = plugin.Critical
	}
	ctx := ctxFor(t, 10*time.Second)
	res := kafkalag.Check(ctx, o)
	return res, res.Render("KAFKA_LAG")
}

// partitionLines returns the -v partition lines of an output, keyed by
// "topic/partition".
func partitionLines(out string) map[string]string {
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "[") || strings.HasPrefix(l, `\_`) || strings.HasPrefix(l, "KAFKA_LAG") {
			continue
		}
		k, _, ok := strings.Cut(l, ": ")
		if ok {
			lines[k] = l
		}
	}
	return lines
}

func sortedLines(m map[string]string) string {
	var ls []string
	for _, l := range m {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	return strings.Join(ls, "\n")
}
