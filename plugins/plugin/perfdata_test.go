package plugin

import (
	"math"
	"testing"
)

func TestPerfdataString(t *testing.T) {
	tests := []struct {
		p    Perfdata
		want string
	}{
		{Perfdata{Label: "load1", Value: 0.5}, "load1=0.5"},
		{Perfdata{Label: "time", Value: 0.00042, UOM: "s"}, "time=0.00042s"},
		{Perfdata{Label: "pvalue", Value: 3.9e-15}, "pvalue=0.0000000000000039"},
		{Perfdata{Label: "big", Value: 1e21, UOM: "B"}, "big=1000000000000000000000B"},
		{Perfdata{Label: "noise", Value: 0.1 + 0.2}, "noise=0.3"},
		{Perfdata{Label: "neg", Value: -12.5}, "neg=-12.5"},
		{Perfdata{Label: "zero", Value: math.Copysign(0, -1)}, "zero=0"},
		{Perfdata{Label: "p99 latency", Value: 0.12, UOM: "s", Warning: MustRange("~:0.5"), Critical: MustRange("@1:2"), Min: Float(0)},
			"'p99 latency'=0.12s;~:0.5;@1:2;0"},
		{Perfdata{Label: "a=b", Value: 1}, "'a=b'=1"},
		{Perfdata{Label: "it's", Value: 1}, "'it''s'=1"},
		{Perfdata{Label: "pipe|new\nline", Value: 1}, "pipe_new_line=1"},
		{Perfdata{Label: "", Value: 1}, "_=1"},
		{Perfdata{Label: "only_max", Value: 5, UOM: "%", Max: Float(100)}, "only_max=5%;;;;100"},
		{Perfdata{Label: "crit_only", Value: 5, Critical: MustRange("10")}, "crit_only=5;;10"},
		{Perfdata{Label: "all", Value: 5, UOM: "c", Warning: MustRange("10:"), Critical: MustRange("20:30"), Min: Float(0), Max: Float(50)},
			"all=5c;10:;20:30;0;50"},
		{Perfdata{Label: "nan", Value: math.NaN(), UOM: "s"}, "nan=U"},
		{Perfdata{Label: "inf", Value: math.Inf(1)}, "inf=U"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {-1, "-1"}, {0.1, "0.1"}, {1.0 / 3, "0.333333333333"},
		{123456789012345, "123456789012000"}, {1e-300, "0." + zeros(299) + "1"},
		{2.5e-7, "0.00000025"}, {99.99999999999999, "100"},
	} {
		if got := FormatNumber(tt.v); got != tt.want {
			t.Errorf("FormatNumber(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

func TestWorst(t *testing.T) {
	for _, tt := range []struct {
		in   []Status
		want Status
	}{
		{nil, OK},
		{[]Status{OK, Unknown}, Unknown},
		{[]Status{Unknown, Warning}, Warning},
		{[]Status{Warning, Critical, Unknown}, Critical},
		{[]Status{OK, OK}, OK},
	} {
		if got := Worst(tt.in...); got != tt.want {
			t.Errorf("Worst(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
