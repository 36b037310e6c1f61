package plugin

import (
	"math"
	"strconv"
	"strings"
)

// Perfdata is one performance data item:
// 'label'=value[UOM];[warn];[crit];[min];[max].
type Perfdata struct {
	Label    string
	Value    float64
	UOM      string // "", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"
	Warning  *Range
	Critical *Range
	Min, Max *float64
}

// Float returns a pointer to v, for Perfdata.Min and Perfdata.Max.
func Float(v float64) *float64 { return &v }

// String renders the item. Empty trailing fields are dropped; the label is
// quoted only when it must be, because Nagios strips quotes from perfdata
// macros.
func (p Perfdata) String() string {
	var b strings.Builder
	b.WriteString(quoteLabel(p.Label))
	b.WriteByte('=')
	if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
		// "U" is the API's "could not be determined".
		b.WriteByte('U')
	} else {
		b.WriteString(FormatNumber(p.Value))
		b.WriteString(p.UOM)
	}
	fields := []string{"", "", "", ""}
	if p.Warning != nil {
		fields[0] = p.Warning.String()
	}
	if p.Critical != nil {
		fields[1] = p.Critical.String()
	}
	if p.Min != nil {
		fields[2] = FormatNumber(*p.Min)
	}
	if p.Max != nil {
		fields[3] = FormatNumber(*p.Max)
	}
	last := -1
	for i, f := range fields {
		if f != "" {
			last = i
		}
	}
	for i := 0; i <= last; i++ {
		b.WriteByte(';')
		b.WriteString(fields[i])
	}
	return b.String()
}

// quoteLabel quotes a label containing a space, '=' or a quote, doubling inner
// single quotes, and replaces characters that would break the line.
func quoteLabel(label string) string {
	label = strings.Map(func(r rune) rune {
		switch r {
		case '|', '\n', '\r', '\t':
			return '_'
		}
		return r
	}, label)
	if label == "" {
		label = "_"
	}
	if !strings.ContainsAny(label, " ='") {
		return label
	}
	return "'" + strings.ReplaceAll(label, "'", "''") + "'"
}

// FormatNumber renders v as a plain decimal: never exponent notation (one
// exponent makes PNP4Nagios drop all the perfdata), rounded to 12 significant
// digits so float noise such as 0.30000000000000004 prints as 0.3 while small
// values such as a p-value of 3.9e-15 keep their digits.
func FormatNumber(v float64) string {
	if v == 0 {
		return "0"
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "U"
	}
	rounded, err := strconv.ParseFloat(strconv.FormatFloat(v, 'e', 11, 64), 64)
	if err != nil {
		rounded = v
	}
	return strconv.FormatFloat(rounded, 'f', -1, 64)
}
