package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Service names of the test's Nagios (and Icinga) configuration.
const (
	agentHost      = "ml-node-01" // the agent's host
	localHost      = "monitoring" // the monitoring server itself, 127.0.0.1
	svcContainer   = "Container model-api"
	svcLatency     = "Model latency via agent"
	svcDrift       = "Prediction drift"
	svcKafka       = "Kafka lag predictions"
	svcLatencyHere = "Model latency iris"
	svcKafkaHere   = "Kafka lag from the server"
	svcDriftHere   = "Feature drift from the server"
)

// expectation is what a service's check result must be: its state, and
// its output and perfdata as exact strings or, where they hold measured
// times, as regular expressions.
type expectation struct {
	State    int
	Output   string // regexp, anchored
	Perfdata string // regexp, anchored
	// Values bounds measured perfdata values, by label: [min, max] in
	// the item's own unit.
	Values map[string][2]float64
}

// perfItem is one parsed performance data item.
type perfItem struct {
	Label, UOM           string
	Value                float64
	Warn, Crit, Min, Max string
}

var perfItemRE = regexp.MustCompile(`^([A-Za-z0-9_./-]+)=(-?[0-9.]+)(s|ms|us|%|B|KB|MB|TB|c)?(?:;([^;]*)(?:;([^;]*)(?:;([^;]*)(?:;([^;]*))?)?)?)?$`)

// parsePerfdata splits performance data into items the way the cores and
// graphers read it (single spaces between items, labels unquoted) and
// fails on any item that does not parse.
func parsePerfdata(t *testing.T, key, perf string) map[string]perfItem {
	t.Helper()
	out := map[string]perfItem{}
	for _, f := range strings.Split(perf, " ") {
		m := perfItemRE.FindStringSubmatch(f)
		if m == nil {
			t.Errorf("%s: perfdata item %q does not parse", key, f)
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Errorf("%s: perfdata item %q: %v", key, f, err)
		}
		out[m[1]] = perfItem{Label: m[1], Value: v, UOM: m[3], Warn: m[4], Crit: m[5], Min: m[6], Max: m[7]}
	}
	return out
}

// expectations lists every service's expected result. The container's
// name is in the perfdata labels, the drift files' paths in the long
// output. No status line carries a ";": Nagios would rewrite it to ":"
// (";" separates the fields of its log and external commands), so the
// plugin API writes "," instead, and both cores show the same text.
func (s *stack) expectations() map[string]expectation {
	c := regexp.QuoteMeta(s.container)
	latencyOut := `MODEL_LATENCY OK - p95 2\d\.\d ms over 10 requests to model iris \(V2 infer\)`
	latencyPerf := `min=[\d.]+ms;;;0 mean=[\d.]+ms;;;0 p50=[\d.]+ms;;;0 p90=[\d.]+ms;;;0 p95=[\d.]+ms;200;500;0 p99=[\d.]+ms;;;0 max=[\d.]+ms;;;0 error_rate=0%;;;0;100 failed=0;;0;0;10`
	// The model server answers in 20 ms; the shipped -w is 200 ms.
	latencyValues := map[string][2]float64{"min": {20, 200}, "p95": {20, 200}, "max": {20, 500}}
	// The last record is a minute old, the oldest unconsumed 300 s older.
	kafkaValues := map[string][2]float64{"predictions_lag": {300, 300}, "predictions_lag_seconds": {355, 420}}
	containerUsage := `cpu [\d.]+%, memory [\d.]+% \([\d.]+MiB of [\d.]+GiB\)`
	kafkaOut := `KAFKA_LAG OK - 1 group, total lag 300, most behind group predictions topic predictions lag 300, 3\d\ds behind`
	return map[string]expectation{
		agentHost + ";" + svcContainer: {0,
			`CONTAINER OK - ` + c + ` running, healthy, up \d+s, restarts 0 \(0 counted\), ` + containerUsage,
			`containers=1;;;0 ` + c + `_restarts=0c ` + c + `_uptime=\d+s;1:;;0 ` + c + `_restarts_counted=0;1;3;0 ` + c + `_cpu=[\d.]+%;;;0;200 ` + c + `_memory=[\d.]+%;85;95;0;100 ` + c + `_memory_used=\d+B;;;0;\d+`,
			map[string][2]float64{s.container + "_uptime": {1, 20}, s.container + "_memory": {0, 85}}},
		agentHost + ";" + svcLatency: {0, latencyOut, latencyPerf, latencyValues},
		agentHost + ";" + svcDrift: {1,
			regexp.QuoteMeta(`DRIFT WARNING - 2 of 2 columns drifted: prediction wasserstein_normed=0.2597, label jensenshannon=0.1441`),
			regexp.QuoteMeta(`prediction_wasserstein_normed=0.25970366392;0.1;;0 prediction_wasserstein=0.0749747012911;;;0 label_jensenshannon=0.144066512998;0.1;;0;1 drifted_columns=2;;;0;2`), nil},
		agentHost + ";" + svcKafka: {0, kafkaOut,
			`predictions_lag=300;1000;10000;0 predictions_lag_seconds=3\d\d(\.\d+)?s;;1200;0 predictions_members=1;;;0 predictions_max_partition_lag=300;;;0 predictions/predictions_lag=300;;;0 predictions/predictions_lag_seconds=3\d\d(\.\d+)?s;;;0`, kafkaValues},
		localHost + ";" + svcLatencyHere: {0, latencyOut, strings.Replace(latencyPerf, "p95=[\\d.]+ms;200;500;0", "p95=[\\d.]+ms;~:200;~:500;0", 1), latencyValues},
		localHost + ";" + svcKafkaHere: {0, kafkaOut,
			`predictions_lag=300;~:1000;~:10000;0 predictions_lag_seconds=3\d\d(\.\d+)?s;;~:1200;0 predictions_members=1;;;0 predictions_max_partition_lag=300;;;0 predictions/predictions_lag=300;;;0 predictions/predictions_lag_seconds=3\d\d(\.\d+)?s;;;0`, kafkaValues},
		// All 6000 rows: the direct command has no --current-last.
		localHost + ";" + svcDriftHere: {1,
			regexp.QuoteMeta(`DRIFT WARNING - 2 of 2 columns drifted: prediction wasserstein_normed=0.2597, label jensenshannon=0.1439`),
			regexp.QuoteMeta(`prediction_wasserstein_normed=0.259726363732;0.1;;0 prediction_wasserstein=0.074981254574;;;0 label_jensenshannon=0.14394735018;0.1;;0;1 drifted_columns=2;;;0;2`), nil},
	}
}

