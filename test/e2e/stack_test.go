// Package e2e runs vigil the way an administrator does: the agent built
// from the tree serves the shipped nrpe.cfg snippet, the real Nagios Core
// and Icinga 2 from Debian run the shipped command definitions, and the
// stock check_nrpe carries every check. The checked components are real
// too: containers of the payload fixture on the Docker engine, the fixture
// model server, Parquet files, a kfake Kafka cluster.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/parquet-go/parquet-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigil-monitoring/vigil/test/dockertest"
	"github.com/vigil-monitoring/vigil/test/testenv"
)

const (
	stockCheckNRPE = "/usr/lib/nagios/plugins/check_nrpe"
	// The shipped nrpe snippet's group and the lag the test sets up.
	kafkaGroup   = "predictions"
	kafkaTopic   = "predictions"
	kafkaRecords = 1500
	kafkaCommit  = 1200
)

// stack is everything the monitoring server checks: the fixtures and the
// agent serving the shipped nrpe snippet on agentAddr:agentPort.
type stack struct {
	t           *testing.T
	dir         string // readable by the nagios user
	pluginDir   string // the test's $USER1$ and the agent's plugin directory
	agentBin    string
	agentCfg    string
	agentAddr   string
	agentPort   int
	healState   string
	container   string // name of the payload container (the snippet's model-api)
	modelURL    string
	kafkaAddr   string
	driftDir    string
	cli         *client.Client
	containerID string
	started     time.Time // when the container was healthy

	createdStateDir bool // check_container's default state directory did not exist

	events *dockertest.Events // the engine's events for the container
}

// newStack starts the fixtures and the agent. unhealthyAfter is the
// payload's -unhealthy-after: how long its health endpoint answers 200.
func newStack(t *testing.T, unhealthyAfter time.Duration) *stack {
	t.Helper()
	testenv.Require(t, os.Geteuid() == 0, "root (the agent drops to the nagios user, Nagios to its own)")
	testenv.RequireFile(t, stockCheckNRPE)
	_, err := user.Lookup("nagios")
	testenv.Require(t, err == nil, "the nagios user (nagios4 / nagios-nrpe-plugin)")
	_, err = user.LookupGroup("docker")
	testenv.Require(t, err == nil, "the docker group")
	cli := dockertest.Client(t)

	s := &stack{t: t, cli: cli}
	s.dir = readableTempDir(t, "vigil-e2e-")
	s.pluginDir = filepath.Join(s.dir, "plugins")
	s.healState = filepath.Join(s.dir, "heal")
	s.driftDir = filepath.Join(s.dir, "model")
	for _, d := range []string{s.pluginDir, s.driftDir} {
		mkdir(t, d, 0o755)
	}
	// The healers (as nagios) write the state; the group is shared.
	mkdir(t, s.healState, 0o775)
	chownNagios(t, s.healState)

	// Binaries built from the tree, copied where the nagios user may run
	// them (testenv.Build's directory is private to root), under their
	// installed names.
	for _, p := range []string{"check_container", "check_model_latency", "check_drift", "check_kafka_lag"} {
		copyFile(t, testenv.Build(t, "plugins/cmd/"+p), filepath.Join(s.pluginDir, p), 0o755)
	}
	s.agentBin = filepath.Join(s.dir, "vigil-agent")
	copyFile(t, testenv.Build(t, "agent/cmd/vigil-agent"), s.agentBin, 0o755)
	// What Nagios runs from $USER1$: the stock check_nrpe and the shipped
	// event handler under its installed name. The shipped vigil_nrpe and
	// vigil_heal pass no port (5666, as on a real host); the test's agent
	// listens on a free port of 127.0.0.1 instead, so as not to collide
	// with anything else on 5666 (test/nrpe runs the stock daemon there),
	// and $USER1$/check_nrpe is the stock one with -p added. The event
	// handler script takes it from $CHECK_NRPE, set for Nagios.
	s.agentAddr, s.agentPort = "127.0.0.1", testenv.FreePort(t)
	writeFile(t, s.checkNRPEWrapper(), 0o755, fmt.Sprintf("#!/bin/sh\n# the stock check_nrpe, with the port of the test's agent\nexec %s -p %d \"$@\"\n", stockCheckNRPE, s.agentPort))
	symlink(t, configPath("nagios", "vigil-heal-event-handler.sh"), filepath.Join(s.pluginDir, "vigil-heal-event-handler"))

	s.startModelServer()
	s.startKafka()
	s.writeDriftFiles()
	s.startContainer(unhealthyAfter)
	s.startAgent()
	return s
}

