package kafka

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

// kcat runs Debian's kcat (librdkafka) against the cluster, bounded.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	bin := testenv.RequireCommand(t, "kcat")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("kcat %v: %v\n%s", args, err, msg)
	}
	return string(out)
}

func lines(n int, prefix string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s-%d\n", prefix, i)
	}
	return b.String()
}

var kcatOffsetLine = regexp.MustCompile(`^(\S+) \[(\d+)\] offset (-?\d+)$`)

// kcatEnds asks kcat for the end offsets (one -Q per partition: several -t
// for one partition in one -Q answer once for all).
func kcatEnds(t *testing.T, broker, topic string, partitions int) map[int32]int64 {
	t.Helper()
	args := []string{"-b", broker, "-Q"}
	for p := 0; p < partitions; p++ {
		args = append(args, "-t", fmt.Sprintf("%s:%d:-1", topic, p))
	}
	ends := map[int32]int64{}
	for _, l := range strings.Split(strings.TrimSpace(kcat(t, "", args...)), "\n") {
		m := kcatOffsetLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || m[1] != topic {
			t.Fatalf("kcat -Q line %q", l)
		}
		p, _ := strconv.Atoi(m[2])
		o, _ := strconv.ParseInt(m[3], 10, 64)
		ends[int32(p)] = o
	}
	return ends
}

var partitionLine = regexp.MustCompile(`^(\S+)/(\d+): (?:commit (\d+)|no commit), start (\d+), end (\d+), lag (\d+)`)

type pview struct{ commit, end, lag int64 }

// pluginView parses the check's -v partition lines.
func pluginView(t *testing.T, out, topic string) map[int32]pview {
	t.Helper()
	view := map[int32]pview{}
	for _, l := range partitionLines(out) {
		m := partitionLine.FindStringSubmatch(l)
		if m == nil || m[1] != topic {
			continue
		}
		p, _ := strconv.Atoi(m[2])
		v := pview{commit: -1}
		if m[3] != "" {
			v.commit, _ = strconv.ParseInt(m[3], 10, 64)
		}
		v.end, _ = strconv.ParseInt(m[5], 10, 64)
		v.lag, _ = strconv.ParseInt(m[6], 10, 64)
		view[int32(p)] = v
	}
	return view
}

// TestKcatCrossCheck: kcat produces into kfake and consumes as a group
// member with librdkafka's own group protocol and commits; the check's end
// offsets equal kcat -Q's, its committed offsets equal what kcat consumed,
// and its time lag equals the age of the record kcat reads at the commit.
func TestKcatCrossCheck(t *testing.T) {
	testenv.RequireCommand(t, "kcat")
	c := startCluster(t)
	broker := c.addrs[0]
	createTopic(t, c.producer(t), "kc", 3)
	produced := map[int32]int{0: 12, 1: 7, 2: 20}
	for p, n := range produced {
		kcat(t, lines(n, fmt.Sprintf("p%d", p)), "-b", broker, "-P", "-t", "kc", "-p", strconv.Itoa(int(p)))
	}
	ends := kcatEnds(t, broker, "kc", 3)
	for p, n := range produced {
		if ends[p] != int64(n) {
			t.Fatalf("kcat -Q end of kc/%d = %d, want %d", p, ends[p], n)
		}
	}

	// kcat consumes 25 records as member of group kg, then commits on close.
	consumed := kcat(t, "", "-b", broker, "-G", "kg", "-X", "auto.offset.reset=earliest", "-c", "25", "-f", "%p %o\n", "kc")
	next := map[int32]int64{}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(consumed))
	for sc.Scan() {
		var p int32
		var o int64
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &p, &o); err != nil {
			t.Fatalf("kcat output line %q", sc.Text())
		}
		next[p] = max(next[p], o+1)
		n++
	}
	if n != 25 {
		t.Fatalf("kcat consumed %d records, want 25", n)
	}

	now := time.Now().Add(time.Hour)
	res, out := run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"kg"}, AllowEmpty: true, Verbose: 1, MissingOffset: kafkalag.MissingEarliest}, now)
	t.Logf("kcat consumed up to %v\n%s", next, out)
	if res.Status != plugin.OK {
		t.Errorf("status %v", res.Status)
	}
	view := pluginView(t, out, "kc")
	var total int64
	for p := int32(0); p < 3; p++ {
		want := pview{commit: -1, end: ends[p], lag: ends[p]}
		if o, ok := next[p]; ok {
			want = pview{commit: o, end: ends[p], lag: ends[p] - o}
		}
		if view[p] != want {
			t.Errorf("kc/%d: check says %+v, kcat says %+v", p, view[p], want)
		}
		total += want.lag
	}
	if total != 12+7+20-25 {
		t.Errorf("total lag from kcat's view %d, want 14", total)
	}
	if !strings.Contains(firstLine(out), fmt.Sprintf(" kg_lag=%d;;;0 ", total)) {
		t.Errorf("perfdata total, want kg_lag=%d: %s", total, firstLine(out))
	}

	// Time lag: pick the partition with the oldest unconsumed record as
	// kcat reads it (%T at the committed offset) and set the clock 42.5 s
	// past it.
	var oldest int64 = -1
	for p := int32(0); p < 3; p++ {
		v := view[p]
		if v.lag == 0 {
			continue
		}
		at := max(v.commit, 0)
		ts, err := strconv.ParseInt(strings.TrimSpace(kcat(t, "", "-b", broker, "-C", "-t", "kc", "-p", strconv.Itoa(int(p)), "-o", strconv.FormatInt(at, 10), "-c", "1", "-f", "%T\n")), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if oldest < 0 || ts < oldest {
			oldest = ts
		}
	}
	now = time.UnixMilli(oldest).Add(42500 * time.Millisecond)
	_, out = run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"kg"}, AllowEmpty: true, MissingOffset: kafkalag.MissingEarliest}, now)
	if !strings.Contains(firstLine(out), " kg_lag_seconds=42.5s;;;0 ") {
		t.Errorf("time lag against kcat's %%T %d: %s", oldest, firstLine(out))
	}
}

