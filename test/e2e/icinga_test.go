package e2e

import (
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
	"strings"
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
	permissions = [ "objects/query/*", "actions/reschedule-check" ]
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
		fmt.Fprintf(&conf, "object Service %q {\n\thost_name = %q\n\tcheck_command = %q\n\tcheck_interval = 1h\n\tretry_interval = 1h\n", sv.Name, sv.Host, sv.Command)
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
	cmd.Env = append(env, "TMPDIR="+s.tmpDir("icinga"))
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
	s := newStack(t, 0)
	time.Sleep(time.Until(s.started.Add(2 * time.Second))) // --min-uptime 1s
	_, modelPort, _ := strings.Cut(strings.TrimPrefix(s.modelURL, "http://127.0.0.1"), ":")
	_, kafkaPort, _ := strings.Cut(s.kafkaAddr, ":")
	nrpe := func(name, command string) icingaService {
		return icingaService{agentHost, name, "vigil_nrpe", map[string]string{"nrpe_command": fmt.Sprintf("%q", command)}}
	}
	services := []icingaService{
		nrpe(svcContainer, "vigil_container_model_api"),
		nrpe(svcLatency, "vigil_model_latency"),
		nrpe(svcDrift, "vigil_drift"),
		nrpe(svcKafka, "vigil_kafka_lag"),
		{localHost, svcLatencyHere, "vigil_model_latency", map[string]string{
			"vigil_model_latency_port": modelPort, "vigil_model_latency_v2_model": `"iris"`,
			"vigil_model_latency_input": `"input-0:FP32:1,4:5.1,3.5,1.4,0.2"`, "vigil_model_latency_samples": "10",
			"vigil_model_latency_warning": `"~:200"`, "vigil_model_latency_critical": `"~:500"`}},
		{localHost, svcKafkaHere, "vigil_kafka_lag", map[string]string{
			"vigil_kafka_lag_brokers": `[ "$check_address$:` + kafkaPort + `" ]`, "vigil_kafka_lag_group": `[ "predictions" ]`,
			"vigil_kafka_lag_warning": `"~:1000"`, "vigil_kafka_lag_critical": `"~:10000"`, "vigil_kafka_lag_lag_seconds_critical": `"~:1200"`}},
		{localHost, svcDriftHere, "vigil_drift", map[string]string{
			"vigil_drift_reference": fmt.Sprintf("%q", filepath.Join(s.driftDir, "reference.parquet")),
			"vigil_drift_current":   fmt.Sprintf("%q", filepath.Join(s.driftDir, "predictions.parquet"))}},
	}
	ic := startIcinga(t, s, map[string]string{agentHost: s.agentAddr, localHost: "127.0.0.1"}, services)

	forcedAt := time.Now()
	ic.rescheduleAll()
	want := s.expectations(";")
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
}
