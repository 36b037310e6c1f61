package drift

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
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

// columnResult is one column's verdict.
type columnResult struct {
	name       string
	label      string // perfdata label prefix when not name
	kind       string
	method     string
	stats      []statistic // decision statistic first
	refN, curN int
	thresholds plugin.Thresholds
	status     plugin.Status
	notes      []string
	problem    string // why the column could not be compared (UNKNOWN)
}

func (c *columnResult) decision() statistic { return c.stats[0] }

// compareColumns works out each column's kind and method and computes its
// statistics, sorting numeric samples in parallel.
func compareColumns(ctx context.Context, o Options, ref, cur *window) []*columnResult {
	results := make([]*columnResult, len(ref.columns))
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))
	var wg sync.WaitGroup
	for i, rc := range ref.columns {
		cc := cur.byName[rc.name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				results[i] = &columnResult{name: rc.name, problem: "cancelled"}
				return
			}
			results[i] = compareColumn(o, rc, cc)
		}()
	}
	wg.Wait()
	return results
}

func compareColumn(o Options, rc, cc *columnData) *columnResult {
	res := &columnResult{name: rc.name}
	kind := o.Types[rc.name]
	if kind == "" {
		kind = KindCategorical
		if len(rc.nums)+rc.nonFinite > rc.text {
			kind = KindNumeric
		}
	}
	res.kind = kind
	if kind == KindNumeric {
		compareNumeric(o, res, rc, cc)
	} else {
		compareCategorical(o, res, rc, cc)
	}
	return res
}

func compareNumeric(o Options, res *columnResult, rc, cc *columnData) {
	for _, side := range []struct {
		name string
		c    *columnData
	}{{"reference", rc}, {"current", cc}} {
		if side.c.text > 0 {
			if o.OnBadValue == BadFail {
				res.problem = fmt.Sprintf("%d non-numeric value%s in %s, e.g. %q, and --on-bad-value fail", side.c.text, plural(side.c.text), side.name, exampleLabel(side.c))
				return
			}
			res.notes = append(res.notes, fmt.Sprintf("%d non-numeric skipped in %s (e.g. %q)", side.c.text, side.name, exampleLabel(side.c)))
		}
		if side.c.nonFinite > 0 {
			res.notes = append(res.notes, fmt.Sprintf("%d NaN/Inf dropped in %s", side.c.nonFinite, side.name))
		}
	}
	res.refN, res.curN = len(rc.nums), len(cc.nums)
	if res.refN == 0 || res.curN == 0 {
		res.problem = emptyProblem(res.refN, res.curN)
		return
	}
	sortFloats(rc.nums)
	sortFloats(cc.nums)
	if rc.nums[0] == rc.nums[len(rc.nums)-1] {
		res.notes = append(res.notes, fmt.Sprintf("reference is constant (%s)", formatShort(rc.nums[0])))
	}
	res.method = o.Method
	if res.method == MethodAuto {
		res.method = autoMethod(KindNumeric, res.refN, res.curN)
	}
	stats, err := numericStats(res.method, rc.nums, cc.nums, binOptions{bins: o.Bins, eps: o.PSIEpsilon})
	if err != nil {
		res.problem = err.Error()
		return
	}
	res.stats = stats
}

func compareCategorical(o Options, res *columnResult, rc, cc *columnData) {
	refCounts, curCounts := categoryMap(rc), categoryMap(cc)
	labels, rv, cv := CategoryCounts(refCounts, curCounts)
	res.refN, res.curN = sum(rv), sum(cv)
	for _, side := range []struct {
		name string
		c    *columnData
	}{{"reference", rc}, {"current", cc}} {
		if side.c.nonFinite > 0 {
			res.notes = append(res.notes, fmt.Sprintf("%d NaN/Inf dropped in %s", side.c.nonFinite, side.name))
		}
	}
	if res.refN == 0 || res.curN == 0 {
		res.problem = emptyProblem(res.refN, res.curN)
		return
	}
	var unseen []string
	for i, l := range labels {
		if rv[i] == 0 {
			unseen = append(unseen, strconv.Quote(l))
		}
	}
	if len(unseen) > 0 {
		more := ""
		if len(unseen) > 3 {
			more = fmt.Sprintf(" and %d more", len(unseen)-3)
			unseen = unseen[:3]
		}
		res.notes = append(res.notes, fmt.Sprintf("not in reference: %s%s", strings.Join(unseen, ", "), more))
	}
	res.method = o.Method
	if res.method == MethodAuto {
		res.method = autoMethod(KindCategorical, res.refN, res.curN)
	}
	stats, err := binnedStats(res.method, rv, cv, binOptions{bins: o.Bins, eps: o.PSIEpsilon})
	if err != nil {
		res.problem = err.Error()
		return
	}
	res.stats = stats
}

