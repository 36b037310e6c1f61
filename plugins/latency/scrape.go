package latency

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// acceptHeader asks for OpenMetrics 1.0 first and the classic text format as
// the fallback; Prometheus itself negotiates the same way.
const acceptHeader = `application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`

// maxScrape bounds the metrics page read.
const maxScrape = 64 << 20

// selection is what scrape mode reads: one metric family, the series of it
// that match, the unit and the statistic.
type selection struct {
	url         string
	metric      string
	countMetric string
	matchers    []matcher
	toMillis    float64
	stat        statistic
	statSet     bool
}

func newSelection(o Options, ev evaluation) (selection, error) {
	sel := selection{metric: o.Metric, countMetric: o.CountMetric, stat: ev.stat, statSet: ev.statSet}
	unit := o.MetricUnit
	path := "/metrics"
	labels := slices.Clone(o.Labels)
	if o.Server != "" {
		p, ok := presets[o.Server]
		if !ok {
			return sel, fmt.Errorf("--server %q is not one of %s", o.Server, strings.Join(presetNames(), ", "))
		}
		if sel.metric == "" {
			sel.metric, sel.countMetric = p.metric, p.countMetric
			labels = append(slices.Clone(p.labels), labels...)
		}
		if unit == "" {
			unit = p.unit
		}
		path = p.metricsPath
		if o.Model != "" {
			if p.modelLabel == "" {
				return sel, fmt.Errorf("--model with --server %s: %s", o.Server, p.note)
			}
			labels = append(labels, p.modelLabel+"="+o.Model)
		}
	} else if o.Model != "" {
		return sel, fmt.Errorf("--model needs --server (which names the model label); use --label NAME=VALUE instead")
	}
	if sel.metric == "" {
		return sel, fmt.Errorf("scrape mode needs --server or --metric")
	}
	if unit == "" {
		unit = "s"
	}
	var ok bool
	if sel.toMillis, ok = unitToMillis(unit); !ok {
		return sel, fmt.Errorf("--metric-unit %q is not s, ms or us", unit)
	}
	for _, l := range labels {
		m, err := parseMatcher(l)
		if err != nil {
			return sel, err
		}
		sel.matchers = append(sel.matchers, m)
	}
	if o.Quantile != 0 {
		if !(o.Quantile > 0 && o.Quantile <= 1) {
			return sel, fmt.Errorf("--quantile %v is not in (0,1]", o.Quantile)
		}
		sel.stat = statistic{name: "p" + plugin.FormatNumber(o.Quantile*100), q: o.Quantile}
		sel.statSet = true
	}
	if sel.countMetric != "" && !sel.statSet {
		// Counters give nothing but a mean.
		sel.stat = statistic{name: "mean", q: math.NaN()}
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return sel, fmt.Errorf("-u %q is not an absolute http(s) URL", o.URL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = path
	}
	sel.url = u.String()
	return sel, nil
}

// key identifies the selection in the state file.
func (s selection) key() string {
	parts := []string{s.url, s.metric, s.countMetric}
	for _, m := range s.matchers {
		parts = append(parts, m.String())
	}
	return strings.Join(parts, "\x00")
}

// describe names the selection for messages: metric{matchers}.
func (s selection) describe() string {
	if len(s.matchers) == 0 {
		return s.metric
	}
	var ms []string
	for _, m := range s.matchers {
		ms = append(ms, m.String())
	}
	return s.metric + "{" + strings.Join(ms, ",") + "}"
}

// matcher is a Prometheus label matcher; a label a series lacks matches as
// the empty string, and regular expressions are anchored, as in PromQL.
type matcher struct {
	name, op, value string
	re              *regexp.Regexp
}

func parseMatcher(text string) (matcher, error) {
	i := strings.IndexAny(text, "=!")
	if i <= 0 {
		return matcher{}, fmt.Errorf("--label %q is not NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX", text)
	}
	m := matcher{name: strings.TrimSpace(text[:i])}
	rest := text[i:]
	for _, op := range []string{"=~", "!~", "!=", "="} {
		if v, ok := strings.CutPrefix(rest, op); ok {
			m.op, m.value = op, v
			break
		}
	}
	if m.op == "" {
		return matcher{}, fmt.Errorf("--label %q is not NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX", text)
	}
	if m.op == "=~" || m.op == "!~" {
		re, err := regexp.Compile("^(?:" + m.value + ")$")
		if err != nil {
			return matcher{}, fmt.Errorf("--label %q: %w", text, err)
		}
		m.re = re
	}
	return m, nil
}

func (m matcher) matches(labels map[string]string) bool {
	v := labels[m.name]
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	}
	return !m.re.MatchString(v)
}