// nagiosServices are the services of the test's Nagios: the four checks
// through the agent with the shipped vigil_nrpe, the container's healed by
// the shipped vigil_heal; three run by Nagios itself with the shipped
// direct commands.
func (s *stack) nagiosServices() []nagiosService {
	_, modelPort, _ := strings.Cut(strings.TrimPrefix(s.modelURL, "http://127.0.0.1"), ":")
	_, kafkaPort, _ := strings.Cut(s.kafkaAddr, ":")
	return []nagiosService{
		{agentHost, svcContainer, "vigil_nrpe!vigil_container_model_api", []string{
			// HARD after 2 failed checks, 1 s apart; checked every 2 s.
			"max_check_attempts 2", "check_interval 2", "retry_interval 1", "active_checks_enabled 1",
			"event_handler vigil_heal!model_api", "event_handler_enabled 1"}},
		{agentHost, svcLatency, "vigil_nrpe!vigil_model_latency", nil},
		{agentHost, svcDrift, "vigil_nrpe!vigil_drift", nil},
		{agentHost, svcKafka, "vigil_nrpe!vigil_kafka_lag", nil},
		{localHost, svcLatencyHere, "vigil_model_latency_v2!" + modelPort + "!iris!input-0:FP32:1,4:5.1,3.5,1.4,0.2!~:200!~:500", nil},
		{localHost, svcKafkaHere, "vigil_kafka_lag!" + kafkaPort + "!predictions!~:1000!~:10000!!~:1200", nil},
		{localHost, svcDriftHere, "vigil_drift!" + filepath.Join(s.driftDir, "reference.parquet") + "!" + filepath.Join(s.driftDir, "predictions.parquet") + "!!", nil},
	}
}

// matchResult compares one result with its expectation.
func matchResult(t *testing.T, key string, state int, output, perfdata string, want expectation) {
	t.Helper()
	if state != want.State {
		t.Errorf("%s: state %d, want %d (output %q)", key, state, want.State, output)
	}
	if !regexp.MustCompile(`^` + want.Output + `$`).MatchString(output) {
		t.Errorf("%s: output\n  %q\nwant (regexp)\n  %q", key, output, want.Output)
	}
	if !regexp.MustCompile(`^` + want.Perfdata + `$`).MatchString(perfdata) {
		t.Errorf("%s: perfdata\n  %q\nwant (regexp)\n  %q", key, perfdata, want.Perfdata)
	}
	items := parsePerfdata(t, key, perfdata)
	for label, r := range want.Values {
		it, ok := items[label]
		if !ok {
			t.Errorf("%s: no perfdata item %s", key, label)
		} else if it.Value < r[0] || it.Value > r[1] {
			t.Errorf("%s: %s=%v%s, want within [%v, %v]", key, label, it.Value, it.UOM, r[0], r[1])
		}
	}
}

