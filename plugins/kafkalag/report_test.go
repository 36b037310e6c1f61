package kafkalag

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// part builds a measured partition.
func part(topic string, p int32, commit, start, end int64, seconds float64, member string) *PartitionLag {
	pl := &PartitionLag{Topic: topic, Partition: p, Commit: commit, Start: start, End: end, Seconds: math.NaN(), Member: member}
	computeLag(pl, MissingLatest)
	if pl.Lag > 0 {
		pl.Seconds = seconds
	}
	return pl
}

func group(name, state string, members int, topics ...*TopicLag) *GroupLag {
	gl := &GroupLag{Group: name, State: state, Protocol: "consumer", Members: members, Topics: topics}
	for _, tl := range topics {
		for _, pl := range tl.Partitions {
			switch {
			case pl.Err != nil:
				gl.Errors++
			case pl.Commit >= 0:
				gl.Committed++
			default:
				gl.Missing++
			}
		}
	}
	gl.sum()
	gl.sumSeconds()
	return gl
}

func topic(name string, ps ...*PartitionLag) *TopicLag {
	return &TopicLag{Topic: name, Partitions: ps, Seconds: math.NaN()}
}

// scenario is a cluster picture covering every kind of line: a healthy
// group, one over its thresholds, a stalled one, a consumer that is down, an
// unreadable partition, an unknown group and one that failed to describe.
func scenario() *snapshot {
	stalled := part("features", 0, 40, 0, 90, 1250.25, "")
	stalled.Stalled, stalled.Unmoved = true, 240
	lost := part("events", 1, 5, 15, 35, 30, "")
	broken := &PartitionLag{Topic: "events", Partition: 2, Commit: 3, Start: -1, End: -1, Seconds: math.NaN(), Err: kerr.LeaderNotAvailable}
	return &snapshot{groups: []*GroupLag{
		group("predict", "Stable", 2,
			topic("requests", part("requests", 0, 100, 0, 104, 2.5, "predict-1@10.0.0.5"), part("requests", 1, 80, 0, 80, 0, "predict-2@10.0.0.6"))),
		group("train", "Stable", 1,
			topic("features", stalled, part("features", 1, 10, 0, 600, 7300, "trainer@10.0.0.7")),
			topic("labels", part("labels", 0, 3, 0, 3, 0, "trainer@10.0.0.7"))),
		group("billing", "Empty", 0,
			topic("events", part("events", 0, 20, 0, 26, 95, ""), lost, broken)),
		{Group: "ghost", NotFound: true, State: "Dead", Seconds: math.NaN()},
		{Group: "audit", Err: errors.New("describing group: COORDINATOR_NOT_AVAILABLE"), Seconds: math.NaN()},
	}}
}

func TestOutputGolden(t *testing.T) {
	base := Options{MissingOffset: MissingLatest, StallRuns: 3}
	base.TotalLag = plugin.Thresholds{Warning: plugin.MustRange("100"), Critical: plugin.MustRange("1000")}
	base.LagSeconds = plugin.Thresholds{Warning: plugin.MustRange("600"), Critical: plugin.MustRange("3600")}
	base.MaxPartitionLag = plugin.Thresholds{Warning: plugin.MustRange("500")}
	verbose := base
	verbose.Verbose = 1
	healthy := base
	tests := []struct {
		name string
		snap func() *snapshot
		o    Options
	}{
		{"problems", scenario, base},
		{"problems-verbose", scenario, verbose},
		{"healthy", func() *snapshot {
			s := scenario()
			s.groups = s.groups[:1]
			return s
		}, healthy},
		{"no-time-lag", func() *snapshot {
			s := scenario()
			s.groups = s.groups[:2]
			return s
		}, Options{MissingOffset: MissingLatest, NoTimeLag: true, StallRuns: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := judge(tt.snap(), &tt.o, nil)
			golden(t, tt.name, res.Render("KAFKA_LAG"))
		})
	}
}

// TestFlags runs the plugin through plugin.Run: bad arguments are UNKNOWN
// (exit 3) with a message, before any connection is tried.
func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-g", "x"}, "KAFKA_LAG UNKNOWN - no --brokers given\n"},
		{[]string{"-B", "127.0.0.1:1", "--missing-offset", "never"}, "KAFKA_LAG UNKNOWN - --missing-offset \"never\" is not one of latest, earliest, ignore\n"},
		{[]string{"-B", "127.0.0.1:1", "--group-regex", "("}, "KAFKA_LAG UNKNOWN - --group-regex: error parsing regexp: missing closing ): `^(?:()$`\n"},
		{[]string{"-B", "127.0.0.1:1", "-w", "abc"}, "KAFKA_LAG UNKNOWN - invalid argument \"abc\" for \"-w, --warning\" flag: range \"abc\": end \"abc\" is not a number (see check_kafka_lag --help)\n"},
		{[]string{"-B", "127.0.0.1:1", "--sasl-mechanism", "GSSAPI", "--sasl-user", "u", "--sasl-password-env", "HOME"}, "KAFKA_LAG UNKNOWN - --sasl-mechanism \"GSSAPI\" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512\n"},
		{[]string{"-B", "127.0.0.1:1", "--sasl-user", "u"}, "KAFKA_LAG UNKNOWN - --sasl-user/--sasl-password-* given without --sasl-mechanism\n"},
		{[]string{"-B", "127.0.0.1:1", "--tls-cert", "c.pem"}, "KAFKA_LAG UNKNOWN - --tls-cert and --tls-key go together\n"},
		{[]string{"-B", "127.0.0.1:1", "--tls-ca", "/nonexistent/ca.pem"}, "KAFKA_LAG UNKNOWN - reading --tls-ca: open /nonexistent/ca.pem: no such file or directory\n"},
		{[]string{"-B", "127.0.0.1:1", "--unreachable-state", "SOMETIMES"}, "KAFKA_LAG UNKNOWN - --unreachable-state: state \"SOMETIMES\" is not one of OK, WARNING, CRITICAL, UNKNOWN\n"},
		{[]string{"-B", "127.0.0.1:1", "--stall-runs", "-1"}, "KAFKA_LAG UNKNOWN - --stall-runs, --growth-runs, --min-members and --stop-after must not be negative\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		status := plugin.Run(context.Background(), New(), tt.args, &out, &bytes.Buffer{})
		if status != plugin.Unknown || out.String() != tt.want {
			t.Errorf("%v: %v %q, want UNKNOWN %q", tt.args, status, out.String(), tt.want)
		}
	}
	// Each New() binds a fresh Options: flags do not leak between runs.
	var out bytes.Buffer
	plugin.Run(context.Background(), New(), []string{"--help"}, &out, &bytes.Buffer{})
	if !strings.Contains(out.String(), "--missing-offset string") || !strings.Contains(out.String(), "--lag-seconds-critical range") {
		t.Errorf("help lacks flags:\n%s", out.String())
	}
}

func TestSASLPasswordSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte("s3cret\r\nsecond line\n"), 0o600)
	t.Setenv("VIGIL_TEST_PW", "from-env")
	for _, tt := range []struct {
		o    Options
		want string
	}{
		{Options{SASLPasswordFile: file}, "s3cret"},
		{Options{SASLPasswordEnv: "VIGIL_TEST_PW"}, "from-env"},
	} {
		got, err := tt.o.saslPassword()
		if err != nil || got != tt.want {
			t.Errorf("%+v: %q %v, want %q", tt.o, got, err, tt.want)
		}
	}
	if _, err := (&Options{SASLPasswordFile: file, SASLPasswordEnv: "X"}).saslPassword(); err == nil {
		t.Error("both sources accepted")
	}
}
