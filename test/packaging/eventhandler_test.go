package packaging

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/test/testenv"
)

// TestEventHandlerCommand runs the shipped Nagios vigil_heal command line,
// expanded as Nagios expands it for a service with
// event_handler vigil_heal!model_api, against the stock nrpe daemon serving
// heal_model_api: on HARD CRITICAL the handler must reach the agent's
// heal_<rule> command through check_nrpe, and do nothing otherwise. What
// heal_model_api does on a real agent is the recovery tests' subject; here
// it is check_dummy, which shows the call arrived with the right name.
func TestEventHandlerCommand(t *testing.T) {
	testenv.RequireFile(t, "/usr/sbin/nrpe")
	testenv.RequireFile(t, "/usr/lib/nagios/plugins/check_nrpe")
	dummy := testenv.RequireFile(t, "/usr/lib/nagios/plugins/check_dummy")

	dir := readableTempDir(t)
	script, err := os.ReadFile(configPath("nagios", "vigil-heal-event-handler.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vigil-heal-event-handler"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	snippet := filepath.Join(dir, "heal.cfg")
	if err := os.WriteFile(snippet, []byte("command[heal_model_api]="+dummy+" 0 healed-model_api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := startStockNRPE(t, snippet)

	line := nagiosCommands(t)["vigil_heal"]
	for _, c := range []struct {
		state, stateType, attempt string
		want                      string // output; "" = none
	}{
		{"CRITICAL", "HARD", "3", "OK: healed-model_api"},
		{"CRITICAL", "SOFT", "2", "waiting for HARD"},
		{"OK", "HARD", "1", ""},
		{"WARNING", "HARD", "3", ""},
	} {
		t.Run(c.state+" "+c.stateType, func(t *testing.T) {
			expanded := expandNagios(line, dir, []string{"model_api"})
			for macro, v := range map[string]string{"$SERVICESTATE$": c.state, "$SERVICESTATETYPE$": c.stateType, "$SERVICEATTEMPT$": c.attempt} {
				expanded = strings.ReplaceAll(expanded, macro, v)
			}
			// The test daemon listens on a free port, without SSL.
			expanded += fmt.Sprintf(" -p %d -n", port)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", expanded)
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("%s: exit %d\n%s", expanded, code, out)
			}
			if c.want == "" && len(out) > 0 || !strings.Contains(string(out), c.want) {
				t.Errorf("%s: output %q, want %q", expanded, out, c.want)
			}
		})
	}
}
