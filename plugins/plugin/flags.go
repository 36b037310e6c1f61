package plugin

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// RangeValue is a pflag.Value holding an optional threshold range. An empty
// argument (what Nagios passes for an unset $ARGn$) leaves it unset.
type RangeValue struct{ r **Range }

// NewRangeValue returns a flag value that stores into *r.
func NewRangeValue(r **Range) *RangeValue { return &RangeValue{r: r} }

// Set parses a range; empty text unsets it.
func (v *RangeValue) Set(text string) error {
	if strings.TrimSpace(text) == "" {
		*v.r = nil
		return nil
	}
	r, err := ParseRange(text)
	if err != nil {
		return err
	}
	*v.r = &r
	return nil
}

// String returns the range as given, normalised, or "".
func (v *RangeValue) String() string {
	if v == nil || v.r == nil || *v.r == nil {
		return ""
	}
	return (*v.r).String()
}

// Type names the value in help output.
func (v *RangeValue) Type() string { return "range" }

// RangeVarP defines a threshold range flag.
func RangeVarP(fs *pflag.FlagSet, r **Range, name, short, usage string) {
	fs.VarP(NewRangeValue(r), name, short, usage)
}

// Timeout is the -t value: a duration and the state to report when it runs
// out, written SECONDS[:STATE] as check_nrpe writes it.
type Timeout struct {
	Duration time.Duration
	State    Status
}

// Set parses "10", "2.5", "10s", "10:CRITICAL".
func (t *Timeout) Set(text string) error {
	d, state, hasState := strings.Cut(strings.TrimSpace(text), ":")
	dur, err := parseSeconds(d)
	if err != nil {
		return err
	}
	t.Duration = dur
	t.State = Unknown
	if hasState {
		s, err := ParseStatus(state)
		if err != nil {
			return err
		}
		t.State = s
	}
	return nil
}

func parseSeconds(text string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(text, 64); err == nil {
		if !(secs > 0) || secs > 86400 {
			return 0, fmt.Errorf("timeout %q must be between 0 and 86400 seconds", text)
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	dur, err := time.ParseDuration(text)
	if err != nil || dur <= 0 {
		return 0, fmt.Errorf("timeout %q is not a positive number of seconds", text)
	}
	return dur, nil
}

// String renders the timeout as it would be given.
func (t *Timeout) String() string {
	s := strconv.FormatFloat(t.Duration.Seconds(), 'f', -1, 64)
	if t.State != Unknown {
		s += ":" + t.State.String()
	}
	return s
}

// Type names the value in help output.
func (t *Timeout) Type() string { return "seconds[:state]" }