// TestNagiosEndToEnd: Nagios Core 4 with the shipped command definitions
// runs every check (through the stock check_nrpe and vigil-agent serving
// the shipped snippet, and directly), forced through the external command
// file; status.dat holds the expected state, output and perfdata of each.
// Then the payload container turns unhealthy: Nagios counts SOFT, then
// HARD CRITICAL, the shipped event handler asks the agent to heal
// (heal_model_api), the agent restarts the container once, and the
// service recovers. nagios.log, the engine's events and the agent's audit
// log must all tell that story.
func TestNagiosEndToEnd(t *testing.T) {
	const healthyFor = 25 * time.Second
	s := newStack(t, healthyFor)
	healthyUntil := time.Now().Add(healthyFor - 5*time.Second) // the container started before newStack returned
	// The shipped container command wants an uptime of 1 s (scaled from
	// 5m); Nagios checks that service at once.
	time.Sleep(time.Until(s.started.Add(2 * time.Second)))
	n := startNagios(t, s, map[string]string{agentHost: s.agentAddr, localHost: "127.0.0.1"}, s.nagiosServices(),
		configPath("nagios", "vigil-commands.cfg"))

	// 1. Forced checks, results from status.dat.
	forcedAt := time.Now().Truncate(time.Second)
	want := s.expectations()
	for key := range want {
		host, svc, _ := strings.Cut(key, ";")
		n.forceCheck(host, svc)
	}
	var status map[string]statusBlock
	waitFor(t, 60*time.Second, "every forced check in status.dat", func() bool {
		status = n.serviceStatus()
		for key := range want {
			b, ok := status[key]
			if !ok {
				return false
			}
			last, _ := strconv.ParseInt(b.Fields["last_check"], 10, 64)
			if b.Fields["has_been_checked"] != "1" || time.Unix(last, 0).Before(forcedAt) {
				return false
			}
		}
		return true
	})
	if time.Now().After(healthyUntil) {
		t.Fatalf("the forced checks took until %s, past the container's healthy time: the machine is too slow for this test", time.Now().Format(time.TimeOnly))
	}
	for key, w := range want {
		b := status[key]
		state, _ := strconv.Atoi(b.Fields["current_state"])
		matchResult(t, key, state, b.Fields["plugin_output"], b.Fields["performance_data"], w)
		t.Logf("status.dat servicestatus %s:\n\tcurrent_state=%s\n\tplugin_output=%s\n\tlong_plugin_output=%s\n\tperformance_data=%s",
			key, b.Fields["current_state"], b.Fields["plugin_output"], b.Fields["long_plugin_output"], b.Fields["performance_data"])
	}
	// The long output survives NRPE and Nagios: the drift details, with
	// newlines stored as \n in status.dat.
	if lo := status[agentHost+";"+svcDrift].Fields["long_plugin_output"]; !strings.HasPrefix(lo, `reference `+filepath.Join(s.driftDir, "reference.parquet")+`: 4000 rows; current `) ||
		!strings.Contains(lo, `\nprediction: numeric, WARNING wasserstein`) {
		t.Errorf("drift long output in status.dat: %q", lo)
	}
	if t.Failed() {
		t.FailNow()
	}

	// 2. The recovery path.
	key := agentHost + ";" + svcContainer
	prefix := "SERVICE ALERT: " + key + ";"
	waitFor(t, 90*time.Second, "the container service to recover after a HARD CRITICAL", func() bool {
		hard := false
		for _, l := range n.log() {
			if strings.HasPrefix(l.Text, prefix+"CRITICAL;HARD;") {
				hard = true
			}
			if hard && strings.HasPrefix(l.Text, prefix+"OK;HARD;") {
				return true
			}
		}
		return false
	})
	var timeline []string
	for _, l := range n.log() {
		// Nagios logs an event handler's output when it exits non-zero:
		// heal --act answers WARNING after a restart, until its re-check.
		if strings.Contains(l.Text, ": "+key+";") || strings.Contains(l.Text, "SCHEDULE_FORCED_SVC_CHECK;"+key) ||
			strings.HasPrefix(l.Text, "wproc: SERVICE EVENTHANDLER job") || strings.HasPrefix(l.Text, "wproc:   stdout line") {
			timeline = append(timeline, fmt.Sprintf("[%d] %s", l.Time.Unix(), l.Text))
		}
	}
	t.Logf("nagios.log, the container service:\n%s", strings.Join(timeline, "\n"))
	s.assertTimeline(t, timeline)

	// The engine started the container twice: at first, and the heal.
	if n := s.events.Starts(time.Time{}); n != 2 {
		t.Errorf("the engine reports %d starts of the container, want 2 (the first and one restart)", n)
	}
	// The agent's audit log: one restart, asked for by the event handler.
	actions := s.auditActions(t)
	if b, err := os.ReadFile(filepath.Join(s.healState, "audit.log")); err == nil {
		t.Logf("the agent's heal audit log:\n%s", b)
	}
	if len(actions) != 1 || actions[0]["why"] != "HARD CRITICAL reported by the monitoring server's event handler" ||
		actions[0]["result"] != "restarted" || !strings.Contains(fmt.Sprint(actions[0]["output"]), "HTTP 503: model not loaded") {
		t.Errorf("audit log actions: %v", actions)
	}
	// status.dat agrees (within its 1 s update): OK again, HARD, one
	// restart counted by check_container (the engine's RestartCount
	// stays 0 after an API restart).
	var final statusBlock
	waitFor(t, 10*time.Second, "status.dat to show the recovery", func() bool {
		final = n.serviceStatus()[key]
		return final.Fields["current_state"] == "0"
	})
	t.Logf("status.dat after the recovery:\n\tcurrent_state=%s\n\tstate_type=%s\n\tplugin_output=%s\n\tperformance_data=%s",
		final.Fields["current_state"], final.Fields["state_type"], final.Fields["plugin_output"], final.Fields["performance_data"])
	if final.Fields["current_state"] != "0" || final.Fields["state_type"] != "1" ||
		!regexp.MustCompile(`^CONTAINER OK - `+regexp.QuoteMeta(s.container)+` running, healthy, up \d+s, restarts 0 \(1 counted\), `).MatchString(final.Fields["plugin_output"]) {
		t.Errorf("status.dat after the recovery: %v", final.Fields)
	}
	// check_heal through the agent reports the restart.
	out, code := s.checkNRPE("check_heal")
	if code != 1 || !strings.HasPrefix(out, "HEAL WARNING - model_api: 1 restart of "+s.container+" within 1h, last at ") {
		t.Errorf("check_heal (exit %d): %s", code, out)
	}
}