// categoryMap counts a column's values as labels; numbers are labelled by
// their shortest decimal form, so 1 and 1.0 are one category.
func categoryMap(c *columnData) map[string]int {
	m := c.labelCounts()
	for _, v := range c.nums {
		m[strconv.FormatFloat(v, 'g', -1, 64)]++
	}
	return m
}

func exampleLabel(c *columnData) string {
	best, n := "", -1
	for l, p := range c.labels {
		if *p > n || (*p == n && l < best) {
			best, n = l, *p
		}
	}
	return best
}

func emptyProblem(refN, curN int) string {
	switch {
	case refN == 0 && curN == 0:
		return "no values in reference nor current window"
	case refN == 0:
		return "no values in reference"
	}
	return "no values in current window"
}

func sum(x []float64) int {
	t := 0.0
	for _, v := range x {
		t += v
	}
	return int(t)
}

// evaluate applies thresholds, drift share and Bonferroni, and renders.
func evaluate(o Options, user plugin.Thresholds, cols []*columnResult) plugin.Result {
	var tested []*columnResult
	pTests := 0
	decisions := map[string]bool{} // decision statistics; all p-values count as one
	for _, c := range cols {
		if c.problem != "" {
			c.status = plugin.Unknown
			continue
		}
		tested = append(tested, c)
		if c.decision().pValue {
			pTests++
			decisions["a p-value"] = true
		} else {
			decisions[c.decision().name] = true
		}
	}
	if user.Set() && len(decisions) > 1 {
		names := make([]string, 0, len(decisions))
		for n := range decisions {
			names = append(names, n)
		}
		sort.Strings(names)
		return plugin.Unknownf("-w/-c apply to one statistic, but the columns are judged by %s; choose one with --method", strings.Join(names, " and "))
	}
	for _, c := range tested {
		th := user
		if !user.Set() {
			th = methodDefaults(c.method)
		} else if c.decision().pValue {
			th = plugin.Thresholds{Warning: pValueRange(user.Warning), Critical: pValueRange(user.Critical)}
		}
		if o.Bonferroni && c.decision().pValue {
			th = plugin.Thresholds{Warning: scaleRange(th.Warning, pTests), Critical: scaleRange(th.Critical, pTests)}
		}
		c.thresholds = th
		v := c.decision().value
		if math.IsNaN(v) {
			c.status = plugin.Unknown
			c.problem = c.decision().name + " is not a number"
			continue
		}
		c.status = th.Evaluate(v)
	}
	return render(o, cols, pTests)
}

// pValueRange reads a bare number N given for a p-value as "alert when p
// is below N" (the range N:), since the standard meaning of N, alert above
// N, is never what anyone wants of a p-value. Ranges written with ':', '~'
// or '@' apply as written.
func pValueRange(r *plugin.Range) *plugin.Range {
	if r == nil || r.Inside || r.Start != 0 || math.IsInf(r.End, 1) {
		return r
	}
	return &plugin.Range{Start: r.End, End: math.Inf(1)}
}

// driftScore orders drifted columns, most drifted first, across statistics:
// how far past its own alert boundary a value is, in decades for p-values.
func driftScore(c *columnResult) float64 {
	d := c.decision()
	if d.pValue {
		return -math.Log10(math.Max(d.value, 1e-300))
	}
	return d.value
}