// configPath is a shipped configuration file.
func configPath(parts ...string) string {
	return filepath.Join(append([]string{testenv.RepoRoot(), "configs"}, parts...)...)
}

// startModelServer runs the fixture model server on 127.0.0.1 serving the
// snippet's model iris with a fixed 20 ms latency.
func (s *stack) startModelServer() {
	t := s.t
	bin := testenv.Build(t, "test/fixtures/modelserver/cmd/modelserver")
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-model", "iris", "-latency", "fixed:20ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the model server: %v", err)
	}
	t.Cleanup(func() { stopProcess(cmd) })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case line <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-line:
		addr, ok := strings.CutPrefix(l, "listening on ")
		if !ok {
			t.Fatalf("model server said %q", l)
		}
		s.modelURL = "http://" + addr
	case <-time.After(15 * time.Second):
		t.Fatal("the model server did not say where it listens")
	}
}

// startKafka starts a one-broker kfake cluster on 127.0.0.1, produces
// kafkaRecords records to kafkaTopic stamped one second apart and ending a
// minute ago, and commits kafkaCommit of them for kafkaGroup: a lag of
// exactly 300 messages, about 360 s old.
func (s *stack) startKafka() {
	t := s.t
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, kafkaTopic))
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	s.kafkaAddr = c.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafkaAddr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last := time.Now().Add(-time.Minute).Truncate(time.Second)
	recs := make([]*kgo.Record, kafkaRecords)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: kafkaTopic, Partition: 0, Value: []byte(fmt.Sprintf("prediction %d", i)),
			Timestamp: last.Add(time.Duration(i-kafkaRecords+1) * time.Second)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: kafkaTopic, Partition: 0, At: kafkaCommit, LeaderEpoch: -1})
	resp, err := kadm.NewClient(cl).CommitOffsets(ctx, kafkaGroup, offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("committing offsets for %s: %v", kafkaGroup, err)
	}
	s.joinGroup(ctx)
}

// joinGroup keeps a real consumer-group member in kafkaGroup until the
// test ends, without committing: the group is Stable with one member, as
// a healthy pipeline's is, and the lag stays what was committed.
func (s *stack) joinGroup(ctx context.Context) {
	t := s.t
	member, err := kgo.NewClient(kgo.SeedBrokers(s.kafkaAddr), kgo.ConsumerGroup(kafkaGroup), kgo.ConsumeTopics(kafkaTopic),
		kgo.DisableAutoCommit(), kgo.ClientID("vigil-e2e-consumer"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(member.Close)
	go func() { // fetches (and drops) records; the heartbeats keep it a member
		for {
			fs := member.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
		}
	}()
	adm := kadm.NewClient(member)
	waitFor(t, 30*time.Second, "the consumer group to be Stable with one member", func() bool {
		groups, err := adm.DescribeGroups(ctx, kafkaGroup)
		if err != nil {
			return false
		}
		g := groups[kafkaGroup]
		return g.State == "Stable" && len(g.Members) == 1
	})
}

// driftRow is one prediction: the model's score and the predicted label.
type driftRow struct {
	Prediction float64 `parquet:"prediction"`
	Label      string  `parquet:"label"`
}

// writeDriftFiles writes the snippet's reference.parquet and
// predictions.parquet: deterministic, the current scores shifted by 0.15
// and one label more frequent, so the verdict is known in advance.
func (s *stack) writeDriftFiles() {
	t := s.t
	const golden = 0.6180339887498949
	mk := func(n int, shift float64, labels []string) []driftRow {
		rows := make([]driftRow, n)
		for i := range rows {
			f := math.Mod(float64(i)*golden, 1)
			rows[i] = driftRow{Prediction: f + shift*f, Label: labels[i%len(labels)]}
		}
		return rows
	}
	if err := parquet.WriteFile(filepath.Join(s.driftDir, "reference.parquet"), mk(4000, 0, []string{"cat", "dog"})); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(s.driftDir, "predictions.parquet"), mk(6000, 0.15, []string{"cat", "dog", "dog"})); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"reference.parquet", "predictions.parquet"} {
		os.Chmod(filepath.Join(s.driftDir, f), 0o644)
	}
}

