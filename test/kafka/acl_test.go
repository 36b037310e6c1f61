package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

func allow(res kmsg.ACLResourceType, name string, op kmsg.ACLOperation) kfake.ACL {
	return kfake.ACL{Resource: res, Name: name, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
}

// TestACLs: offset lag needs DESCRIBE on the topic and READ on the group
// (kfake's OffsetFetch rule); lag in seconds also needs READ on the topic.
// Without it the offsets still work and the age is reported unknown, with
// why; without access to the group the check is UNKNOWN.
func TestACLs(t *testing.T) {
	c := startCluster(t, kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("SCRAM-SHA-256", "admin", "admin-pw"),
		kfake.User("SCRAM-SHA-256", "describer", "d-pw",
			allow(kmsg.ACLResourceTypeTopic, "guarded", kmsg.ACLOperationDescribe),
			allow(kmsg.ACLResourceTypeGroup, "acl-g", kmsg.ACLOperationRead)),
		kfake.User("SCRAM-SHA-256", "reader", "r-pw",
			allow(kmsg.ACLResourceTypeTopic, "guarded", kmsg.ACLOperationRead),
			allow(kmsg.ACLResourceTypeGroup, "acl-g", kmsg.ACLOperationRead)),
		kfake.User("SCRAM-SHA-256", "outsider", "o-pw",
			allow(kmsg.ACLResourceTypeTopic, "guarded", kmsg.ACLOperationRead)),
	)
	cl := c.producer(t, kgo.SASL(scram.Auth{User: "admin", Pass: "admin-pw"}.AsSha256Mechanism()))
	createTopic(t, cl, "guarded", 2)
	produce(t, cl, "guarded", map[int32]int{0: 10, 1: 10})
	commitDirect(t, cl, "acl-g", "guarded", map[int32]int64{0: 4, 1: 10})

	now := base.Add(time.Hour)
	as := func(user, pw string) kafkalag.Options {
		t.Setenv("ACL_TEST_PW", pw)
		return kafkalag.Options{Brokers: c.addrs, Groups: []string{"acl-g"}, AllowEmpty: true,
			SASLMechanism: "SCRAM-SHA-256", SASLUser: user, SASLPasswordEnv: "ACL_TEST_PW"}
	}

	res, out := run(t, as("reader", "r-pw"), now)
	if want := "KAFKA_LAG OK - 1 group, total lag 6, most behind group acl-g topic guarded lag 6, 3596s behind"; res.Status != plugin.OK || statusLine(out) != want {
		t.Errorf("reader:\n%s\nwant %q", out, want)
	}

	o := as("describer", "d-pw")
	res, out = run(t, o, now)
	if want := "KAFKA_LAG OK - 1 group, total lag 6, most behind group acl-g topic guarded lag 6"; res.Status != plugin.OK || statusLine(out) != want ||
		!strings.Contains(out, " acl-g_lag_seconds=U;;;0 ") ||
		!strings.Contains(out, "\nlag in seconds unknown for 1 partition: TOPIC_AUTHORIZATION_FAILED (reading the record at the commit needs READ on the topic)\n") {
		t.Errorf("describer:\n%s\nwant %q", out, want)
	}
	o.LagSeconds.Critical = plugin.MustRange("600")
	res, out = run(t, o, now)
	if want := "KAFKA_LAG UNKNOWN - group acl-g topic guarded lag 6: lag in seconds unknown"; res.Status != plugin.Unknown || statusLine(out) != want {
		t.Errorf("describer with seconds thresholds:\n%s\nwant %q", out, want)
	}
	o.NoTimeLag = true
	if res, out = run(t, o, now); res.Status != plugin.OK || strings.Contains(out, "seconds") {
		t.Errorf("describer with --no-time-lag:\n%s", out)
	}

	res, out = run(t, as("outsider", "o-pw"), now)
	t.Logf("outsider: %s", out)
	if want := "KAFKA_LAG UNKNOWN - not authorised: describing groups: request DescribeGroups has 1 separate shard errors, first: GROUP_AUTHORIZATION_FAILED"; res.Status != plugin.Unknown || statusLine(out) != want {
		t.Errorf("outsider:\n%s", out)
	}
}
