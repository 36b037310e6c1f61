package kafka

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/kafkalag"
	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGoldenCluster: the whole output of the check over a real (kfake)
// cluster with three groups, one a live franz-go member, with fixed record
// timestamps and clock, normal and -v.
func TestGoldenCluster(t *testing.T) {
	c := startCluster(t)
	cl := c.producer(t)
	createTopic(t, cl, "orders", 3)
	createTopic(t, cl, "payments", 2)
	produce(t, cl, "orders", map[int32]int{0: 40, 1: 25, 2: 10})
	produce(t, cl, "payments", map[int32]int{0: 12, 1: 12})
	c.consumeAndCommit(t, "checkout", "orders", map[int32]int64{0: 38, 1: 25, 2: 10}, false)
	commitDirect(t, cl, "ledger", "payments", map[int32]int64{0: 2, 1: 12})
	commitDirect(t, cl, "fraud", "orders", map[int32]int64{0: 30, 1: 5})

	o := kafkalag.Options{Brokers: c.addrs, GroupRegex: ".*", MissingOffset: kafkalag.MissingEarliest}
	o.TotalLag = plugin.Thresholds{Warning: plugin.MustRange("10"), Critical: plugin.MustRange("50")}
	o.LagSeconds = plugin.Thresholds{Warning: plugin.MustRange("3000"), Critical: plugin.MustRange("3595")}
	now := base.Add(time.Hour)
	for _, verbose := range []int{0, 1} {
		o.Verbose = verbose
		_, out := run(t, o, now)
		name := "cluster"
		if verbose > 0 {
			name = "cluster-verbose"
		}
		path := filepath.Join("testdata", name+".golden")
		if *update {
			os.MkdirAll("testdata", 0o755)
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update)", err)
		}
		if out != string(want) {
			t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, out, want)
		}
	}
}
