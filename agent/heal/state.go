package heal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// StateFile is the name of the state file in the state directory.
const StateFile = "state.json"

// stateVersion is bumped when the layout changes incompatibly.
const stateVersion = 1

// State is everything the healers remember, for every rule.
type State struct {
	Version int                   `json:"version"`
	Rules   map[string]*RuleState `json:"rules"`
}

// RuleState is one rule's memory: its own restart history, never the
// engine's RestartCount, which an API restart resets.
type RuleState struct {
	Attempts   int           `json:"attempts"` // consecutive failed probes
	LastStatus plugin.Status `json:"last_status"`
	LastOutput string        `json:"last_output,omitempty"`
	LastProbe  time.Time     `json:"last_probe,omitzero"`

	// Actions are the times actions were taken (successful or not),
	// oldest first, pruned to the rule's window.
	Actions []ActionRecord `json:"actions,omitempty"`
	// GraceUntil is set after a successful action: until then probes are
	// not counted; the first probe after it is the re-check.
	GraceUntil time.Time `json:"grace_until,omitzero"`
	Recheck    bool      `json:"recheck,omitempty"`

	GaveUpAt time.Time `json:"gave_up_at,omitzero"`

	// Totals since the state was created, for perfdata.
	TotalActions    int `json:"total_actions"`
	TotalRecovered  int `json:"total_recovered"`
	TotalFailedRecs int `json:"total_failed_recoveries"`
	TotalGiveUps    int `json:"total_give_ups"`
}

// ActionRecord is one action taken.
type ActionRecord struct {
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	Result string    `json:"result"`
	DryRun bool      `json:"dry_run,omitempty"`
}

// inWindow returns the actions taken within window up to now. Dry runs
// restarted nothing and count only for a dry-run rule, so that its log
// shows the pace, backoff and give-up a real rule would have.
func (rs *RuleState) inWindow(now time.Time, window time.Duration, dryRun bool) []ActionRecord {
	var out []ActionRecord
	for _, a := range rs.Actions {
		if a.DryRun != dryRun && a.DryRun {
			continue
		}
		if d := now.Sub(a.At); d >= 0 && d < window {
			out = append(out, a)
		}
	}
	return out
}

// prune drops actions older than the window; dry runs are kept only as
// long, so the state file stays small.
func (rs *RuleState) prune(now time.Time, window time.Duration) {
	kept := rs.Actions[:0]
	for _, a := range rs.Actions {
		if now.Sub(a.At) < window {
			kept = append(kept, a)
		}
	}
	rs.Actions = kept
}

// loadState reads the state file. A missing file is a fresh start; a file
// that does not parse is moved aside (so an operator can look at it) and
// replaced by a fresh state. Either way the returned note says what
// happened, and the caller reports it; neither is fatal. A reader that
// does not hold the lock (check_heal) passes readOnly and leaves the file
// where it is.
func loadState(dir string, readOnly ...bool) (*State, string, error) {
	path := filepath.Join(dir, StateFile)
	fresh := &State{Version: stateVersion, Rules: map[string]*RuleState{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading state file: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil || st.Version != stateVersion {
		why := fmt.Sprintf("version %d, want %d", st.Version, stateVersion)
		if err != nil {
			why = err.Error()
		}
		if len(readOnly) > 0 && readOnly[0] {
			return fresh, fmt.Sprintf("state file %s is unreadable (%s); the next healer step will move it aside and start afresh", path, why), nil
		}
		aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000"))
		if rerr := os.Rename(path, aside); rerr != nil {
			return fresh, fmt.Sprintf("state file %s is unreadable (%s) and could not be moved aside (%v); starting from an empty state", path, why, rerr), nil
		}
		return fresh, fmt.Sprintf("state file %s was unreadable (%s); moved to %s, starting from an empty state: restart history is lost", path, why, aside), nil
	}
	if st.Rules == nil {
		st.Rules = map[string]*RuleState{}
	}
	return &st, "", nil
}

// saveState writes the state atomically: a temporary file in the same
// directory, fsync, rename over the old file, fsync of the directory. A
// crash at any point leaves either the old state or the new one.
func saveState(dir string, st *State) error {
	st.Version = stateVersion
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	// 0664: check_heal reads it as the NRPE user, and an event handler run
	// as that user may replace it.
	return plugin.WriteFileAtomic(filepath.Join(dir, StateFile), append(b, '\n'), 0o664)
}
