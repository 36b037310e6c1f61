package drift

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Options configure one check_drift run.
type Options struct {
	Reference, Current string // file paths or HTTP(S) URLs
	Format             string // csv, tsv, jsonl, parquet, histogram; "" = by extension
	Delimiter          string // CSV field delimiter, one byte; "" = "," ("\t" for tsv)
	NoHeader           bool   // CSV without a header line: columns are 1, 2, …

	Columns []string          // columns to compare; nil = every column
	Types   map[string]string // declared kinds: column → numeric|categorical

	CurrentLast     int    // keep only the current input's last N rows
	TimestampColumn string // for Since
	Since           string // keep current rows at or after this time (RFC 3339) or this long ago (duration)

	Method     string  // one of Methods; "" = auto
	Bins       int     // reference-quantile bins for binned statistics on numbers
	PSIEpsilon float64 // share used for an empty bin in PSI
	DriftShare float64 // > 0: alert only when this share of columns drifted
	Bonferroni bool    // divide p-value thresholds by the number of columns
	OnBadValue string  // skip (default) or fail: non-numeric text in a numeric column
	Show       int     // drifted columns named in the summary

	Histogram HistogramOptions

	Now func() time.Time // injectable clock for --since durations
}

// OnBadValue choices.
const (
	BadSkip = "skip"
	BadFail = "fail"
)

func (o *Options) withDefaults() {
	if o.Method == "" {
		o.Method = MethodAuto
	}
	if o.Bins == 0 {
		o.Bins = DefaultPSIBins
	}
	if o.PSIEpsilon == 0 {
		o.PSIEpsilon = DefaultPSIEpsilon
	}
	if o.OnBadValue == "" {
		o.OnBadValue = BadSkip
	}
	if o.Show == 0 {
		o.Show = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func (o *Options) validate() error {
	switch {
	case o.Reference == "":
		return errors.New("--reference is required")
	case o.Current == "":
		return errors.New("--current is required")
	case !validMethod(o.Method):
		return fmt.Errorf("--method %q is not one of %s", o.Method, strings.Join(Methods, ", "))
	case o.Bins < 2 || o.Bins > 1000:
		return fmt.Errorf("--bins %d: must be between 2 and 1000", o.Bins)
	case o.Show < 1:
		return fmt.Errorf("--show %d: must be at least 1", o.Show)
	case !(o.PSIEpsilon > 0 && o.PSIEpsilon < 1):
		return fmt.Errorf("--psi-epsilon %g must be between 0 and 1", o.PSIEpsilon)
	case !(o.DriftShare >= 0 && o.DriftShare <= 1):
		return fmt.Errorf("--drift-share %g must be between 0 and 1", o.DriftShare)
	case o.OnBadValue != BadSkip && o.OnBadValue != BadFail:
		return fmt.Errorf("--on-bad-value %q is not skip or fail", o.OnBadValue)
	case o.CurrentLast < 0:
		return fmt.Errorf("--current-last %d is negative", o.CurrentLast)
	case o.Since != "" && o.TimestampColumn == "":
		return errors.New("--since needs --timestamp-column")
	case len(o.Delimiter) > 1:
		return fmt.Errorf("--delimiter %q must be one character", o.Delimiter)
	}
	for col, k := range o.Types {
		if k != KindNumeric && k != KindCategorical {
			return fmt.Errorf("--type %s=%s: kind must be numeric or categorical", col, k)
		}
	}
	return nil
}

// sinceTime resolves --since: a duration means that long before now.
func (o *Options) sinceTime() (time.Time, error) {
	if d, err := time.ParseDuration(o.Since); err == nil {
		return o.Now().Add(-d), nil
	}
	t, err := parseTimestamp(o.Since)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q is neither a duration (1h, 30m) nor a time: %w", o.Since, err)
	}
	return t, nil
}

// Check compares the current window with the reference and evaluates each
// column's drift against th (or the method's defaults when th is unset).
func Check(ctx context.Context, o Options, th plugin.Thresholds) plugin.Result {
	o.withDefaults()
	if err := o.validate(); err != nil {
		return plugin.Unknownf("%v", err)
	}
	format := o.Format
	if format == "" {
		var err error
		if format, err = detectFormat(o.Current); err != nil {
			return plugin.Unknownf("%v", err)
		}
	}
	if format == FormatHistogram {
		return checkHistogram(ctx, o, th)
	}
	plugin.SetStage(ctx, "reading the reference and current data")
	ref, cur, err := readWindows(ctx, o, format)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	if err := sameSchema(ref, cur, o.Columns != nil); err != nil {
		return plugin.Unknownf("%v", err)
	}
	if ref.rows == 0 {
		return plugin.Unknownf("reference %s has no rows", o.Reference)
	}
	if cur.rows == 0 {
		msg := fmt.Sprintf("current window is empty: %s has no rows", o.Current)
		if o.Since != "" {
			msg = fmt.Sprintf("current window is empty: no row of %s since %s (%d rows read", o.Current, o.Since, cur.read)
			if cur.badTime > 0 {
				msg += fmt.Sprintf(", %d with unreadable timestamps", cur.badTime)
			}
			msg += ")"
		}
		return plugin.Unknownf("%s", msg)
	}
	plugin.SetStage(ctx, "computing drift statistics")
	cols := compareColumns(ctx, o, ref, cur)
	if ctx.Err() != nil {
		return plugin.Unknownf("cancelled while computing drift statistics")
	}
	res := evaluate(o, th, cols)
	res.Details = append([]string{windowLine(o, ref, cur)}, res.Details...)
	return res
}

// windowLine describes what each side held, first in the long output.
func windowLine(o Options, ref, cur *window) string {
	line := fmt.Sprintf("reference %s: %d rows; current %s: ", o.Reference, ref.rows, o.Current)
	if cur.rows == cur.read {
		line += fmt.Sprintf("%d rows", cur.rows)
	} else {
		line += fmt.Sprintf("%d of %d rows", cur.rows, cur.read)
		var why []string
		if o.Since != "" {
			why = append(why, "since "+o.Since)
		}
		if o.CurrentLast > 0 {
			why = append(why, fmt.Sprintf("last %d", o.CurrentLast))
		}
		line += " (" + strings.Join(why, ", ") + ")"
	}
	if cur.badTime > 0 {
		line += fmt.Sprintf("; %d rows skipped for unreadable timestamps in %s", cur.badTime, o.TimestampColumn)
	}
	return line
}

// readWindows reads the reference (every row) and the current window (last
// N rows or rows since a time) side by side.
func readWindows(ctx context.Context, o Options, format string) (ref, cur *window, err error) {
	since := time.Time{}
	if o.Since != "" {
		if since, err = o.sinceTime(); err != nil {
			return nil, nil, err
		}
	}
	mk := func(src string, current bool) *rowSink {
		s := &rowSink{win: newWindow(src, nil), wanted: o.Columns}
		// The timestamp column is not a feature on either side; only the
		// current window is filtered on it.
		s.tsColumn = o.TimestampColumn
		if current {
			s.lastN = o.CurrentLast
			if o.Since != "" {
				s.filterTime, s.since = true, since
			}
		}
		return s
	}
	sinks := [2]*rowSink{mk(o.Reference, false), mk(o.Current, true)}
	var errs [2]error
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := readInto(ctx, s.win.source, format, o, s); err != nil {
				errs[i] = fmt.Errorf("%s %s: %w", [2]string{"reference", "current"}[i], s.win.source, err)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		// One message for both sides, in the words of plugin.Execute.
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, errors.New("timed out while reading the reference and current data")
		}
		return nil, nil, errors.New("cancelled while reading the reference and current data")
	}
	switch {
	case errs[0] != nil && errs[1] != nil:
		return nil, nil, fmt.Errorf("%w; %w", errs[0], errs[1])
	case errs[0] != nil:
		return nil, nil, errs[0]
	case errs[1] != nil:
		return nil, nil, errs[1]
	}
	return sinks[0].finish(), sinks[1].finish(), nil
}

