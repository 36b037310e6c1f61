package plugin

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Range is a threshold range in the Monitoring Plugins syntax
// [@]start:end: "10" is 0..10, "10:" is 10..+inf, "~:10" is -inf..10,
// endpoints are inclusive. Without "@" a value outside the range alerts; with
// "@" a value inside it does.
type Range struct {
	Start, End float64 // -Inf / +Inf for an open end
	Inside     bool    // the "@" form: alert when inside
}

// ParseRange parses a range. Unlike the C plugins, which read "abc" as 0, it
// rejects anything that is not a number, "~" (as start) or empty end.
func ParseRange(text string) (Range, error) {
	r := Range{Start: 0, End: math.Inf(1)}
	s := strings.TrimSpace(text)
	if strings.HasPrefix(s, "@") {
		r.Inside = true
		s = s[1:]
	}
	if s == "" {
		return Range{}, fmt.Errorf("range %q is empty", text)
	}
	startText, endText, hasColon := strings.Cut(s, ":")
	if !hasColon {
		startText, endText = "", s
	}
	switch startText {
	case "":
		r.Start = 0
	case "~":
		r.Start = math.Inf(-1)
	default:
		v, err := parseNumber(startText)
		if err != nil {
			return Range{}, fmt.Errorf("range %q: start %q is not a number", text, startText)
		}
		r.Start = v
	}
	if endText == "" {
		if !hasColon {
			return Range{}, fmt.Errorf("range %q has no end", text)
		}
		if startText == "" {
			// ":" alone: the draft guidelines require a start or an end.
			return Range{}, fmt.Errorf("range %q has neither start nor end", text)
		}
	} else {
		v, err := parseNumber(endText)
		if err != nil {
			return Range{}, fmt.Errorf("range %q: end %q is not a number", text, endText)
		}
		r.End = v
	}
	if r.Start > r.End {
		return Range{}, fmt.Errorf("range %q: start %s is greater than end %s", text, FormatNumber(r.Start), FormatNumber(r.End))
	}
	return r, nil
}

// parseNumber accepts a finite decimal number; Go's ParseFloat would also take
// "inf", "nan" and hexadecimal, which no plugin user means.
func parseNumber(s string) (float64, error) {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, fmt.Errorf("not a decimal number")
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("not a finite number")
	}
	return v, nil
}

// Alert reports whether v should raise an alert for this range.
func (r Range) Alert(v float64) bool {
	in := r.Start <= v && v <= r.End
	if r.Inside {
		return in
	}
	return !in
}

// String renders the range in its shortest standard form ("10", "10:",
// "~:10", "@10:20"), as it goes into perfdata.
func (r Range) String() string {
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case math.IsInf(r.Start, -1):
		b.WriteString("~:")
	case r.Start != 0 || math.IsInf(r.End, 1):
		b.WriteString(FormatNumber(r.Start))
		b.WriteByte(':')
	}
	if !math.IsInf(r.End, 1) {
		b.WriteString(FormatNumber(r.End))
	}
	return b.String()
}

// Thresholds pairs an optional warning and critical range.
type Thresholds struct {
	Warning, Critical *Range
}

// Evaluate returns CRITICAL if the critical range alerts, else WARNING if the
// warning range alerts, else OK. A range not set never alerts.
func (t Thresholds) Evaluate(v float64) Status {
	if t.Critical != nil && t.Critical.Alert(v) {
		return Critical
	}
	if t.Warning != nil && t.Warning.Alert(v) {
		return Warning
	}
	return OK
}

// Set reports whether either range is given.
func (t Thresholds) Set() bool { return t.Warning != nil || t.Critical != nil }

// MustRange parses a range known at compile time; it panics on a bad one, so
// only use it for literals.
func MustRange(text string) *Range {
	r, err := ParseRange(text)
	if err != nil {
		panic(err)
	}
	return &r
}
