package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// runBinary runs the built check_kafka_lag and returns its stdout, exit code
// and how long it took. Every run is bounded well beyond the -t it is given.
func runBinary(t *testing.T, env []string, args ...string) (string, int, time.Duration) {
	t.Helper()
	bin := testenv.Build(t, "plugins/cmd/check_kafka_lag")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// The default --state-file auto goes under $TMPDIR: keep it in the test's.
	cmd.Env = append(append(os.Environ(), "TMPDIR="+stateDir(t)), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return stdout.String(), code, took
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestBrokersDown: nothing listens on the port: CRITICAL (the default
// --unreachable-state) well within -t, naming the reason; and the state can
// be changed.
func TestBrokersDown(t *testing.T) {
	port := testenv.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	out, code, took := runBinary(t, nil, "-B", addr, "-g", "svc", "-t", "2")
	t.Logf("%s (%v)", out, took)
	if code != 2 {
		t.Errorf("exit %d, want 2 (CRITICAL)", code)
	}
	want := "KAFKA_LAG CRITICAL - no broker reachable (" + addr + "): unable to dial: dial tcp " + addr + ": connect: connection refused"
	if firstLine(out) != want {
		t.Errorf("got  %q\nwant %q", firstLine(out), want)
	}
	if took > 2500*time.Millisecond {
		t.Errorf("took %v with -t 2", took)
	}
	out, code, _ = runBinary(t, nil, "-B", addr, "-g", "svc", "-t", "1", "--unreachable-state", "WARNING")
	if code != 1 || !strings.HasPrefix(out, "KAFKA_LAG WARNING - no broker reachable") {
		t.Errorf("--unreachable-state WARNING: exit %d, %q", code, out)
	}
}

// TestBrokerSilent: a listener that accepts and never answers (a hung
// broker): the check gives up at -t, not later, and says so.
func TestBrokerSilent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	out, code, took := runBinary(t, nil, "-B", l.Addr().String(), "-g", "svc", "-t", "2")
	t.Logf("%s (%v)", out, took)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if firstLine(out) != "KAFKA_LAG CRITICAL - no broker reachable ("+l.Addr().String()+"): connected but no answer within 2s" {
		t.Errorf("output %q", out)
	}
	if took < 1900*time.Millisecond || took > 2600*time.Millisecond {
		t.Errorf("took %v with -t 2", took)
	}
}

// TestClusterStopped: a cluster that was up and is closed reads as down.
func TestClusterStopped(t *testing.T) {
	c := startCluster(t)
	addrs := strings.Join(c.addrs, ",")
	c.Close()
	out, code, took := runBinary(t, nil, "-B", addrs, "-g", "svc", "-t", "2")
	if code != 2 || !strings.HasPrefix(out, "KAFKA_LAG CRITICAL - no broker reachable (") || !strings.Contains(out, "connection refused") {
		t.Errorf("exit %d (%v): %q", code, took, out)
	}
}

// TestUnknownGroupAndTopic: a group the coordinator does not know and a
// topic that does not exist are UNKNOWN, with their names.
func TestUnknownGroupAndTopic(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "orders", 2)
	produce(t, cl, "orders", map[int32]int{0: 3, 1: 3})
	commitDirect(t, cl, "svc", "orders", map[int32]int64{0: 1, 1: 3})

	out, code, _ := runBinary(t, nil, "-B", c.addrs[0], "-g", "nosuch", "-t", "5")
	if code != 3 || firstLine(out) != "KAFKA_LAG UNKNOWN - group nosuch: group not found | nosuch_lag=U nosuch_lag_seconds=U nosuch_members=U" {
		t.Errorf("unknown group: exit %d, %q", code, out)
	}
	out, code, _ = runBinary(t, nil, "-B", c.addrs[0], "-g", "svc", "--topic", "orders,missing", "-t", "5", "--allow-empty")
	if code != 3 || !strings.Contains(firstLine(out), "topic missing does not exist") {
		t.Errorf("unknown topic: exit %d, %q", code, out)
	}
	out, code, _ = runBinary(t, nil, "-B", c.addrs[0], "--group-regex", "zz.*", "-t", "5")
	if code != 3 || firstLine(out) != "KAFKA_LAG UNKNOWN - no consumer group matches /zz.*/" {
		t.Errorf("no match: exit %d, %q", code, out)
	}
	out, code, _ = runBinary(t, nil, "-B", c.addrs[0], "-g", "svc", "--missing-offset", "sometimes")
	if code != 3 || firstLine(out) != `KAFKA_LAG UNKNOWN - --missing-offset "sometimes" is not one of latest, earliest, ignore` {
		t.Errorf("bad argument: exit %d, %q", code, out)
	}
}

// TestCoordinatorHangs: the group coordinator swallows OffsetFetch; the
// check ends at -t with UNKNOWN naming what it was doing.
func TestCoordinatorHangs(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "orders", 2)
	produce(t, cl, "orders", map[int32]int{0: 3, 1: 3})
	commitDirect(t, cl, "svc", "orders", map[int32]int64{0: 1, 1: 3})
	c.ControlKey(int16(kmsg.OffsetFetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // handled, never answered
	})
	out, code, took := runBinary(t, nil, "-B", c.addrs[0], "-g", "svc", "-t", "2")
	t.Logf("%s (%v)", out, took)
	if code != 3 || firstLine(out) != "KAFKA_LAG UNKNOWN - timed out after 2s while fetching committed offsets" {
		t.Errorf("exit %d: %q", code, out)
	}
	if took > 2600*time.Millisecond {
		t.Errorf("took %v with -t 2", took)
	}
}