func (m matcher) String() string { return m.name + m.op + strconv.Quote(m.value) }

// fetchFamilies reads and parses a metrics page, in OpenMetrics when the
// server offers it and in the text format otherwise.
func fetchFamilies(ctx context.Context, client *http.Client, headers http.Header, target string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header = headers.Clone()
	req.Header.Set("Accept", acceptHeader)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, failf(failStatus, "HTTP %d: %s", resp.StatusCode, snippet(body))
	}
	return parseFamilies(io.LimitReader(resp.Body, maxScrape), resp.Header.Get("Content-Type"))
}

// parseFamilies decodes a metrics page by its Content-Type: OpenMetrics
// 1.0, or the text format for text/plain, a missing type or anything else.
func parseFamilies(r io.Reader, contentType string) (map[string]*dto.MetricFamily, error) {
	format := expfmt.ResponseFormat(http.Header{"Content-Type": {contentType}})
	if format.FormatType() == expfmt.TypeUnknown {
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	// UTF-8 validation accepts every name the servers use (TF Serving's
	// leading colons included); the zero-value text parser would panic.
	format = expfmt.Format(string(format) + "; escaping=allow-utf-8")
	dec := expfmt.NewDecoder(r, format)
	families := map[string]*dto.MetricFamily{}
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err != nil {
			if err == io.EOF {
				break
			}
			return nil, fmt.Errorf("parsing metrics (%s): %w", contentType, err)
		}
		families[mf.GetName()] = mf
	}
	return families, nil
}

// lookup finds a family by name, allowing for the _total suffix that
// OpenMetrics puts on counters and the text format may not, and for a
// histogram or summary named by one of its series (x_bucket, x_sum,
// x_count) when no family has that exact name.
func lookup(families map[string]*dto.MetricFamily, name string) *dto.MetricFamily {
	for _, n := range []string{name, name + "_total", strings.TrimSuffix(name, "_total")} {
		if mf, ok := families[n]; ok {
			return mf
		}
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if mf, ok := families[base]; ok {
				return mf
			}
		}
	}
	return nil
}

// latencyFamilies lists the histograms and summaries on the page, for the
// message when the metric asked for is not there.
func latencyFamilies(families map[string]*dto.MetricFamily) []string {
	var names []string
	for name, mf := range families {
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM, dto.MetricType_SUMMARY:
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func labelMap(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// seriesKey is a series' label set in a stable text form.
func seriesKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	return "{" + b.String() + "}"
}

// formatBound writes an upper bound as the state file keeps it.
func formatBound(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'g', -1, 64)
}

// snapshotOf reads the selected series into counts. kind is "histogram",
// "summary" or "counter".
func (s selection) snapshotOf(families map[string]*dto.MetricFamily, now time.Time) (snapshot, string, *dto.MetricFamily, error) {
	snap := snapshot{Time: now, Series: map[string]seriesCounts{}}
	mf := lookup(families, s.metric)
	if mf == nil {
		return snap, "", nil, missingMetric(s.metric, families)
	}
	var countFamily *dto.MetricFamily
	kind := ""
	switch mf.GetType() {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		kind = "histogram"
	case dto.MetricType_SUMMARY:
		kind = "summary"
	case dto.MetricType_COUNTER, dto.MetricType_UNTYPED:
		if s.countMetric == "" {
			return snap, "", nil, fmt.Errorf("%s is a %s, not a histogram or summary; a duration counter needs --count-metric", mf.GetName(), strings.ToLower(mf.GetType().String()))
		}
		if countFamily = lookup(families, s.countMetric); countFamily == nil {
			return snap, "", nil, fmt.Errorf("request counter %s not found at the metrics endpoint", s.countMetric)
		}
		kind = "counter"
	default:
		return snap, "", nil, fmt.Errorf("%s is a %s, not a histogram, summary or counter", mf.GetName(), strings.ToLower(mf.GetType().String()))
	}
	var others []string
	for _, m := range mf.GetMetric() {
		labels := labelMap(m)
		if !s.matchAll(labels) {
			others = append(others, seriesKey(labels))
			continue
		}
		c := seriesCounts{}
		switch kind {
		case "histogram":
			h := m.GetHistogram()
			c.Buckets = map[string]float64{}
			for _, b := range h.GetBucket() {
				c.Buckets[formatBound(b.GetUpperBound())] = float64(b.GetCumulativeCount())
				if b.CumulativeCountFloat != nil {
					c.Buckets[formatBound(b.GetUpperBound())] = b.GetCumulativeCountFloat()
				}
			}
			// The text format always carries +Inf; a parsed family
			// without it still has the total in _count.
			if _, ok := c.Buckets["+Inf"]; !ok {
				c.Buckets["+Inf"] = float64(h.GetSampleCount())
			}
			c.Sum, c.Count = h.GetSampleSum(), float64(h.GetSampleCount())
			if h.SampleCountFloat != nil {
				c.Count = h.GetSampleCountFloat()
			}
		case "summary":
			sm := m.GetSummary()
			c.Sum, c.Count = sm.GetSampleSum(), float64(sm.GetSampleCount())
			for _, q := range sm.GetQuantile() {
				if c.Quantiles == nil {
					c.Quantiles = map[string]float64{}
				}
				c.Quantiles[strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)] = q.GetValue()
			}
		case "counter":
			c.Sum = counterValue(m)
			cm := findSeries(countFamily, labels)
			if cm == nil {
				return snap, "", nil, fmt.Errorf("request counter %s has no series %s", s.countMetric, seriesKey(labels))
			}
			c.Count = counterValue(cm)
		}
		snap.Series[seriesKey(labels)] = c
	}
	if len(snap.Series) == 0 {
		slices.Sort(others)
		if len(others) > 5 {
			others = append(others[:5], fmt.Sprintf("and %d more", len(others)-5))
		}
		return snap, "", nil, fmt.Errorf("no series of %s match %s; series there: %s", mf.GetName(), s.describe(), strings.Join(others, " "))
	}
	return snap, kind, mf, nil
}

