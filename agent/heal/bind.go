package heal

import (
	"fmt"

	"github.com/docker/docker/client"
)

// Binding is what a rule's probe and action run against.
type Binding struct {
	Engine   client.APIClient  // for container checks and restarts
	Commands map[string]string // command[NAME] lines
	// CommandProbe and CommandAction build a probe or action from a
	// command line; nil uses this package's runner. The agent passes its
	// own, so that a watched command runs exactly as an NRPE request would.
	CommandProbe  func(line string) Probe
	CommandAction func(line string) Action
}

// Bind sets r.Probe and r.Act from the rule's check and action.
func (b Binding) Bind(r *Rule) error {
	probeOf, actionOf := b.CommandProbe, b.CommandAction
	if probeOf == nil {
		probeOf = CommandProbe
	}
	if actionOf == nil {
		actionOf = CommandAction
	}
	switch r.Check {
	case CheckContainer:
		if b.Engine == nil {
			return fmt.Errorf("rule %s: no docker engine client", r.Name)
		}
		r.Probe = ContainerProbe(b.Engine, r.CheckTarget)
	case CheckCommand:
		line, ok := b.Commands[r.CheckTarget]
		if !ok {
			return fmt.Errorf("rule %s: no command[%s] is defined", r.Name, r.CheckTarget)
		}
		r.Probe = probeOf(line)
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
		r.Act = SystemdAction(r.Target)
	case ActionCommand:
		line, ok := b.Commands[r.Target]
		if !ok {
			return fmt.Errorf("rule %s: no command[%s] is defined", r.Name, r.Target)
		}
		r.Act = actionOf(line)
	case ActionNone:
		r.Act = nil
	default:
		return fmt.Errorf("rule %s: unknown action %q", r.Name, r.Action)
	}
	return nil
}