func render(o Options, cols []*columnResult, pTests int) plugin.Result {
	var drifted, unknown []*columnResult
	tested := 0
	for _, c := range cols {
		switch c.status {
		case plugin.Unknown:
			unknown = append(unknown, c)
			continue
		case plugin.Warning, plugin.Critical:
			drifted = append(drifted, c)
		}
		tested++
	}
	sort.SliceStable(drifted, func(i, j int) bool {
		if drifted[i].status != drifted[j].status {
			return drifted[i].status == plugin.Critical
		}
		return driftScore(drifted[i]) > driftScore(drifted[j])
	})

	status := plugin.OK
	for _, c := range drifted {
		status = plugin.Worst(status, c.status)
	}
	var summary strings.Builder
	share := 0.0
	if tested > 0 {
		share = float64(len(drifted)) / float64(tested)
	}
	switch {
	case tested == 0:
		summary.WriteString("no column could be compared")
	case len(drifted) == 0:
		fmt.Fprintf(&summary, "no drift in %d column%s", tested, plural(tested))
		if closest := closestColumn(cols); closest != nil {
			fmt.Fprintf(&summary, " (closest: %s)", briefStat(closest))
		}
	default:
		fmt.Fprintf(&summary, "%d of %d column%s drifted", len(drifted), tested, plural(tested))
		if o.DriftShare > 0 {
			if share >= o.DriftShare {
				fmt.Fprintf(&summary, " (%s ≥ drift share %s)", percent(share), percent(o.DriftShare))
			} else {
				fmt.Fprintf(&summary, " (%s < drift share %s)", percent(share), percent(o.DriftShare))
				status = plugin.OK
			}
		}
		summary.WriteString(": ")
		var named []string
		for _, c := range drifted[:min(len(drifted), o.Show)] {
			named = append(named, briefStat(c))
		}
		summary.WriteString(strings.Join(named, ", "))
		if len(drifted) > o.Show {
			fmt.Fprintf(&summary, ", %d more", len(drifted)-o.Show)
		}
	}
	if o.Bonferroni && pTests > 1 {
		fmt.Fprintf(&summary, "; Bonferroni: p thresholds divided by %d", pTests)
	}
	if len(unknown) > 0 {
		status = plugin.Worst(status, plugin.Unknown)
		var names []string
		for _, c := range unknown {
			names = append(names, fmt.Sprintf("%s (%s)", c.name, c.problem))
		}
		fmt.Fprintf(&summary, "; %d column%s not compared: %s", len(unknown), plural(len(unknown)), strings.Join(names, ", "))
	}

	res := plugin.Result{Status: status, Summary: summary.String()}
	for _, c := range cols {
		res.Details = append(res.Details, detailLine(c))
		for i, s := range c.stats {
			prefix := c.name
			if c.label != "" {
				prefix = c.label
			}
			p := plugin.Perfdata{Label: prefix + "_" + s.name, Value: s.value, Min: s.min, Max: s.max}
			if i == 0 {
				p.Warning, p.Critical = c.thresholds.Warning, c.thresholds.Critical
			}
			res.Perfdata = append(res.Perfdata, p)
		}
	}
	res.Perfdata = append(res.Perfdata, plugin.Perfdata{Label: "drifted_columns", Value: float64(len(drifted)), Min: plugin.Float(0), Max: plugin.Float(float64(tested))})
	return res
}

func closestColumn(cols []*columnResult) *columnResult {
	var best *columnResult
	for _, c := range cols {
		if c.status == plugin.Unknown || len(c.stats) == 0 {
			continue
		}
		if best == nil || driftScore(c) > driftScore(best) {
			best = c
		}
	}
	return best
}

func briefStat(c *columnResult) string {
	d := c.decision()
	return fmt.Sprintf("%s %s=%s", c.name, d.name, formatShort(d.value))
}

func detailLine(c *columnResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", c.name)
	if c.kind != "" {
		fmt.Fprintf(&b, "%s, ", c.kind)
	}
	if len(c.stats) == 0 {
		fmt.Fprintf(&b, "UNKNOWN: %s", c.problem)
	} else {
		fmt.Fprintf(&b, "%s %s, %s=%s (%s)", c.status, c.method, c.decision().name, formatShort(c.decision().value), describeThresholds(c.thresholds))
		for _, s := range c.stats[1:] {
			fmt.Fprintf(&b, ", %s=%s", s.name, formatShort(s.value))
		}
		fmt.Fprintf(&b, ", reference %d / current %d values", c.refN, c.curN)
	}
	for _, n := range c.notes {
		b.WriteString("; ")
		b.WriteString(n)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func percent(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + "%"
}
