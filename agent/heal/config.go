package heal

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Entry is one watch[NAME]=VALUE line as the agent's config parser found it.
type Entry struct {
	Name  string // what is between the brackets
	Value string // everything after the first '='
	Pos   string // "file:line", for error messages
}

// ParseRules turns watch[...] entries into rules. commands holds the
// agent's command[NAME] lines, which check=command:NAME and
// action=command:NAME refer to. A later entry of the same name replaces an
// earlier one, as command[...] does. All errors are returned together.
//
// The syntax, beside nrpe.cfg's command[...] lines:
//
//	watch[model_api]=check=container:model-api attempts=3 interval=30s max_actions=5 window=1h
//	watch[triton]=check=command:check_triton action=systemd:tritonserver.service grace=2m
func ParseRules(entries []Entry, commands map[string]string) ([]Rule, error) {
	var errs []error
	byName := map[string]Rule{}
	for _, e := range entries {
		r, err := parseRule(e, commands)
		if err != nil {
			if e.Pos != "" {
				err = fmt.Errorf("%s: %w", e.Pos, err)
			}
			errs = append(errs, err)
			continue
		}
		byName[r.Name] = r
	}
	rules := make([]Rule, 0, len(byName))
	for _, r := range byName {
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Name < rules[j].Name })
	return rules, errors.Join(errs...)
}

func parseRule(e Entry, commands map[string]string) (Rule, error) {
	r := NewRule(e.Name)
	actionGiven := false
	for _, word := range strings.Fields(e.Value) {
		key, value, ok := strings.Cut(word, "=")
		if !ok || value == "" {
			return r, fmt.Errorf("watch[%s]: %q is not option=value", e.Name, word)
		}
		var err error
		switch key {
		case "check":
			kind, target, _ := strings.Cut(value, ":")
			r.Check, r.CheckTarget = CheckKind(kind), target
			if r.Check != CheckContainer && r.Check != CheckCommand {
				err = fmt.Errorf("check %q: want container:NAME or command:NAME", value)
			}
		case "action":
			actionGiven = true
			kind, target, _ := strings.Cut(value, ":")
			r.Action, r.Target = ActionKind(kind), target
			switch r.Action {
			case ActionRestart, ActionSystemd, ActionCommand, ActionNone:
			default:
				err = fmt.Errorf("action %q: want restart[:CONTAINER], systemd:UNIT, command:NAME or none", value)
			}
		case "interval":
			r.Interval, err = parseDuration(value)
		case "grace":
			r.Grace, err = parseDuration(value)
		case "backoff":
			r.Backoff, err = parseDuration(value)
		case "max_backoff":
			r.MaxBackoff, err = parseDuration(value)
		case "window":
			r.Window, err = parseDuration(value)
		case "action_timeout":
			r.ActionTimeout, err = parseDuration(value)
		case "probe_timeout":
			r.ProbeTimeout, err = parseDuration(value)
		case "stop_timeout":
			r.StopTimeout, err = parseDuration(value)
		case "attempts", "max_check_attempts":
			r.Attempts, err = strconv.Atoi(value)
		case "max_actions":
			r.MaxActions, err = strconv.Atoi(value)
		case "fail_on":
			r.FailOn, err = parseStates(value)
		case "dry_run":
			r.DryRun, err = parseBool(value)
		default:
			err = fmt.Errorf("unknown option %q", key)
		}
		if err != nil {
			return r, fmt.Errorf("watch[%s]: %s: %w", e.Name, key, err)
		}
	}
	if !actionGiven && r.Check == CheckContainer {
		r.Action = ActionRestart
	}
	if r.Action == ActionRestart && r.Target == "" && r.Check == CheckContainer {
		r.Target = r.CheckTarget
	}
	if r.Check == "" {
		return r, fmt.Errorf("watch[%s]: no check (want check=container:NAME or check=command:NAME)", e.Name)
	}
	if r.Action == "" {
		return r, fmt.Errorf("watch[%s]: no action (a command check needs action=...)", e.Name)
	}
	for _, ref := range []struct {
		used bool
		name string
	}{
		{r.Check == CheckCommand, r.CheckTarget},
		{r.Action == ActionCommand, r.Target},
	} {
		if ref.used && ref.name != "" {
			if _, ok := commands[ref.name]; !ok {
				return r, fmt.Errorf("watch[%s]: no command[%s] is defined", e.Name, ref.name)
			}
		}
	}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("watch[%s]: %w", e.Name, err)
	}
	return r, nil
}

// parseDuration takes a Go duration ("90s", "1h30m", "500ms") or plain
// seconds ("90"), as nrpe.cfg's timeouts are written.
func parseDuration(s string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if secs < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (30s, 5m, 1h) or seconds", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

func parseStates(s string) ([]plugin.Status, error) {
	var out []plugin.Status
	for _, word := range strings.Split(s, ",") {
		st, err := plugin.ParseStatus(word)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", s)
}