// TestKcatLiveMember: kcat stays in group kl as its only member; the check
// sees it Stable with kcat's client id, lag 0 once kcat has committed; when
// kcat is stopped and more arrives, the group is Empty with lag: CRITICAL.
func TestKcatLiveMember(t *testing.T) {
	bin := testenv.RequireCommand(t, "kcat")
	c := startCluster(t)
	broker := c.addrs[0]
	createTopic(t, c.producer(t), "kl", 2)
	kcat(t, lines(9, "a"), "-b", broker, "-P", "-t", "kl", "-p", "0")
	kcat(t, lines(4, "b"), "-b", broker, "-P", "-t", "kl", "-p", "1")

	cmd := exec.Command(bin, "-b", broker, "-G", "kl", "-X", "auto.offset.reset=earliest", "-X", "client.id=kcat-live",
		"-X", "auto.commit.interval.ms=100", "-q", "-u", "-f", "%p %o\n", "kl")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
	}
	t.Cleanup(stop)
	got := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			n++
			if n == 13 {
				got <- n
			}
		}
	}()
	select {
	case <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("kcat did not consume the 13 records within 20s")
	}

	// Wait (bounded) for kcat's auto-commit to land and the group to settle.
	var out string
	var res plugin.Result
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, out = run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"kl"}, Verbose: 1, MinMembers: 1}, time.Now())
		if strings.Contains(out, "kl/0: commit 9,") && strings.Contains(out, "kl/1: commit 4,") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("\n%s", out)
	if res.Status != plugin.OK || !strings.Contains(out, "[OK] group kl: Stable, 1 member, lag 0") ||
		!strings.Contains(out, "kl/0: commit 9, start 0, end 9, lag 0, 0s behind, member kcat-live") ||
		!strings.Contains(out, "kl/1: commit 4, start 0, end 4, lag 0, 0s behind, member kcat-live") {
		t.Errorf("live kcat member not seen as expected")
	}

	stop()
	kcat(t, lines(5, "c"), "-b", broker, "-P", "-t", "kl", "-p", "1")
	res, out = run(t, kafkalag.Options{Brokers: c.addrs, Groups: []string{"kl"}, NoTimeLag: true}, time.Now())
	if want := "KAFKA_LAG CRITICAL - group kl topic kl lag 5: no active members (consumer down)"; res.Status != plugin.Critical || statusLine(out) != want {
		t.Errorf("after kcat stopped:\n%s\nwant %q", out, want)
	}
}
