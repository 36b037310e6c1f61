package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// icingaNode is the Icinga 2 node name; its API certificate's CN.
const icingaNode = "vigil-e2e"

// icinga is an `icinga2 daemon` of the test's own, in the foreground,
// with its REST API on 127.0.0.1:port.
type icinga struct {
	t        *testing.T
	dir      string
	port     int
	password string
	client   *http.Client
}

// icingaService is one service of the test's Icinga configuration: its
// CheckCommand and custom variables (Icinga DSL values).
type icingaService struct {
	Host, Name, Command string
	Vars                map[string]string
	Extra               []string // more attribute lines
}

// startIcinga writes icinga2.conf (the ITL, the shipped
// vigil-commands.conf unchanged, the API listener, a checker, the hosts
// and services), creates the API certificates, and runs `icinga2 daemon`
// in the foreground as the nagios user, with every directory it writes
// under the test's (--define DataDir, LogDir, CacheDir, RunDir,
// SpoolDir). It is stopped by PID when the test ends.
//
// The results are read through the REST API (/v1/objects/services): it
// answers with each service's last check result as Icinga parsed it
// (output, state, performance data split into items), while the checks
// run; the state file is written only every 5 minutes or at exit, and the
// perfdata writer only renders a template of it.
func startIcinga(t *testing.T, s *stack, hosts map[string]string, services []icingaService) *icinga {
	t.Helper()
	bin := testenv.RequireCommand(t, "icinga2")
	testenv.RequireFile(t, "/usr/share/icinga2/include/itl")
	dir := filepath.Join(s.dir, "icinga2")
	for _, d := range []string{"", "data", "data/certs", "log", "cache", "run", "run/icinga2", "spool"} {
		mkdir(t, filepath.Join(dir, d), 0o755)
		chownNagios(t, filepath.Join(dir, d))
	}
	ic := &icinga{t: t, dir: dir, port: testenv.FreePort(t), password: fmt.Sprintf("e2e-%d", time.Now().UnixNano())}
	caPool := ic.writeCertificates(filepath.Join(dir, "data", "certs"))
	ic.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: caPool, ServerName: icingaNode},
	}}

	var conf strings.Builder
	fmt.Fprintf(&conf, `const PluginDir = %q
const NodeName = %q
const ZoneName = NodeName
const TicketSalt = ""
include <itl>
include <plugins>
include %q

object Endpoint NodeName {}
object Zone ZoneName { endpoints = [ NodeName ] }
object ApiListener "api" {
	bind_host = "127.0.0.1"
	bind_port = %d
	accept_config = false
	accept_commands = false
}
object ApiUser "vigil-e2e" {
	password = %q
	permissions = [ "objects/query/*", "actions/reschedule-check", "events/statechange" ]
}
object CheckerComponent "checker" {}
object FileLogger "main-log" {
	path = LogDir + "/icinga2.log"
	severity = "information"
}
`, s.pluginDir, icingaNode, configPath("icinga2", "vigil-commands.conf"), ic.port, ic.password)
	for name, addr := range hosts {
		// Hosts are not checked: the test is about the services.
		fmt.Fprintf(&conf, "object Host %q {\n\taddress = %q\n\tcheck_command = \"dummy\"\n\tenable_active_checks = false\n}\n", name, addr)
	}
	for _, sv := range services {
		fmt.Fprintf(&conf, "object Service %q {\n\thost_name = %q\n\tcheck_command = %q\n", sv.Name, sv.Host, sv.Command)
		if len(sv.Extra) == 0 { // by default a service runs when the test forces a check
			sv.Extra = []string{"check_interval = 1h", "retry_interval = 1h"}
		}
		for _, e := range sv.Extra {
			fmt.Fprintf(&conf, "\t%s\n", e)
		}
		for k, v := range sv.Vars {
			fmt.Fprintf(&conf, "\tvars.%s = %s\n", k, v)
		}
		conf.WriteString("}\n")
	}
	main := filepath.Join(dir, "icinga2.conf")
	writeFile(t, main, 0o644, conf.String())

	defines := []string{
		"--define", "DataDir=" + filepath.Join(dir, "data"),
		"--define", "LogDir=" + filepath.Join(dir, "log"),
		"--define", "CacheDir=" + filepath.Join(dir, "cache"),
		"--define", "SpoolDir=" + filepath.Join(dir, "spool"),
		"--define", "InitRunDir=" + filepath.Join(dir, "run"),
		"--define", "ConfigDir=" + dir,
	}
	env := append(os.Environ(), "ICINGA2_USER=nagios", "ICINGA2_GROUP=nagios")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	check := exec.CommandContext(ctx, bin, append([]string{"daemon", "-C", "-c", main}, defines...)...)
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("icinga2 daemon -C: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, append([]string{"daemon", "-c", main}, defines...)...)
	// TMPDIR for check_kafka_lag's history; CHECK_NRPE for the shipped
	// event handler: the stock check_nrpe with the agent's port.
	cmd.Env = append(env, "TMPDIR="+s.tmpDir("icinga"), "CHECK_NRPE="+s.checkNRPEWrapper())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting icinga2: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "log", "icinga2.log"))
			t.Logf("icinga2 output:\n%s\nicinga2.log:\n%s", out.String(), b)
		}
	})
	waitFor(t, 60*time.Second, "the Icinga 2 API to answer", func() bool {
		select {
		case <-exited:
			t.Fatalf("icinga2 exited: %v", cmd.ProcessState)
		default:
		}
		var r struct{ Results []any }
		return ic.get("/v1/objects/services?attrs=name", &r) == nil && len(r.Results) == len(services)
	})
	return ic
}