// TestLeaderless: ListOffsets answers LEADER_NOT_AVAILABLE for one
// partition: CRITICAL, naming the partition; the others are still measured.
func TestLeaderless(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "orders", 3)
	produce(t, cl, "orders", map[int32]int{0: 3, 1: 3, 2: 3})
	commitDirect(t, cl, "svc", "orders", map[int32]int64{0: 1, 1: 3, 2: 0})
	c.ControlKey(int16(kmsg.ListOffsets), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.ListOffsetsRequest)
		resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
		// Answer the whole request: partition 1 has no leader, the
		// others hold offsets 0..3, as produced above.
		for _, rt := range req.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewListOffsetsResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.Timestamp = -1
				switch {
				case rp.Partition == 1:
					sp.ErrorCode = kerr.LeaderNotAvailable.Code
				case rp.Timestamp == -1: // latest
					sp.Offset = 3
				default: // earliest
					sp.Offset = 0
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	out, code, took := runBinary(t, nil, "-B", strings.Join(c.addrs, ","), "-g", "svc", "-t", "3", "-v", "--allow-empty")
	t.Logf("%s (%v)", out, took)
	if code != 2 || !strings.HasPrefix(out, "KAFKA_LAG CRITICAL - group svc topic orders lag 5: 1 partition unreadable (orders/1: LEADER_NOT_AVAILABLE)") {
		t.Errorf("exit %d: %q", code, out)
	}
}

var stateDirs = map[*testing.T]string{}

// stateDir is one temporary directory per test for the binary's TMPDIR.
func stateDir(t *testing.T) string {
	if d, ok := stateDirs[t]; ok {
		return d
	}
	d := t.TempDir()
	stateDirs[t] = d
	t.Cleanup(func() { delete(stateDirs, t) })
	return d
}

// TestDefaultStateFile: without --state-file the history goes to one file
// per broker list and selection under $TMPDIR/vigil; "none" writes nothing.
func TestDefaultStateFile(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "orders", 1)
	produce(t, cl, "orders", map[int32]int{0: 3})
	commitDirect(t, cl, "svc", "orders", map[int32]int64{0: 1})
	for _, g := range []string{"svc", "svc,other"} {
		if _, code, _ := runBinary(t, nil, "-B", c.addrs[0], "-g", g, "--allow-empty", "-t", "5"); code > 3 {
			t.Fatalf("exit %d", code)
		}
	}
	files, _ := filepath.Glob(filepath.Join(stateDir(t), "vigil", "check_kafka_lag-*.json"))
	if len(files) != 2 {
		t.Errorf("state files %v, want one per selection", files)
	}
	os.RemoveAll(filepath.Join(stateDir(t), "vigil"))
	runBinary(t, nil, "-B", c.addrs[0], "-g", "svc", "--allow-empty", "-t", "5", "--state-file", "none")
	if _, err := os.Stat(filepath.Join(stateDir(t), "vigil")); err == nil {
		t.Errorf("--state-file none wrote a state file")
	}
}

// TestOneSeedDown: a dead seed broker in the list does not matter while
// another answers.
func TestOneSeedDown(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "orders", 1)
	produce(t, cl, "orders", map[int32]int{0: 3})
	commitDirect(t, cl, "svc", "orders", map[int32]int64{0: 1})
	dead := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	out, code, took := runBinary(t, nil, "-B", dead, "-B", c.addrs[1], "-g", "svc", "--allow-empty", "--no-time-lag", "-t", "5")
	if code != 0 || statusLine(out) != "KAFKA_LAG OK - 1 group, total lag 2, most behind group svc topic orders lag 2" {
		t.Errorf("exit %d (%v): %q", code, took, out)
	}
}
