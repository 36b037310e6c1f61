package heal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/agent/config"
)

// TestServe runs the daemon as vigil-agent serve would: from a parsed
// agent configuration, a command probe that fails until a file exists and
// an action that creates it. The daemon acts once, re-checks, and returns
// when its context ends.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "flag")
	cfgFile := filepath.Join(dir, "nrpe.cfg")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`vigil_heal_state_dir=%s/state
command[check_flag]=/bin/sh -c 'test -f %s && echo present || { echo missing; exit 2; }'
command[make_flag]=/usr/bin/touch %s
watch[flag]=check=command:check_flag action=command:make_flag interval=100ms attempts=2 grace=100ms
`, dir, flag, flag)), 0o644)
	c, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, c, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	audit := filepath.Join(dir, "state", "audit.log")
	for {
		b, _ := os.ReadFile(audit)
		if strings.Contains(string(b), `"result":"recovered"`) {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no recovery within 10s; audit log:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	b, _ := os.ReadFile(audit)
	if n := strings.Count(string(b), `"event":"action"`); n != 1 {
		t.Fatalf("%d actions:\n%s", n, b)
	}
	// No rules: returns at once.
	if err := Serve(context.Background(), config.Defaults(), nil); err != nil {
		t.Fatal(err)
	}
}