// assertTimeline checks the container service's lines of nagios.log:
// CRITICAL SOFT 1 with its event handler call, CRITICAL HARD 2 with its
// event handler call, then OK HARD with its event handler call, in that
// order, and no second HARD CRITICAL on the way.
func (s *stack) assertTimeline(t *testing.T, lines []string) {
	t.Helper()
	key := agentHost + ";" + svcContainer
	steps := []*regexp.Regexp{
		regexp.MustCompile(`SERVICE ALERT: ` + key + `;CRITICAL;SOFT;1;CONTAINER CRITICAL - 1 of 1 unhealthy: ` + regexp.QuoteMeta(s.container) + ` unhealthy \(\d+ failed probes: "HTTP 503: model not loaded \(unhealthy since 25s\)"\)$`),
		regexp.MustCompile(`SERVICE EVENT HANDLER: ` + key + `;CRITICAL;SOFT;1;vigil_heal!model_api$`),
		regexp.MustCompile(`SERVICE ALERT: ` + key + `;CRITICAL;HARD;2;CONTAINER CRITICAL - 1 of 1 unhealthy: `),
		regexp.MustCompile(`SERVICE EVENT HANDLER: ` + key + `;CRITICAL;HARD;2;vigil_heal!model_api$`),
		regexp.MustCompile(`wproc:   stdout line 01: vigil heal model_api: CRITICAL HARD after attempt 2, asking ` + regexp.QuoteMeta(s.agentAddr) + `$`),
		regexp.MustCompile(`wproc:   stdout line 02: HEAL WARNING - model_api: restart of container ` + regexp.QuoteMeta(s.container) + `: restarted in \d+ms \(HARD CRITICAL reported by the monitoring server's event handler: CRITICAL - 1 of 1 unhealthy: `),
		regexp.MustCompile(`SERVICE ALERT: ` + key + `;OK;HARD;\d;CONTAINER OK - ` + regexp.QuoteMeta(s.container) + ` running, healthy, up \d+s, restarts 0 \(1 counted\), `),
		regexp.MustCompile(`SERVICE EVENT HANDLER: ` + key + `;OK;HARD;\d;vigil_heal!model_api$`),
	}
	next := 0
	hardCriticals := 0
	for _, l := range lines {
		if strings.Contains(l, ";CRITICAL;HARD;") && strings.Contains(l, "SERVICE ALERT") {
			hardCriticals++
		}
		if next < len(steps) && steps[next].MatchString(l) {
			next++
		}
	}
	if next < len(steps) {
		t.Errorf("nagios.log lacks, in order, a line matching %q", steps[next])
	}
	if hardCriticals != 1 {
		t.Errorf("%d HARD CRITICAL alerts, want 1", hardCriticals)
	}
}

// auditActions returns the action lines of the agent's heal audit log.
func (s *stack) auditActions(t *testing.T) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.healState, "audit.log"))
	if err != nil {
		t.Fatalf("reading the audit log: %v", err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		if m["event"] == "action" {
			out = append(out, m)
		}
	}
	return out
}
