package kafkalag

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// PartitionLag is one partition as one group sees it.
type PartitionLag struct {
	Topic     string
	Partition int32
	Commit    int64 // committed offset, -1 when none
	Start     int64 // log start offset (low watermark)
	End       int64 // log end offset (high watermark)
	Lag       int64 // messages behind, after the --missing-offset policy
	Counted   bool  // false when left out by --missing-offset ignore, or on error
	Lost      int64 // messages deleted unconsumed (commit below the log start)
	Member    string
	Err       error // the partition could not be measured

	// Seconds is the age of the oldest unconsumed record; NaN when unknown.
	Seconds float64
	// Movement, from the state file.
	Stalled, Stopped, Rewound bool
	Unmoved                   float64 // seconds since the committed offset last changed
}

// TopicLag sums one group's partitions of one topic.
type TopicLag struct {
	Topic      string
	Partitions []*PartitionLag
	Lag        int64
	MaxLag     int64
	Seconds    float64 // the oldest unconsumed record; NaN when unknown
	Unknown    bool    // the topic could not be described
	Err        error   // why: UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED, ...
}

// GroupLag is one consumer group.
type GroupLag struct {
	Group    string
	State    string // Stable, Empty, PreparingRebalance, Dead, ...
	Protocol string // "consumer" for classic consumer groups, "" for KIP-848 ones
	Members  int
	Topics   []*TopicLag
	Err      error // the group could not be described or its offsets fetched
	NotFound bool  // the coordinator does not know the group
	// NoSelectedTopics: the group has offsets, but on no selected topic.
	NoSelectedTopics bool

	Total        int64
	MaxPartition *PartitionLag
	Seconds      float64 // NaN when unknown
	Committed    int     // partitions with a committed offset
	Missing      int     // partitions without one
	Errors       int     // partitions that could not be measured
	Lost         int64

	Growing bool
}

// snapshot is one run's view of the cluster.
type snapshot struct {
	groups []*GroupLag
	meta   kadm.Metadata
}

