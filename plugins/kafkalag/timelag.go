package kafkalag

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// A record is fetched only for its timestamp, so each partition first asks
// for little. A batch that does not fit comes back empty: it is asked for again
// with room for Kafka's default largest batch (1 MiB), and after that alone,
// where the broker returns the first batch whatever its size.
const (
	fetchPartitionBytes = 16 << 10
	fetchRetryBytes     = 1 << 20
	fetchRequestBytes   = 32 << 20
	maxFetchAttempts    = 3
)

type recordKey struct {
	topic     string
	partition int32
	offset    int64
}

// measureSeconds sets the age of the oldest unconsumed record of every
// lagging partition: now minus the timestamp of the record at the committed
// offset, and returns how many it could not read. All partitions are read with one Fetch per leader broker (more only
// when several groups sit at different offsets of one partition, or a batch is
// larger than the per-partition budget).
func measureSeconds(ctx context.Context, cl *kgo.Client, snap *snapshot, now time.Time) (missing int, firstErr error) {
	plugin.SetStage(ctx, "fetching records for lag in seconds")
	want := map[recordKey]bool{}
	for _, gl := range snap.groups {
		for _, tl := range gl.Topics {
			for _, pl := range tl.Partitions {
				if pl.Counted && pl.Lag > 0 {
					want[recordKey{pl.Topic, pl.Partition, pl.readOffset()}] = true
				}
			}
		}
	}
	stamps, errs := fetchTimestamps(ctx, cl, snap.meta, want)
	for k := range want {
		if _, ok := stamps[k]; !ok {
			missing++
			if firstErr == nil {
				firstErr = errs[k]
			}
		}
	}
	for _, gl := range snap.groups {
		for _, tl := range gl.Topics {
			for _, pl := range tl.Partitions {
				if pl.Counted && pl.Lag > 0 {
					if ts, ok := stamps[recordKey{pl.Topic, pl.Partition, pl.readOffset()}]; ok {
						pl.Seconds = math.Max(now.Sub(ts).Seconds(), 0)
					}
				}
			}
		}
		gl.sumSeconds()
	}
	return missing, firstErr
}

// fetchTimestamps returns the timestamp of the first record at or after each
// wanted offset. Offsets it could not read are missing from the result.
func fetchTimestamps(ctx context.Context, cl *kgo.Client, meta kadm.Metadata, want map[recordKey]bool) (map[recordKey]time.Time, map[recordKey]error) {
	out := map[recordKey]time.Time{}
	errs := map[recordKey]error{}
	if len(want) == 0 {
		return out, errs
	}
	// One offset per partition per round.
	byPartition := map[[2]any][]int64{}
	for k := range want {
		tp := [2]any{k.topic, k.partition}
		byPartition[tp] = append(byPartition[tp], k.offset)
	}
	var rounds [][]recordKey
	for tp, offs := range byPartition {
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		for i, off := range offs {
			if i == len(rounds) {
				rounds = append(rounds, nil)
			}
			rounds[i] = append(rounds[i], recordKey{tp[0].(string), tp[1].(int32), off})
		}
	}
	var mu sync.Mutex
	for _, round := range rounds {
		pending := round
		for attempt := 0; attempt < maxFetchAttempts && len(pending) > 0 && ctx.Err() == nil; attempt++ {
			byLeader := map[int32][]recordKey{}
			for _, k := range pending {
				td, ok := meta.Topics[k.topic]
				if !ok {
					continue
				}
				pd, ok := td.Partitions[k.partition]
				if !ok || pd.Leader < 0 {
					continue
				}
				byLeader[pd.Leader] = append(byLeader[pd.Leader], k)
			}
			var requests []fetchBatch
			for leader, keys := range byLeader {
				// A stable order: the same partition leads a request
				// (and gets its batch whatever its size) every run.
				sort.Slice(keys, func(i, j int) bool {
					if keys[i].topic != keys[j].topic {
						return keys[i].topic < keys[j].topic
					}
					return keys[i].partition < keys[j].partition
				})
				switch attempt {
				case 0:
					requests = append(requests, fetchBatch{leader, keys, fetchPartitionBytes})
				case 1:
					requests = append(requests, fetchBatch{leader, keys, fetchRetryBytes})
				default:
					for _, k := range keys {
						requests = append(requests, fetchBatch{leader, []recordKey{k}, fetchRetryBytes})
					}
				}
			}
			var wg sync.WaitGroup
			var next []recordKey
			limit := make(chan struct{}, 16)
			for _, fb := range requests {
				wg.Add(1)
				limit <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-limit }()
					got, failed, retry := fetchOnce(ctx, cl, meta, fb)
					mu.Lock()
					defer mu.Unlock()
					for k, ts := range got {
						out[k] = ts
					}
					for k, err := range failed {
						errs[k] = err
					}
					next = append(next, retry...)
				}()
			}
			wg.Wait()
			pending = next
		}
	}
	return out, errs
}

// fetchOnce sends one Fetch to a leader for the given offsets and returns the
// timestamps it got, the errors, and the keys worth asking again (empty, no
// error).
type fetchBatch struct {
	leader         int32
	keys           []recordKey
	partitionBytes int32
}

func fetchOnce(ctx context.Context, cl *kgo.Client, meta kadm.Metadata, fb fetchBatch) (map[recordKey]time.Time, map[recordKey]error, []recordKey) {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 0
	req.MinBytes = 1
	req.MaxBytes = fetchRequestBytes
	req.SessionID = 0
	req.SessionEpoch = -1
	index := map[string]int{}
	offsets := map[[2]any]int64{}
	for _, k := range fb.keys {
		i, ok := index[k.topic]
		if !ok {
			t := kmsg.NewFetchRequestTopic()
			t.Topic = k.topic
			t.TopicID = meta.Topics[k.topic].ID
			req.Topics = append(req.Topics, t)
			i = len(req.Topics) - 1
			index[k.topic] = i
		}
		p := kmsg.NewFetchRequestTopicPartition()
		p.Partition = k.partition
		p.FetchOffset = k.offset
		p.PartitionMaxBytes = fb.partitionBytes
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, p)
		offsets[[2]any{k.topic, k.partition}] = k.offset
	}
	got := map[recordKey]time.Time{}
	failed := map[recordKey]error{}
	failAll := func(err error) {
		for _, k := range fb.keys {
			failed[k] = err
		}
	}
	resp, err := req.RequestWith(ctx, cl.Broker(int(fb.leader)))
	if err != nil {
		failAll(err)
		return got, failed, nil
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		failAll(err)
		return got, failed, nil
	}
	byID := map[kadm.TopicID]string{}
	for name, td := range meta.Topics {
		byID[td.ID] = name
	}
	var retry []recordKey
	decompressor := kgo.DefaultDecompressor()
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		topic := rt.Topic
		if topic == "" {
			topic = byID[kadm.TopicID(rt.TopicID)]
		}
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			off, ok := offsets[[2]any{topic, rp.Partition}]
			if !ok {
				continue
			}
			key := recordKey{topic, rp.Partition, off}
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				failed[key] = err
				continue
			}
			fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
				Topic: topic, Partition: rp.Partition, Offset: off,
			}, rp, decompressor, nil)
			found := false
			for _, r := range fp.Records {
				if r.Offset >= off {
					got[key] = r.Timestamp
					found = true
					break
				}
			}
			if !found && len(rp.RecordBatches) == 0 {
				retry = append(retry, key)
			}
		}
	}
	return got, failed, retry
}
