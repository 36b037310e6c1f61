package heal

import (
	"fmt"

	"github.com/docker/docker/client"

	"github.com/vigil-monitoring/vigil/agent/run"
)

// Binding is what a rule's probe and action run against.
type Binding struct {
	Engine client.APIClient // for container checks and restarts
	// Runner runs command[...] probes as NRPE requests are run (its
	// Commands, Prefix, Policy, InProcess, Process); its Timeout is
	// replaced by each rule's probe_timeout.
	Runner run.Runner
}

// Bind sets r.Probe and r.Act from the rule's check and action.
func (b Binding) Bind(r *Rule) error {
	opts := b.Runner.Process
	if opts.MaxOutput == 0 {
		opts = processOptions()
	}
	switch r.Check {
	case CheckContainer:
		if b.Engine == nil {
			return fmt.Errorf("rule %s: no docker engine client", r.Name)
		}
		r.Probe = ContainerProbe(b.Engine, r.CheckTarget)
	case CheckCommand:
		if _, ok := b.Runner.Commands[r.CheckTarget]; !ok {
			return fmt.Errorf("rule %s: no command[%s] is defined", r.Name, r.CheckTarget)
		}
		runner := b.Runner
		runner.Process = opts
		r.Probe = CommandProbe(runner, r.CheckTarget, r.ProbeTimeout)
	default:
		return fmt.Errorf("rule %s: unknown check %q", r.Name, r.Check)
	}
	switch r.Action {
	case ActionRestart:
		if b.Engine == nil {
			return fmt.Errorf("rule %s: no docker engine client", r.Name)
		}
		r.Act = RestartContainer(b.Engine, r.Target, r.StopTimeout)
	case ActionSystemd:
		r.Act = SystemdAction(r.Target, opts)
	case ActionCommand:
		line, ok := b.Runner.Commands[r.Target]
		if !ok {
			return fmt.Errorf("rule %s: no command[%s] is defined", r.Name, r.Target)
		}
		r.Act = CommandAction(b.Runner.Prefix, line, opts)
	case ActionNone:
		r.Act = nil
	default:
		return fmt.Errorf("rule %s: unknown action %q", r.Name, r.Action)
	}
	return nil
}