func (s selection) matchAll(labels map[string]string) bool {
	for _, m := range s.matchers {
		if !m.matches(labels) {
			return false
		}
	}
	return true
}

func counterValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	}
	return math.NaN()
}

// findSeries finds the series of a family with exactly these labels.
func findSeries(mf *dto.MetricFamily, labels map[string]string) *dto.Metric {
	key := seriesKey(labels)
	for _, m := range mf.GetMetric() {
		if seriesKey(labelMap(m)) == key {
			return m
		}
	}
	return nil
}

// missingMetricError is a metric that is not on the page; it lists what is.
type missingMetricError struct {
	metric string
	have   []string
}

func (e *missingMetricError) Error() string {
	if len(e.have) == 0 {
		return fmt.Sprintf("metric %s not found; the endpoint has no histograms or summaries", e.metric)
	}
	have := e.have
	more := ""
	if len(have) > 10 {
		more = fmt.Sprintf(" and %d more", len(have)-10)
		have = have[:10]
	}
	return fmt.Sprintf("metric %s not found; histograms and summaries there: %s%s", e.metric, strings.Join(have, ", "), more)
}

func missingMetric(name string, families map[string]*dto.MetricFamily) error {
	return &missingMetricError{metric: name, have: latencyFamilies(families)}
}

// scrape runs scrape mode.
func scrape(ctx context.Context, o Options, ev evaluation, now time.Time) plugin.Result {
	sel, err := newSelection(o, ev)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	headers, err := requestHeaders(o)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	client, err := newHTTPClient(o, 1)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	defer client.CloseIdleConnections()
	plugin.SetStage(ctx, "reading metrics from "+sel.url)
	families, err := fetchFamilies(ctx, client, headers, sel.url)
	if err != nil {
		kind := classify(err)
		return plugin.Result{Status: kind.state(ev), Summary: fmt.Sprintf("%s: reading metrics from %s: %v", kind, sel.url, err)}
	}
	snap, kind, mf, err := sel.snapshotOf(families, now)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}

	statePath := o.StateFile
	if statePath == "" {
		statePath = defaultStatePath(o.StateDir, sel.key())
	}
	var notes []string
	prev, err := loadState(statePath, sel.key())
	if err != nil {
		notes = append(notes, fmt.Sprintf("previous state ignored: %v", err))
		prev = nil
	}
	saveErr := saveState(statePath, sel.key(), snap)

	res := evaluateWindow(sel, kind, mf.GetName(), snap, prev, ev)
	res.Details = append(res.Details, notes...)
	res.Details = append(res.Details, "state file: "+statePath)
	if saveErr != nil {
		res.Status = plugin.Worst(res.Status, plugin.Unknown)
		res.Summary += "; state not saved, the next run will not see this window"
		res.Details = append(res.Details, saveErr.Error())
	}
	return res
}

