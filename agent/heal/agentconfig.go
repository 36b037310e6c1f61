package heal

import (
	"github.com/vigil-monitoring/vigil/agent/config"
	"github.com/vigil-monitoring/vigil/agent/run"
)

// LoadAgentConfig reads the agent's configuration (nrpe.cfg with its
// include and include_dir) for the heal command: its watch[...] and
// command[...] lines and vigil_heal_state_dir. Only the parser's exported
// result is used; the rules themselves are parsed here (ParseRules).
func LoadAgentConfig(file string) (Loaded, error) {
	c, err := config.Load(file)
	if err != nil {
		return Loaded{}, err
	}
	return FromAgentConfig(c), nil
}

// FromAgentConfig hands a parsed agent configuration's watch lines over.
func FromAgentConfig(c *config.Config) Loaded {
	l := Loaded{Commands: map[string]string{}, StateDir: c.HealStateDir}
	l.Runner = run.Runner{
		Policy:    run.Policy{NastyMetachars: c.NastyMetachars},
		Prefix:    c.CommandPrefix,
		InProcess: c.InProcess,
	}
	for name, cmd := range c.Commands {
		l.Commands[name] = cmd.Line
	}
	for _, w := range c.Watches {
		l.Entries = append(l.Entries, Entry{Name: w.Name, Value: w.Value, Pos: w.Pos.String()})
	}
	return l
}