// startContainer runs the payload fixture as the snippet's model-api, with
// a fast HEALTHCHECK, and records the engine's events for it from before
// it exists (see test/heal: the engine's own record of every start).
func (s *stack) startContainer(unhealthyAfter time.Duration) {
	t := s.t
	img := dockertest.BuildImage(t, s.cli, "test/fixtures/payload", fmt.Sprintf("vigil-e2e-payload:%s-%d", slug(t), os.Getpid()),
		`HEALTHCHECK --interval=300ms --timeout=2s --retries=2 CMD ["/app","-healthcheck","http://127.0.0.1:8080/healthz"]`)
	s.container = fmt.Sprintf("vigil-e2e-%s-%d", slug(t), os.Getpid())
	dockertest.Remove(t, s.cli, s.container)
	s.events = dockertest.WatchEvents(t, s.cli, s.container)
	args := []string{"-listen", "127.0.0.1:8080"}
	if unhealthyAfter > 0 {
		args = append(args, "-unhealthy-after", unhealthyAfter.String())
	}
	if _, err := os.Stat(containerStateDir()); os.IsNotExist(err) {
		s.createdStateDir = true
	}
	s.t.Cleanup(s.removeContainerState)
	s.containerID = dockertest.Run(t, s.cli, s.container, &container.Config{Image: img, Cmd: args}, &container.HostConfig{})
	waitFor(t, 30*time.Second, "the container to be healthy", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		info, err := s.cli.ContainerInspect(ctx, s.containerID)
		return err == nil && info.State.Health != nil && info.State.Health.Status == "healthy"
	})
	s.started = time.Now()
}

// adapt turns a line of the shipped configuration into the test's: the
// installed paths become the test's directories, the example's container,
// model server, files and brokers become the fixtures. Every flag and
// threshold stays as shipped but one: --min-uptime 5m (a container younger
// than 5 minutes is a WARNING) is scaled to 1s, the test's time scale.
func (s *stack) adapt(line string) string {
	return strings.NewReplacer(
		"/usr/lib/nagios/plugins/", s.pluginDir+"/",
		"/usr/sbin/vigil-agent", s.agentBin,
		"/etc/vigil/vigil-agent.cfg", s.agentCfg,
		"--name model-api", "--name "+s.container,
		"check=container:model-api", "check=container:"+s.container,
		"http://127.0.0.1:8080", s.modelURL,
		"127.0.0.1:9092", s.kafkaAddr,
		"/srv/model/", s.driftDir+"/",
		"--min-uptime 5m", "--min-uptime 1s",
	).Replace(line)
}

// shippedLines returns the command[NAME] and watch[NAME] lines of a
// shipped file, by name.
func shippedLines(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	re := regexp.MustCompile(`^((?:command|watch)\[[^\]]+\])=`)
	for _, l := range strings.Split(string(data), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			out[m[1]] = l
		}
	}
	return out
}

// agentCommands are the shipped commands the monitoring servers call.
var agentCommands = []string{
	"command[vigil_container_model_api]",
	"command[vigil_model_latency]",
	"command[vigil_drift]",
	"command[vigil_kafka_lag]",
}