// writeCertificates makes a CA and the node's certificate (CN = the node
// name) where Icinga 2.13 looks for them, DataDir/certs, and returns a
// pool with the CA for the test's client.
func (ic *icinga) writeCertificates(dir string) *x509.CertPool {
	t := ic.t
	t.Helper()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil-e2e CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: icingaNode}, DNSNames: []string{icingaNode},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		p := filepath.Join(dir, name)
		writeFile(t, p, 0o600, string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})))
		chownNagios(t, p)
	}
	write("ca.crt", "CERTIFICATE", caDER)
	write(icingaNode+".crt", "CERTIFICATE", der)
	write(icingaNode+".key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

func (ic *icinga) url(path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", ic.port, path)
}

func (ic *icinga) do(method, path string, body, into any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ic.url(path), rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth("vigil-e2e", ic.password)
	req.Header.Set("Accept", "application/json")
	resp, err := ic.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, into)
}

func (ic *icinga) get(path string, into any) error { return ic.do(http.MethodGet, path, nil, into) }

// stateChange is one StateChange event of the API's event stream.
type stateChange struct {
	Host        string  `json:"host"`
	Service     string  `json:"service"`
	State       float64 `json:"state"`
	StateType   float64 `json:"state_type"` // 0 SOFT, 1 HARD
	Timestamp   float64 `json:"timestamp"`
	CheckResult struct {
		Output string `json:"output"`
	} `json:"check_result"`
}

