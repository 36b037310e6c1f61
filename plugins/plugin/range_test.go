package plugin

import (
	"math"
	"strings"
	"testing"
)

// TestRangeAlert checks every range form at values below, on and above each
// endpoint. Pattern letters: A alerts, . does not, for the values in xs.
func TestRangeAlert(t *testing.T) {
	xs := []float64{-1, 0, 5, 9.99, 10, 10.01, 15, 20, 20.01, 25}
	tests := []struct {
		text    string
		pattern string
		norm    string
	}{
		{"10", "A....AAAAA", "10"},
		{"0:10", "A....AAAAA", "10"},
		{"10:", "AAAA......", "10:"},
		{"~:10", ".....AAAAA", "~:10"},
		{"10:20", "AAAA....AA", "10:20"},
		{"@10:20", "....AAAA..", "@10:20"},
		{"@10", ".AAAA.....", "@10"},
		{"~:", "..........", "~:"},
		{"@~:", "AAAAAAAAAA", "@~:"},
		{"@~:10", "AAAAA.....", "@~:10"},
		{"@:5", ".AA.......", "@5"},
		{"0", "A.AAAAAAAA", "0"},
		{"1:", "AA........", "1:"},
		{"-5:5", "...AAAAAAA", "-5:5"},
		{"-1:-0.5", ".AAAAAAAAA", "-1:-0.5"},
		{"9.99:10.01", "AAA...AAAA", "9.99:10.01"},
		{"1e1", "A....AAAAA", "10"},
		{" 10 ", "A....AAAAA", "10"},
		{"10:10", "AAAA.AAAAA", "10:10"},
		{"@20:", ".......AAA", "@20:"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r, err := ParseRange(tt.text)
			if err != nil {
				t.Fatalf("ParseRange(%q): %v", tt.text, err)
			}
			want := tt.pattern
			var got strings.Builder
			for _, x := range xs {
				if r.Alert(x) {
					got.WriteByte('A')
				} else {
					got.WriteByte('.')
				}
			}
			if got.String() != want {
				t.Errorf("range %q over %v: got %s, want %s", tt.text, xs, got.String(), want)
			}
			if r.String() != tt.norm {
				t.Errorf("range %q: String() = %q, want %q", tt.text, r.String(), tt.norm)
			}
		})
	}
}

func TestParseRangeErrors(t *testing.T) {
	tests := []struct{ text, msg string }{
		{"abc", `range "abc": end "abc" is not a number`},
		{"10:5", `range "10:5": start 10 is greater than end 5`},
		{"x:y", `range "x:y": start "x" is not a number`},
		{"10:abc", `range "10:abc": end "abc" is not a number`},
		{":", `range ":" has neither start nor end`},
		{"@", `range "@" is empty`},
		{"~", `range "~": end "~" is not a number`},
		{"", `range "" is empty`},
		{"inf", `range "inf": end "inf" is not a number`},
		{"NaN:", `range "NaN:": start "NaN" is not a number`},
		{"0x10", `range "0x10": end "0x10" is not a number`},
		{"1e999", `range "1e999": end "1e999" is not a number`},
		{"5:~", `range "5:~": end "~" is not a number`},
	}
	for _, tt := range tests {
		_, err := ParseRange(tt.text)
		if err == nil {
			t.Errorf("ParseRange(%q) succeeded, want error", tt.text)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("ParseRange(%q) error = %q, want %q", tt.text, err, tt.msg)
		}
	}
}

func TestThresholdsEvaluate(t *testing.T) {
	// The guidelines' example: -w10 -c20 is critical over 20, warning over 10,
	// critical below 0; critical is evaluated first.
	th := Thresholds{Warning: MustRange("10"), Critical: MustRange("20")}
	for _, tt := range []struct {
		v    float64
		want Status
	}{{-1, Critical}, {0, OK}, {10, OK}, {10.5, Warning}, {20, Warning}, {20.5, Critical}} {
		if got := th.Evaluate(tt.v); got != tt.want {
			t.Errorf("Evaluate(%v) = %v, want %v", tt.v, got, tt.want)
		}
	}
	if got := (Thresholds{}).Evaluate(math.Inf(1)); got != OK {
		t.Errorf("unset thresholds: got %v, want OK", got)
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@~:", "-5:-1.5", "abc", ":", "1e3:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := ParseRange(text)
		if err != nil {
			return
		}
		if r.Start > r.End || math.IsNaN(r.Start) || math.IsNaN(r.End) {
			t.Fatalf("ParseRange(%q) = %+v: invalid range accepted", text, r)
		}
		// The normalised form must parse back to the same range.
		again, err := ParseRange(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseRange(%q).String() = %q reparses to %+v, %v", text, r.String(), again, err)
		}
	})
}