// startAgent writes the agent's configuration (the shipped snippet and
// heal example included as they are, then the lines the test uses
// re-defined through adapt: the last definition wins) and starts
// vigil-agent serve on 127.0.0.1 at a free port.
func (s *stack) startAgent() {
	t := s.t
	s.agentCfg = filepath.Join(s.dir, "vigil-agent.cfg")
	nrpeLines := shippedLines(t, configPath("nrpe", "vigil.cfg"))
	healLines := shippedLines(t, configPath("agent", "vigil-heal.cfg"))
	var b strings.Builder
	fmt.Fprintf(&b, `# vigil-agent configuration of the end-to-end test
server_address=%s
server_port=%d
allowed_hosts=127.0.0.1
nrpe_user=nagios
nrpe_group=docker
command_timeout=60
vigil_tls_dir=%s
log_file=%s
debug=1
include=%s
include=%s
vigil_heal_state_dir=%s
# The shipped lines the test uses, with the fixtures' names and addresses:
`, s.agentAddr, s.agentPort, s.dir, filepath.Join(s.dir, "agent.log"),
		configPath("nrpe", "vigil.cfg"), configPath("agent", "vigil-heal.cfg"), s.healState)
	for _, name := range append(agentCommands, "command[heal_model_api]", "command[check_heal]", "watch[model_api]") {
		line, ok := nrpeLines[name]
		if !ok {
			line, ok = healLines[name]
		}
		if !ok {
			t.Fatalf("the shipped configuration has no %s", name)
		}
		b.WriteString(s.adapt(line) + "\n")
	}
	writeFile(t, s.agentCfg, 0o644, b.String())
	os.WriteFile(filepath.Join(s.dir, "agent.log"), nil, 0o666)
	chownNagios(t, filepath.Join(s.dir, "agent.log"))

	if out, err := exec.Command(s.agentBin, "check-config", "-c", s.agentCfg).CombinedOutput(); err != nil {
		t.Fatalf("vigil-agent check-config: %v\n%s", err, out)
	}
	cmd := exec.Command(s.agentBin, "serve", "-c", s.agentCfg)
	// In-process checks see the agent's environment: check_kafka_lag
	// keeps its history under $TMPDIR, here the test's directory.
	cmd.Env = append(os.Environ(), "TMPDIR="+s.tmpDir("agent"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting vigil-agent: %v", err)
	}
	t.Cleanup(func() {
		stopProcess(cmd)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(s.dir, "agent.log"))
			t.Logf("vigil-agent output:\n%s\nagent log:\n%s", out.String(), b)
			a, _ := os.ReadFile(filepath.Join(s.healState, "audit.log"))
			t.Logf("heal audit log:\n%s", a)
		}
	})
	waitFor(t, 15*time.Second, "vigil-agent to answer check_nrpe", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		o, err := exec.CommandContext(ctx, s.checkNRPEWrapper(), "-H", s.agentAddr).CombinedOutput()
		return err == nil && strings.HasPrefix(string(o), "NRPE v4.1.0 (vigil-agent")
	})
}

// tmpDir is a TMPDIR for one user of the stack, writable by nagios.
func (s *stack) tmpDir(name string) string {
	d := filepath.Join(s.dir, "tmp-"+name)
	mkdir(s.t, d, 0o755)
	chownNagios(s.t, d)
	return d
}

// containerStateDir is check_container's default state directory for the
// nagios user, /var/tmp/vigil-UID, where the shipped command keeps its
// state.
func containerStateDir() string {
	u, err := user.Lookup("nagios")
	if err != nil {
		return ""
	}
	return filepath.Join("/var/tmp", "vigil-"+u.Uid)
}

// removeContainerState removes check_container's state files (named by a
// hash of the selection) that name the test's container, and the
// directory if the test created it and it is empty, so that no run leaves
// them behind.
func (s *stack) removeContainerState() {
	dir := containerStateDir()
	if dir == "" {
		return
	}
	if s.createdStateDir {
		defer os.Remove(dir) // only if empty
	}
	files, _ := filepath.Glob(filepath.Join(dir, "check_container-*.json"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(strconv.Quote(s.container))) {
			os.Remove(f)
			os.Remove(f + ".lock")
		}
	}
}

// checkNRPEWrapper is $USER1$/check_nrpe: the stock check_nrpe with the
// agent's port.
func (s *stack) checkNRPEWrapper() string { return filepath.Join(s.pluginDir, "check_nrpe") }

// checkNRPE runs the stock check_nrpe against the agent.
func (s *stack) checkNRPE(command string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.checkNRPEWrapper(), "-H", s.agentAddr, "-t", "30", "-c", command).Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("check_nrpe -c %s: %v", command, err)
	}
	return strings.TrimSuffix(string(out), "\n"), code
}

// stopProcess ends a process the test started, and its process group, by
// PID: SIGTERM, then SIGKILL after 10 s.
func stopProcess(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// readableTempDir is a temporary directory the nagios user can read
// (t.TempDir's parent is private), removed when the test ends.
func readableTempDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return dir
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, mode)
}

func chownNagios(t *testing.T, path string) {
	t.Helper()
	u, err := user.Lookup("nagios")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, mode os.FileMode, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, mode, string(b))
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func slug(t *testing.T) string {
	return strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
}

// waitFor polls cond every 100 ms until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
