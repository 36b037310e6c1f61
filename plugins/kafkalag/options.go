// Package kafkalag implements check_kafka_lag: consumer-group lag in messages
// and in seconds, with movement across runs (stalled, stopped, rewound,
// growing) kept in a small state file.
package kafkalag

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Missing-offset policies: how a partition without a committed offset counts.
const (
	MissingLatest   = "latest"   // as a consumer with auto.offset.reset=latest: caught up, lag 0
	MissingEarliest = "earliest" // as auto.offset.reset=earliest: everything retained is lag
	MissingIgnore   = "ignore"   // left out of every figure
)

// Options is everything one run of the check needs. New binds flags to a
// fresh Options each time, so the agent can run the check in-process.
type Options struct {
	// Connection.
	Brokers           []string
	ClientID          string
	TLS               bool
	TLSCAFile         string
	TLSCertFile       string
	TLSKeyFile        string
	TLSServerName     string
	TLSInsecure       bool
	SASLMechanism     string // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	SASLUser          string
	SASLPasswordFile  string
	SASLPasswordEnv   string
	UnreachableState  plugin.Status
	unreachableStateT string

	// Selection.
	Groups            []string
	GroupRegex        string
	ExcludeGroups     []string
	ExcludeGroupRegex string
	Topics            []string
	TopicRegex        string
	ExcludeTopics     []string
	ExcludeTopicRegex string

	// Lag.
	MissingOffset   string
	TotalLag        plugin.Thresholds // -w/-c, on each group's total lag
	MaxPartitionLag plugin.Thresholds
	LagSeconds      plugin.Thresholds // on each group's oldest unconsumed record
	NoTimeLag       bool

	// Movement and group health.
	StateFile  string // a path, "auto" (derived from the selection), "" or "none" (no movement tracking)
	StallRuns  int
	StopAfter  time.Duration
	GrowthRuns int
	MinMembers int
	AllowEmpty bool

	Verbose int
	// Debug, when set, receives franz-go's debug log (-vvv).
	Debug io.Writer
	// Now is the clock; tests replace it to move time across runs.
	Now func() time.Time
}

// selection holds the compiled regular expressions.
type selection struct {
	groups, exGroups map[string]bool
	groupRe, exGroupRe,
	topicRe, exTopicRe *regexp.Regexp
	topics, exTopics map[string]bool
}