// watchStateChanges subscribes to the API's StateChange events
// (POST /v1/events) until the test ends, and returns a function giving
// those received so far.
func (ic *icinga) watchStateChanges() func() []stateChange {
	t := ic.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	body, _ := json.Marshal(map[string]any{"queue": "vigil-e2e", "types": []string{"StateChange"}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ic.url("/v1/events"), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("vigil-e2e", ic.password)
	req.Header.Set("Accept", "application/json")
	// No client timeout: the stream lasts until the test cancels it.
	stream := &http.Client{Transport: ic.client.Transport}
	resp, err := stream.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("subscribing to state changes: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("subscribing to state changes: HTTP %d", resp.StatusCode)
	}
	var mu sync.Mutex
	var got []stateChange
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64*1024), 4<<20)
		for sc.Scan() {
			var ev stateChange
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				mu.Lock()
				got = append(got, ev)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() []stateChange {
		mu.Lock()
		defer mu.Unlock()
		return append([]stateChange(nil), got...)
	}
}

// icingaResult is a service's last check result as the API returns it.
type icingaResult struct {
	Name  string
	Attrs struct {
		HostName        string  `json:"host_name"`
		Name            string  `json:"name"`
		State           float64 `json:"state"`
		LastCheckResult *struct {
			State           float64 `json:"state"`
			Output          string  `json:"output"`
			PerformanceData []any   `json:"performance_data"`
			ExitStatus      float64 `json:"exit_status"`
			ExecutionEnd    float64 `json:"execution_end"`
			Command         []any   `json:"command"`
		} `json:"last_check_result"`
	}
}

// rescheduleAll forces a check of every service now, as an operator's
// "Check now" does (POST /v1/actions/reschedule-check, force).
func (ic *icinga) rescheduleAll() {
	ic.t.Helper()
	var r any
	if err := ic.do(http.MethodPost, "/v1/actions/reschedule-check", map[string]any{"type": "Service", "force": true}, &r); err != nil {
		ic.t.Fatal(err)
	}
}

func (ic *icinga) services() map[string]icingaResult {
	ic.t.Helper()
	var r struct{ Results []icingaResult }
	if err := ic.get("/v1/objects/services?attrs=host_name&attrs=name&attrs=state&attrs=last_check_result", &r); err != nil {
		ic.t.Fatal(err)
	}
	out := map[string]icingaResult{}
	for _, s := range r.Results {
		out[s.Attrs.HostName+";"+s.Attrs.Name] = s
	}
	return out
}

// TestIcingaEndToEnd: the same checks as TestNagiosEndToEnd under Icinga
// 2 with the shipped vigil-commands.conf: the four through vigil_nrpe
// (the ITL's check_nrpe and vigil-agent serving the shipped snippet), and
// the three direct CheckCommands; forced through the API, results read
// from it.
func TestIcingaEndToEnd(t *testing.T) {
	const healthyFor = 20 * time.Second
	s := newStack(t, healthyFor)
	healthyUntil := time.Now().Add(healthyFor - 5*time.Second)
	time.Sleep(time.Until(s.started.Add(2 * time.Second))) // --min-uptime 1s
	_, modelPort, _ := strings.Cut(strings.TrimPrefix(s.modelURL, "http://127.0.0.1"), ":")
	_, kafkaPort, _ := strings.Cut(s.kafkaAddr, ":")
	nrpe := func(name, command string) icingaService {
		return icingaService{Host: agentHost, Name: name, Command: "vigil_nrpe", Vars: map[string]string{"nrpe_command": fmt.Sprintf("%q", command)}}
	}
	container := nrpe(svcContainer, "vigil_container_model_api")
	// HARD after 2 failed checks 1 s apart, checked every 2 s, healed by
	// the shipped EventCommand.
	container.Vars["vigil_heal_rule"] = `"model_api"`
	container.Extra = []string{"max_check_attempts = 2", "check_interval = 2s", "retry_interval = 1s", `event_command = "vigil_heal"`}
	services := []icingaService{
		container,
		nrpe(svcLatency, "vigil_model_latency"),
		nrpe(svcDrift, "vigil_drift"),
		nrpe(svcKafka, "vigil_kafka_lag"),
		{Host: localHost, Name: svcLatencyHere, Command: "vigil_model_latency", Vars: map[string]string{
			"vigil_model_latency_port": modelPort, "vigil_model_latency_v2_model": `"iris"`,
			"vigil_model_latency_input": `"input-0:FP32:1,4:5.1,3.5,1.4,0.2"`, "vigil_model_latency_samples": "10",
			"vigil_model_latency_warning": `"~:200"`, "vigil_model_latency_critical": `"~:500"`}},
		{Host: localHost, Name: svcKafkaHere, Command: "vigil_kafka_lag", Vars: map[string]string{
			"vigil_kafka_lag_brokers": `[ "$check_address$:` + kafkaPort + `" ]`, "vigil_kafka_lag_group": `[ "predictions" ]`,
			"vigil_kafka_lag_warning": `"~:1000"`, "vigil_kafka_lag_critical": `"~:10000"`, "vigil_kafka_lag_lag_seconds_critical": `"~:1200"`}},
		{Host: localHost, Name: svcDriftHere, Command: "vigil_drift", Vars: map[string]string{
			"vigil_drift_reference": fmt.Sprintf("%q", filepath.Join(s.driftDir, "reference.parquet")),
			"vigil_drift_current":   fmt.Sprintf("%q", filepath.Join(s.driftDir, "predictions.parquet"))}},
	}
	ic := startIcinga(t, s, map[string]string{agentHost: s.agentAddr, localHost: "127.0.0.1"}, services)

	changes := ic.watchStateChanges()
	forcedAt := time.Now()
	ic.rescheduleAll()
	want := s.expectations()
	var got map[string]icingaResult
	waitFor(t, 60*time.Second, "every service's forced check in the Icinga API", func() bool {
		got = ic.services()
		for key := range want {
			r, ok := got[key]
			if !ok || r.Attrs.LastCheckResult == nil || r.Attrs.LastCheckResult.ExecutionEnd < float64(forcedAt.Unix()) {
				return false
			}
		}
		return true
	})
	for key, w := range want {
		cr := got[key].Attrs.LastCheckResult
		// Icinga keeps the whole output (first line and long output) in
		// one string and the perfdata as a list of items.
		first, long, _ := strings.Cut(cr.Output, "\n")
		// Icinga cuts the first line at the "|" and keeps the blank
		// before it (docs: plugin-conventions, "How the cores split").
		if !strings.HasSuffix(first, " ") {
			t.Errorf("%s: Icinga's output %q lost the blank before the perfdata", key, first)
		}
		first = strings.TrimSuffix(first, " ")
		var perf []string
		for _, p := range cr.PerformanceData {
			perf = append(perf, fmt.Sprint(p))
		}
		matchResult(t, key, int(cr.State), first, strings.Join(perf, " "), w)
		t.Logf("Icinga API %s: state=%v command=%v\n\toutput=%q\n\tperformance_data=%q", key, cr.State, cr.Command, first+"\n"+long, perf)
	}
	if time.Now().After(healthyUntil) {
		t.Fatalf("the forced checks took until %s, past the container's healthy time: the machine is too slow for this test", time.Now().Format(time.TimeOnly))
	}
	if t.Failed() {
		t.FailNow()
	}
	icingaRecovery(t, s, ic, changes)
}

// icingaRecovery: the container turns unhealthy; Icinga's state changes
// must go CRITICAL SOFT, CRITICAL HARD, then OK HARD after the shipped
// EventCommand had the agent restart the container, once.
func icingaRecovery(t *testing.T, s *stack, ic *icinga, changes func() []stateChange) {
	t.Helper()
	mine := func() []stateChange {
		var out []stateChange
		for _, c := range changes() {
			if c.Host == agentHost && c.Service == svcContainer {
				out = append(out, c)
			}
		}
		return out
	}
	waitFor(t, 90*time.Second, "the container service to recover after a HARD CRITICAL under Icinga", func() bool {
		hard := false
		for _, c := range mine() {
			if c.State == 2 && c.StateType == 1 {
				hard = true
			}
			if hard && c.State == 0 && c.StateType == 1 {
				return true
			}
		}
		return false
	})
	var timeline []string
	for _, c := range mine() {
		first, _, _ := strings.Cut(c.CheckResult.Output, "\n")
		timeline = append(timeline, fmt.Sprintf("%s state=%v state_type=%v %s",
			time.Unix(int64(c.Timestamp), 0).UTC().Format(time.TimeOnly), c.State, []string{"SOFT", "HARD"}[int(c.StateType)], first))
	}
	t.Logf("Icinga StateChange events of the container service:\n%s", strings.Join(timeline, "\n"))
	want := []string{
		`state=2 state_type=SOFT CONTAINER CRITICAL - 1 of 1 unhealthy: ` + regexp.QuoteMeta(s.container) + ` unhealthy`,
		`state=2 state_type=HARD CONTAINER CRITICAL - 1 of 1 unhealthy: `,
		`state=0 state_type=HARD CONTAINER OK - ` + regexp.QuoteMeta(s.container) + ` running, healthy, up \d+s, restarts 0 \(1 counted\), `,
	}
	next := 0
	for _, l := range timeline {
		if next < len(want) && regexp.MustCompile(want[next]).MatchString(l) {
			next++
		}
	}
	if next < len(want) {
		t.Errorf("Icinga's state changes lack, in order, one matching %q", want[next])
	}
	if n := s.events.Starts(time.Time{}); n != 2 {
		t.Errorf("the engine reports %d starts of the container, want 2 (the first and one restart)", n)
	}
	actions := s.auditActions(t)
	if len(actions) != 1 || actions[0]["why"] != "HARD CRITICAL reported by the monitoring server's event handler" || actions[0]["result"] != "restarted" {
		t.Errorf("audit log actions: %v", actions)
	}
}