func readInto(ctx context.Context, src, format string, o Options, s *rowSink) error {
	if format == FormatParquet {
		return readParquet(ctx, src, s)
	}
	r, err := openSource(ctx, src)
	if err != nil {
		return err
	}
	defer r.Close()
	switch format {
	case FormatCSV, FormatTSV:
		delim := byte(',')
		if format == FormatTSV {
			delim = '\t'
		}
		if o.Delimiter != "" {
			delim = o.Delimiter[0]
		}
		return readCSV(ctx, r, delim, !o.NoHeader, s)
	case FormatJSONL:
		return readJSONL(ctx, r, s)
	}
	return fmt.Errorf("unknown format %q", format)
}

// sameSchema refuses inputs whose column sets differ when every column is
// compared: a renamed or dropped column is a pipeline change to report, not
// something to skip quietly.
func sameSchema(ref, cur *window, explicit bool) error {
	if explicit {
		return nil // each named column was found on both sides
	}
	var onlyRef, onlyCur []string
	for _, c := range ref.columns {
		if cur.byName[c.name] == nil {
			onlyRef = append(onlyRef, c.name)
		}
	}
	for _, c := range cur.columns {
		if ref.byName[c.name] == nil {
			onlyCur = append(onlyCur, c.name)
		}
	}
	if len(onlyRef)+len(onlyCur) == 0 {
		return nil
	}
	var parts []string
	if len(onlyRef) > 0 {
		parts = append(parts, "only in reference: "+strings.Join(onlyRef, ", "))
	}
	if len(onlyCur) > 0 {
		parts = append(parts, "only in current: "+strings.Join(onlyCur, ", "))
	}
	return fmt.Errorf("reference and current have different columns (%s); name the columns to compare with --column", strings.Join(parts, "; "))
}