// collect reads, in this order, the groups, their committed offsets, then
// the topics' metadata and start and end offsets. Commits are read before end
// offsets so that a commit landing in between can only make the lag look
// smaller by what was consumed meanwhile, never negative.
func collect(ctx context.Context, adm *kadm.Client, o *Options, sel *selection) (*snapshot, error) {
	// Learn the brokers first. This request moves on to the next seed when
	// one refuses; franz-go's sharded admin requests (FindCoordinator,
	// ListGroups) would fail on the first dead seed they pick.
	plugin.SetStage(ctx, "connecting")
	if _, err := adm.BrokerMetadata(ctx); err != nil {
		return nil, fmt.Errorf("reading cluster metadata: %w", err)
	}

	groups := sortedKeys(sel.groups)
	if sel.listAll() {
		plugin.SetStage(ctx, "listing groups")
		listed, err := adm.ListGroups(ctx)
		if err != nil && (len(listed) == 0 || !isShardErr(err)) {
			return nil, fmt.Errorf("listing groups: %w", err)
		}
		for _, g := range listed.Groups() {
			if sel.wantGroup(g) && !sel.groups[g] {
				groups = append(groups, g)
			}
		}
		sort.Strings(groups)
	}
	if len(groups) == 0 {
		return &snapshot{}, nil
	}

	plugin.SetStage(ctx, "describing groups")
	described, err := adm.DescribeGroups(ctx, groups...)
	var shardErrs *kadm.ShardErrors
	if err != nil && (!errors.As(err, &shardErrs) || shardErrs.AllFailed) {
		return nil, fmt.Errorf("describing groups: %w", err)
	}
	describeErrs := map[string]error{}
	if shardErrs != nil {
		for _, se := range shardErrs.Errs {
			if err := authError(se.Err); err != nil {
				return nil, fmt.Errorf("describing groups: %w", err)
			}
			for _, name := range groupsOfShard(se) {
				describeErrs[name] = se.Err
			}
		}
	}

	// KIP-848 groups answer the classic DescribeGroups with no members;
	// their members come from ConsumerGroupDescribe.
	var next []string
	for _, g := range groups {
		d, ok := described[g]
		if ok && d.Err == nil && len(d.Members) == 0 && d.ProtocolType == "" && d.State != "Empty" && d.State != "Dead" && d.State != "" {
			next = append(next, g)
		}
	}
	var consumerGroups kadm.DescribedConsumerGroups
	if len(next) > 0 {
		plugin.SetStage(ctx, "describing KIP-848 consumer groups")
		consumerGroups, _ = adm.DescribeConsumerGroups(ctx, next...)
	}

	plugin.SetStage(ctx, "fetching committed offsets")
	fetched := adm.FetchManyOffsets(ctx, groups...)
	if err := ctx.Err(); err != nil {
		// Out of time: stop here, so the timeout names this stage rather
		// than a later one reached with a dead context.
		return nil, fmt.Errorf("fetching committed offsets: %w", err)
	}
	for _, r := range fetched {
		if err := authError(r.Err); err != nil {
			return nil, fmt.Errorf("fetching committed offsets of group %s: %w", r.Group, err)
		}
	}

	// Which topics each group is about: the ones named with --topic, else
	// the ones it committed to or is assigned or subscribed to.
	groupTopics := map[string][]string{}
	allTopics := map[string]bool{}
	filteredOut := map[string]bool{} // groups whose every topic is unselected
	explicitTopics := len(sel.topics) > 0 && sel.topicRe == nil
	for _, g := range groups {
		ts := map[string]bool{}
		if explicitTopics {
			for t := range sel.topics {
				if sel.wantTopic(t) {
					ts[t] = true
				}
			}
		} else {
			if f, ok := fetched[g]; ok && f.Err == nil {
				for t := range f.Fetched {
					ts[t] = true
				}
			}
			if d, ok := described[g]; ok && d.Err == nil {
				for t := range d.AssignedPartitions() {
					ts[t] = true
				}
				for _, t := range d.JoinTopics() {
					ts[t] = true
				}
			}
			if cg, ok := consumerGroups[g]; ok && cg.Err == nil {
				for t := range cg.AssignedPartitions() {
					ts[t] = true
				}
			}
			// KIP-848 assignments name topics by ID only.
			delete(ts, "")
			had := len(ts) > 0
			for t := range ts {
				if !sel.wantTopic(t) {
					delete(ts, t)
				}
			}
			if had && len(ts) == 0 {
				filteredOut[g] = true
			}
		}
		groupTopics[g] = sortedKeys(ts)
		for t := range ts {
			allTopics[t] = true
		}
	}

	snap := &snapshot{}
	var starts, ends kadm.ListedOffsets
	if topics := sortedKeys(allTopics); len(topics) > 0 {
		plugin.SetStage(ctx, "reading topic metadata")
		meta, err := adm.Metadata(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("reading metadata: %w", err)
		}
		snap.meta = meta
		plugin.SetStage(ctx, "listing start and end offsets")
		var wg sync.WaitGroup
		var startErr, endErr error
		wg.Add(2)
		go func() { defer wg.Done(); starts, startErr = adm.ListStartOffsets(ctx, topics...) }()
		go func() { defer wg.Done(); ends, endErr = adm.ListEndOffsets(ctx, topics...) }()
		wg.Wait()
		for _, e := range []struct {
			what string
			err  error
		}{{"start", startErr}, {"end", endErr}} {
			if e.err != nil && !isShardErr(e.err) {
				return nil, fmt.Errorf("listing %s offsets: %w", e.what, e.err)
			}
			if err := authError(e.err); err != nil {
				return nil, fmt.Errorf("listing %s offsets: %w", e.what, err)
			}
		}
	}

	for _, g := range groups {
		if filteredOut[g] && !sel.groups[g] {
			// Found by listing, and about none of the selected topics.
			continue
		}
		gl := &GroupLag{Group: g, Seconds: nan(), NoSelectedTopics: filteredOut[g]}
		snap.groups = append(snap.groups, gl)
		if err, ok := describeErrs[g]; ok {
			gl.Err = fmt.Errorf("describing group: %w", err)
			continue
		}
		d, ok := described[g]
		if !ok {
			gl.Err = errors.New("the coordinator did not describe the group")
			continue
		}
		if errors.Is(d.Err, kerr.GroupIDNotFound) || (d.Err == nil && d.State == "Dead") {
			gl.NotFound, gl.State = true, "Dead"
			continue
		}
		if d.Err != nil {
			gl.Err = fmt.Errorf("describing group: %w", d.Err)
			continue
		}
		gl.State, gl.Protocol, gl.Members = d.State, d.ProtocolType, len(d.Members)
		members := map[string]string{} // "topic/partition" -> client id
		for _, m := range d.Members {
			if c, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range c.Topics {
					for _, p := range t.Partitions {
						members[tpKey(t.Topic, p)] = m.ClientID
					}
				}
			}
		}
		if cg, ok := consumerGroups[g]; ok && cg.Err == nil {
			gl.State, gl.Members = cg.State, len(cg.Members)
			for _, m := range cg.Members {
				for t, ps := range m.Assignment {
					if t == "" {
						continue
					}
					for p := range ps {
						members[tpKey(t, p)] = m.ClientID
					}
				}
			}
		}
		f := fetched[g]
		if f.Err != nil {
			gl.Err = fmt.Errorf("fetching committed offsets: %w", f.Err)
			continue
		}
		for _, t := range groupTopics[g] {
			tl := &TopicLag{Topic: t, Seconds: nan()}
			gl.Topics = append(gl.Topics, tl)
			td, ok := snap.meta.Topics[t]
			if !ok || td.Err != nil {
				tl.Unknown, tl.Err = true, kerr.UnknownTopicOrPartition
				if ok {
					tl.Err = td.Err
				}
				continue
			}
			for _, pd := range td.Partitions.Sorted() {
				pl := &PartitionLag{Topic: t, Partition: pd.Partition, Commit: -1, Start: -1, End: -1, Seconds: nan(), Member: members[tpKey(t, pd.Partition)]}
				if c, ok := f.Fetched.Lookup(t, pd.Partition); ok {
					if c.Err != nil {
						pl.Err = fmt.Errorf("committed offset: %w", c.Err)
					} else {
						pl.Commit = c.At
					}
				}
				if pl.Commit < 0 && pl.Err == nil && o.MissingOffset == MissingIgnore {
					gl.Missing++
					continue
				}
				if pd.Err != nil && pl.Err == nil {
					pl.Err = pd.Err
				} else if pd.Leader < 0 && pl.Err == nil {
					pl.Err = kerr.LeaderNotAvailable
				}
				if s, ok := starts.Lookup(t, pd.Partition); ok && s.Err == nil {
					pl.Start = s.Offset
				}
				if e, ok := ends.Lookup(t, pd.Partition); !ok {
					if pl.Err == nil {
						pl.Err = errors.New("no end offset listed")
					}
				} else if e.Err != nil {
					if pl.Err == nil {
						pl.Err = e.Err
					}
				} else {
					pl.End = e.Offset
				}
				tl.Partitions = append(tl.Partitions, pl)
				if pl.Err != nil {
					gl.Errors++
					continue
				}
				computeLag(pl, o.MissingOffset)
				if pl.Commit >= 0 {
					gl.Committed++
				} else {
					gl.Missing++
				}
			}
		}
		gl.sum()
	}
	return snap, nil
}

