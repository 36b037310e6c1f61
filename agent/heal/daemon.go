package heal

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/vigil-monitoring/vigil/agent/config"
)

// Serve runs the watch rules of an agent configuration as a daemon until
// ctx ends: what `vigil-agent serve` starts beside its NRPE listener (and
// restarts with the new configuration on a reload). It returns at once,
// with nil, when there are no rules, and with an error when the rules do
// not parse or bind; the audit log is STATE-DIR/audit.log. log receives a
// line per change of a rule's state (the audit log has the actions).
func Serve(ctx context.Context, c *config.Config, log *slog.Logger) error {
	loaded := FromAgentConfig(c)
	if len(loaded.Entries) == 0 {
		return nil
	}
	rules, err := ParseRules(loaded.Entries, loaded.Commands)
	if err != nil {
		return fmt.Errorf("watch rules: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	h, ptrs, closeAll, err := prepare(loaded, rules, "", "", false)
	if err != nil {
		return err
	}
	defer closeAll()
	if log == nil {
		log = slog.Default()
	}
	log.Info("watching", "rules", len(ptrs), "state_dir", h.StateDir)
	last := map[string]string{}
	h.Daemon(ctx, ptrs, func(o Outcome) {
		state := o.Status.String()
		if last[o.Rule] != state {
			last[o.Rule] = state
			log.Info("watch rule "+state, "rule", o.Rule, "summary", o.Summary)
		}
	})
	return nil
}