func (o *Options) validate() (*selection, error) {
	if len(o.Brokers) == 0 {
		return nil, fmt.Errorf("no --brokers given")
	}
	switch o.MissingOffset {
	case MissingLatest, MissingEarliest, MissingIgnore:
	default:
		return nil, fmt.Errorf("--missing-offset %q is not one of latest, earliest, ignore", o.MissingOffset)
	}
	if o.StallRuns < 0 || o.GrowthRuns < 0 || o.MinMembers < 0 || o.StopAfter < 0 {
		return nil, fmt.Errorf("--stall-runs, --growth-runs, --min-members and --stop-after must not be negative")
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	s := &selection{groups: set(o.Groups), exGroups: set(o.ExcludeGroups), topics: set(o.Topics), exTopics: set(o.ExcludeTopics)}
	for _, re := range []struct {
		flag, text string
		dst        **regexp.Regexp
	}{
		{"--group-regex", o.GroupRegex, &s.groupRe},
		{"--exclude-group-regex", o.ExcludeGroupRegex, &s.exGroupRe},
		{"--topic-regex", o.TopicRegex, &s.topicRe},
		{"--exclude-topic-regex", o.ExcludeTopicRegex, &s.exTopicRe},
	} {
		if re.text == "" {
			continue
		}
		// Anchored: "orders" must not also select "orders-dlq".
		c, err := regexp.Compile("^(?:" + re.text + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", re.flag, err)
		}
		*re.dst = c
	}
	return s, nil
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// listAll reports whether groups must be discovered with ListGroups.
func (s *selection) listAll() bool { return len(s.groups) == 0 || s.groupRe != nil }

func (s *selection) wantGroup(g string) bool {
	if s.exGroups[g] || (s.exGroupRe != nil && s.exGroupRe.MatchString(g)) {
		return false
	}
	if len(s.groups) == 0 && s.groupRe == nil {
		return true
	}
	return s.groups[g] || (s.groupRe != nil && s.groupRe.MatchString(g))
}

func (s *selection) wantTopic(t string) bool {
	if s.exTopics[t] || (s.exTopicRe != nil && s.exTopicRe.MatchString(t)) {
		return false
	}
	if len(s.topics) == 0 && s.topicRe == nil {
		return true
	}
	return s.topics[t] || (s.topicRe != nil && s.topicRe.MatchString(t))
}

// New returns the plugin with its flags bound to a fresh Options.
func New() *plugin.Plugin {
	o := &Options{}
	return &plugin.Plugin{
		Program: "check_kafka_lag",
		Name:    "KAFKA_LAG",
		Description: `Checks how far Kafka consumer groups are behind, in messages (log end offset minus committed
offset, per partition, summed per topic and group) and in seconds (age of the oldest unconsumed record),
and whether they are moving across runs (stalled, stopped, rewound, lag growing; kept in --state-file).
-w/-c apply to each group's total lag. Passwords come from a file or an environment variable, never
from the command line.`,
		Examples: []string{
			"check_kafka_lag -B kafka1:9092,kafka2:9092 -g predictions -w 1000 -c 10000 --lag-seconds-critical 1200",
			"check_kafka_lag -B kafka:9093 --tls-ca ca.pem --sasl-mechanism SCRAM-SHA-512 --sasl-user mon --sasl-password-file /etc/vigil/kafka.pw --group-regex 'model-.*'",
			"check_kafka_lag -B kafka:9092 -g feats --state-file /var/lib/vigil/kafka-feats.json --stall-runs 3 --stop-after 15m",
		},
		Thresholds: true,
		Flags:      func(fs *pflag.FlagSet) { o.bind(fs) },
		Check: func(ctx context.Context, env plugin.Env) plugin.Result {
			opts := *o
			opts.TotalLag = env.Thresholds
			opts.Verbose = env.Verbose
			if env.Verbose >= 3 {
				opts.Debug = env.Stderr
			}
			if opts.unreachableStateT != "" {
				st, err := plugin.ParseStatus(opts.unreachableStateT)
				if err != nil {
					return plugin.Unknownf("--unreachable-state: %v", err)
				}
				opts.UnreachableState = st
			}
			return Check(ctx, opts)
		},
	}
}

func (o *Options) bind(fs *pflag.FlagSet) {
	*o = Options{UnreachableState: plugin.Critical}
	fs.StringSliceVarP(&o.Brokers, "brokers", "B", nil, "seed brokers host:port (repeatable or comma-separated)")
	fs.StringVar(&o.ClientID, "client-id", "vigil-check-kafka-lag", "Kafka client id")
	fs.BoolVar(&o.TLS, "tls", false, "connect with TLS (implied by the other --tls-* flags)")
	fs.StringVar(&o.TLSCAFile, "tls-ca", "", "PEM file of CA certificates to verify the brokers with")
	fs.StringVar(&o.TLSCertFile, "tls-cert", "", "PEM client certificate")
	fs.StringVar(&o.TLSKeyFile, "tls-key", "", "PEM client key")
	fs.StringVar(&o.TLSServerName, "tls-server-name", "", "name to verify the broker certificates against")
	fs.BoolVar(&o.TLSInsecure, "tls-insecure", false, "do not verify broker certificates (testing only)")
	fs.StringVar(&o.SASLMechanism, "sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&o.SASLUser, "sasl-user", "", "SASL user name")
	fs.StringVar(&o.SASLPasswordFile, "sasl-password-file", "", "file holding the SASL password (first line)")
	fs.StringVar(&o.SASLPasswordEnv, "sasl-password-env", "", "environment variable holding the SASL password")
	fs.StringVar(&o.unreachableStateT, "unreachable-state", "CRITICAL", "state when no broker can be reached")

	fs.StringSliceVarP(&o.Groups, "group", "g", nil, "consumer group (repeatable or comma-separated); none = all groups")
	fs.StringVar(&o.GroupRegex, "group-regex", "", "also select groups whose whole name matches this regular expression")
	fs.StringSliceVar(&o.ExcludeGroups, "exclude-group", nil, "leave out this group (repeatable)")
	fs.StringVar(&o.ExcludeGroupRegex, "exclude-group-regex", "", "leave out groups matching this regular expression")
	fs.StringSliceVar(&o.Topics, "topic", nil, "only these topics (repeatable or comma-separated); none = every topic a group consumes")
	fs.StringVar(&o.TopicRegex, "topic-regex", "", "only topics whose whole name matches this regular expression")
	fs.StringSliceVar(&o.ExcludeTopics, "exclude-topic", nil, "leave out this topic (repeatable)")
	fs.StringVar(&o.ExcludeTopicRegex, "exclude-topic-regex", "", "leave out topics matching this regular expression")

	fs.StringVar(&o.MissingOffset, "missing-offset", MissingLatest, "partitions with no committed offset count as: latest (lag 0), earliest (all retained messages), ignore")
	plugin.RangeVarP(fs, &o.MaxPartitionLag.Warning, "max-partition-lag-warning", "", "warning range for the worst partition's lag")
	plugin.RangeVarP(fs, &o.MaxPartitionLag.Critical, "max-partition-lag-critical", "", "critical range for the worst partition's lag")
	plugin.RangeVarP(fs, &o.LagSeconds.Warning, "lag-seconds-warning", "", "warning range for the age in seconds of the oldest unconsumed record")
	plugin.RangeVarP(fs, &o.LagSeconds.Critical, "lag-seconds-critical", "", "critical range for the age in seconds of the oldest unconsumed record")
	fs.BoolVar(&o.NoTimeLag, "no-time-lag", false, "skip lag in seconds (it fetches one record per lagging partition, which needs READ on the topic)")

	fs.StringVar(&o.StateFile, "state-file", "auto", "file keeping offsets across runs for stalled/stopped/rewound/growing detection; auto = $TMPDIR/vigil/check_kafka_lag-<hash of brokers and selection>.json, none = no history")
	fs.IntVar(&o.StallRuns, "stall-runs", 3, "WARNING when committed offsets stay unchanged with lag > 0 for this many runs (0 = off)")
	fs.DurationVar(&o.StopAfter, "stop-after", 0, "CRITICAL when committed offsets have not moved for this long with lag > 0 (e.g. 15m; 0 = off)")
	fs.IntVar(&o.GrowthRuns, "growth-runs", 5, "WARNING when offsets advance but lag grew at every one of this many runs (0 = off)")
	fs.IntVar(&o.MinMembers, "min-members", 0, "CRITICAL when a group has fewer active members")
	fs.BoolVar(&o.AllowEmpty, "allow-empty", false, "a group with no active members and lag > 0 is not an alert by itself (batch consumers)")
}

// describeSelection names what was asked for, for messages.
func (o *Options) describeSelection() string {
	var parts []string
	if len(o.Groups) > 0 {
		parts = append(parts, strings.Join(o.Groups, ","))
	}
	if o.GroupRegex != "" {
		parts = append(parts, "/"+o.GroupRegex+"/")
	}
	if len(parts) == 0 {
		return "any group"
	}
	return strings.Join(parts, " ")
}