// computeLag applies end − commit, clamped at zero (a commit can be newer than
// the end offset read after it only if the log was truncated), and the
// missing-offset policy.
func computeLag(pl *PartitionLag, missing string) {
	start := max(pl.Start, 0)
	switch {
	case pl.Commit >= 0:
		pl.Lag = max(pl.End-pl.Commit, 0)
		if pl.Start > pl.Commit {
			pl.Lost = pl.Start - pl.Commit
		}
		pl.Counted = true
	case missing == MissingEarliest:
		pl.Lag = max(pl.End-start, 0)
		pl.Counted = true
	case missing == MissingLatest:
		pl.Lag = 0
		pl.Counted = true
	}
	if pl.Counted && pl.Lag == 0 {
		// No lag, no time lag, however old the last record is.
		pl.Seconds = 0
	}
}

// readOffset is where the oldest unconsumed record of a lagging partition is:
// the commit, or the log start when the commit fell below it (or there is
// none and --missing-offset is earliest).
func (pl *PartitionLag) readOffset() int64 {
	if pl.Commit >= 0 && pl.Commit >= pl.Start {
		return pl.Commit
	}
	return max(pl.Start, 0)
}

// sum totals partitions into topics and topics into the group.
func (gl *GroupLag) sum() {
	gl.Total, gl.MaxPartition, gl.Lost = 0, nil, 0
	for _, tl := range gl.Topics {
		tl.Lag, tl.MaxLag = 0, 0
		for _, pl := range tl.Partitions {
			if !pl.Counted {
				continue
			}
			tl.Lag += pl.Lag
			tl.MaxLag = max(tl.MaxLag, pl.Lag)
			gl.Lost += pl.Lost
			if gl.MaxPartition == nil || pl.Lag > gl.MaxPartition.Lag {
				gl.MaxPartition = pl
			}
		}
		gl.Total += tl.Lag
	}
}

// sumSeconds takes the oldest unconsumed record per topic and group; a
// lagging partition whose record could not be read makes the figure unknown.
func (gl *GroupLag) sumSeconds() {
	gl.Seconds = 0
	for _, tl := range gl.Topics {
		tl.Seconds = 0
		for _, pl := range tl.Partitions {
			if !pl.Counted {
				continue
			}
			tl.Seconds = maxNaN(tl.Seconds, pl.Seconds)
		}
		if !tl.Unknown {
			gl.Seconds = maxNaN(gl.Seconds, tl.Seconds)
		}
	}
}

func isShardErr(err error) bool {
	var se *kadm.ShardErrors
	return errors.As(err, &se)
}

// authError returns err when it is an authorization or authentication failure.
func authError(err error) error {
	if err == nil {
		return nil
	}
	var ae *kadm.AuthError
	if errors.As(err, &ae) {
		return err
	}
	for _, k := range []*kerr.Error{kerr.SaslAuthenticationFailed, kerr.IllegalSaslState, kerr.UnsupportedSaslMechanism,
		kerr.ClusterAuthorizationFailed, kerr.GroupAuthorizationFailed, kerr.TopicAuthorizationFailed} {
		if errors.Is(err, k) {
			return err
		}
	}
	return nil
}

// groupsOfShard names the groups a failed DescribeGroups shard was about.
func groupsOfShard(se kadm.ShardError) []string {
	if req, ok := se.Req.(*kmsg.DescribeGroupsRequest); ok {
		return req.Groups
	}
	return nil
}

func nan() float64 { return math.NaN() }

// maxNaN is max where NaN (unknown) wins: an unknown age may be the oldest.
func maxNaN(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return math.Max(a, b)
}

func tpKey(t string, p int32) string { return fmt.Sprintf("%s/%d", t, p) }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