// evaluateWindow turns the counts since the previous snapshot (or over the
// lifetime when there is none) into the result.
func evaluateWindow(sel selection, kind, family string, cur snapshot, prev *snapshot, ev evaluation) plugin.Result {
	win := cur.since(prev)
	over := "over the server's lifetime (first run, no earlier state)"
	if prev != nil {
		over = "over the last " + formatWindow(cur.Time.Sub(prev.Time))
	}
	var res plugin.Result
	if win.resets > 0 {
		res.Details = append(res.Details, fmt.Sprintf("counter reset in %d series since the previous run (server restarted?): their counts are taken from zero", win.resets))
	}
	res.Details = append(res.Details, fmt.Sprintf("%d series selected by %s", len(cur.Series), sel.describe()))

	mean := math.NaN()
	if win.count > 0 {
		mean = win.sum / win.count * sel.toMillis
	}
	value := math.NaN()
	valueNote := ""
	switch {
	case sel.stat.name == "mean":
		value = mean
	case kind == "histogram":
		if win.count > 0 {
			value = BucketQuantile(sel.stat.q, win.buckets()) * sel.toMillis
		}
	case kind == "summary":
		if len(cur.Series) != 1 {
			return plugin.Unknownf("%d series of %s match %s, and a summary's quantiles cannot be added up; select one with --label", len(cur.Series), family, sel.describe())
		}
		for _, c := range cur.Series {
			v, ok := c.Quantiles[strconv.FormatFloat(sel.stat.q, 'g', -1, 64)]
			if !ok {
				return plugin.Unknownf("summary %s has no quantile %s (it has %s); use --stat mean or a quantile it has", family, plugin.FormatNumber(sel.stat.q), strings.Join(quantileNames(c.Quantiles), ", "))
			}
			value = v * sel.toMillis
		}
		valueNote = " (the server's own sliding window)"
	default:
		return plugin.Unknownf("%s gives a mean only (cumulative counters have no quantiles); use --stat mean", describeCounters(sel))
	}

	res.Perfdata = windowPerfdata(sel, kind, value, mean, win.count, ev)
	// The family name keeps the status line short; the selector is in the
	// long output.
	what := family
	if sel.countMetric != "" {
		what += " / " + sel.countMetric
	}
	if win.count == 0 {
		res.Status = ev.noTraffic
		res.Summary = fmt.Sprintf("no requests %s in %s", over, what)
		return res
	}
	res.Status = ev.thresholds.Evaluate(value)
	res.Summary = fmt.Sprintf("%s %s%s from %s, %s requests %s", sel.stat.name, formatMillis(value), valueNote, what, plugin.FormatNumber(win.count), over)
	if sel.stat.name != "mean" {
		res.Details = append([]string{fmt.Sprintf("mean %s over the same window", formatMillis(mean))}, res.Details...)
	}
	if math.IsNaN(value) {
		res.Status = plugin.Unknown
		res.Summary = fmt.Sprintf("%s could not be computed from %s %s (%s requests)", sel.stat.name, what, over, plugin.FormatNumber(win.count))
	}
	return res
}

func describeCounters(sel selection) string {
	if sel.countMetric != "" {
		return sel.describe() + " / " + sel.countMetric
	}
	return sel.describe()
}

func quantileNames(qs map[string]float64) []string {
	var out []string
	for k := range qs {
		out = append(out, k)
	}
	slices.Sort(out)
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}

func formatWindow(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// windowPerfdata: the chosen statistic (carrying -w/-c), the mean when the
// statistic is a quantile, and the number of requests in the window.
func windowPerfdata(sel selection, kind string, value, mean, count float64, ev evaluation) []plugin.Perfdata {
	stat := plugin.Perfdata{
		Label: sel.stat.name, Value: value * ev.perfScale, UOM: ev.perfUnit, Min: plugin.Float(0),
		Warning: scaleRange(ev.thresholds.Warning, ev.perfScale), Critical: scaleRange(ev.thresholds.Critical, ev.perfScale),
	}
	out := []plugin.Perfdata{stat}
	if sel.stat.name != "mean" {
		out = append(out, plugin.Perfdata{Label: "mean", Value: mean * ev.perfScale, UOM: ev.perfUnit, Min: plugin.Float(0)})
	}
	return append(out, plugin.Perfdata{Label: "requests", Value: count, Min: plugin.Float(0)})
}
