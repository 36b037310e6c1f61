package latency

import (
	"math"
	"testing"
	"time"
)

func TestSampleStats(t *testing.T) {
	var durs []time.Duration
	for _, ms := range []int{40, 10, 30, 20} {
		durs = append(durs, time.Duration(ms)*time.Millisecond)
	}
	s := newSampleStats(durs)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"min", s.min, 10},
		{"max", s.max, 40},
		{"mean", s.mean, 25},
		// rank = q·(n−1): p50 at 1.5 -> between 20 and 30.
		{"p50", s.quantile(0.5), 25},
		// p90 at 2.7 -> 30 + 0.7·10.
		{"p90", s.quantile(0.9), 37},
		{"p0", s.quantile(0), 10},
		{"p100", s.quantile(1), 40},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	empty := newSampleStats(nil)
	if !math.IsNaN(empty.quantile(0.5)) || !math.IsNaN(empty.mean) {
		t.Errorf("empty stats should be NaN, got p50 %v mean %v", empty.quantile(0.5), empty.mean)
	}
}

func TestParseStatistic(t *testing.T) {
	for _, tt := range []struct {
		text string
		name string
		q    float64
		err  bool
	}{
		{"p95", "p95", 0.95, false},
		{"p99.9", "p99.9", 0.999, false},
		{"min", "min", 0, false},
		{"max", "max", 1, false},
		{"mean", "mean", math.NaN(), false},
		{"p0", "", 0, true},
		{"p101", "", 0, true},
		{"p1e1", "", 0, true},
		{"median", "", 0, true},
	} {
		st, err := parseStatistic(tt.text)
		if (err != nil) != tt.err {
			t.Errorf("parseStatistic(%q) error = %v, want error %v", tt.text, err, tt.err)
			continue
		}
		if err == nil && (st.name != tt.name || !(st.q == tt.q || math.IsNaN(st.q) && math.IsNaN(tt.q))) {
			t.Errorf("parseStatistic(%q) = %+v", tt.text, st)
		}
	}
}

func TestErrorBudget(t *testing.T) {
	for _, tt := range []struct {
		text          string
		failed, total int
		want          bool
	}{
		{"0", 0, 10, false},
		{"0", 1, 10, true},
		{"3", 3, 10, false},
		{"3", 4, 10, true},
		{"10%", 1, 10, false},
		{"10%", 2, 10, true},
		{"0%", 1, 1000, true},
	} {
		b, err := parseErrorBudget(tt.text)
		if err != nil {
			t.Fatalf("parseErrorBudget(%q): %v", tt.text, err)
		}
		if got := b.exceeded(tt.failed, tt.total); got != tt.want {
			t.Errorf("budget %s, %d of %d failed: exceeded = %v, want %v", tt.text, tt.failed, tt.total, got, tt.want)
		}
	}
	for _, bad := range []string{"-1", "abc", "101%", ""} {
		if _, err := parseErrorBudget(bad); err == nil {
			t.Errorf("parseErrorBudget(%q) accepted", bad)
		}
	}
}

func TestFormatMillis(t *testing.T) {
	for _, tt := range []struct {
		ms   float64
		want string
	}{{1234.6, "1235 ms"}, {45.04, "45.0 ms"}, {4.75, "4.75 ms"}, {0.1234, "0.123 ms"}, {math.NaN(), "n/a"}} {
		if got := formatMillis(tt.ms); got != tt.want {
			t.Errorf("formatMillis(%v) = %q, want %q", tt.ms, got, tt.want)
		}
	}
}
