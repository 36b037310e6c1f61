package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// HistogramOptions select a Prometheus histogram as the compared
// distribution: the reference is a bucket snapshot (the observations of
// the validation period), the current window is the increase of the
// buckets between a baseline scrape and now.
type HistogramOptions struct {
	Metric      string   // histogram family name, without _bucket
	Labels      []string // name=value matchers; matching series are summed
	CurrentBase string   // earlier scrape of the current source; "" with StateFile
	StateFile   string   // keeps the last scrape between runs as the baseline
}

// bucketCounts is a histogram's cumulative counts by upper bound, +Inf last.
type bucketCounts struct {
	Bounds []float64 `json:"bounds"` // +Inf stored as null-free 1e308 marker below
	Counts []float64 `json:"counts"`
}

func (b bucketCounts) MarshalJSON() ([]byte, error) {
	bounds := make([]string, len(b.Bounds))
	for i, v := range b.Bounds {
		bounds[i] = strconv.FormatFloat(v, 'g', -1, 64) // "+Inf" survives as text
	}
	return json.Marshal(struct {
		Bounds []string  `json:"bounds"`
		Counts []float64 `json:"counts"`
	}{bounds, b.Counts})
}

func (b *bucketCounts) UnmarshalJSON(data []byte) error {
	var raw struct {
		Bounds []string  `json:"bounds"`
		Counts []float64 `json:"counts"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	b.Bounds = make([]float64, len(raw.Bounds))
	for i, s := range raw.Bounds {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("bucket bound %q: %w", s, err)
		}
		b.Bounds[i] = v
	}
	b.Counts = raw.Counts
	return nil
}

// perBucket turns cumulative counts into each bucket's own count.
func (b bucketCounts) perBucket() []float64 {
	out := make([]float64, len(b.Counts))
	prev := 0.0
	for i, c := range b.Counts {
		out[i] = math.Max(c-prev, 0)
		prev = math.Max(prev, c)
	}
	return out
}

func (b bucketCounts) total() float64 {
	if len(b.Counts) == 0 {
		return 0
	}
	return b.Counts[len(b.Counts)-1]
}

func sameBounds(a, b bucketCounts) bool {
	if len(a.Bounds) != len(b.Bounds) {
		return false
	}
	for i := range a.Bounds {
		if a.Bounds[i] != b.Bounds[i] {
			return false
		}
	}
	return true
}

// scrapeHistogram reads one exposition (file or URL) and sums the buckets
// of the series of family metric that match every label matcher.
func scrapeHistogram(ctx context.Context, src string, h HistogramOptions) (bucketCounts, error) {
	r, err := openSource(ctx, src)
	if err != nil {
		return bucketCounts{}, err
	}
	defer r.Close()
	return parseHistogram(r, h)
}

func parseHistogram(r io.Reader, h HistogramOptions) (bucketCounts, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return bucketCounts{}, fmt.Errorf("parsing Prometheus text: %w", err)
	}
	fam, ok := families[h.Metric]
	if !ok {
		var hists []string
		for name, f := range families {
			if f.GetType() == dto.MetricType_HISTOGRAM {
				hists = append(hists, name)
			}
		}
		sort.Strings(hists)
		return bucketCounts{}, fmt.Errorf("no metric %q (histograms here: %s)", h.Metric, strings.Join(hists, ", "))
	}
	if fam.GetType() != dto.MetricType_HISTOGRAM {
		return bucketCounts{}, fmt.Errorf("metric %q is a %s, not a histogram", h.Metric, strings.ToLower(fam.GetType().String()))
	}
	matchers := map[string]string{}
	for _, l := range h.Labels {
		k, v, _ := strings.Cut(l, "=")
		matchers[k] = strings.Trim(v, `"`)
	}
	var out bucketCounts
	series := 0
	for _, m := range fam.GetMetric() {
		if !labelsMatch(m.GetLabel(), matchers) {
			continue
		}
		var b bucketCounts
		for _, bk := range m.GetHistogram().GetBucket() {
			b.Bounds = append(b.Bounds, bk.GetUpperBound())
			b.Counts = append(b.Counts, float64(bk.GetCumulativeCount()))
		}
		if len(b.Bounds) == 0 || !math.IsInf(b.Bounds[len(b.Bounds)-1], 1) {
			b.Bounds = append(b.Bounds, math.Inf(1))
			b.Counts = append(b.Counts, float64(m.GetHistogram().GetSampleCount()))
		}
		if series == 0 {
			out = b
		} else {
			if !sameBounds(out, b) {
				return bucketCounts{}, fmt.Errorf("series of %q have different buckets; narrow them with --label", h.Metric)
			}
			for i := range out.Counts {
				out.Counts[i] += b.Counts[i]
			}
		}
		series++
	}
	if series == 0 {
		return bucketCounts{}, fmt.Errorf("no series of %q matches %s", h.Metric, strings.Join(h.Labels, ","))
	}
	return out, nil
}

func labelsMatch(labels []*dto.LabelPair, matchers map[string]string) bool {
	for k, v := range matchers {
		found := false
		for _, l := range labels {
			if l.GetName() == k {
				found = l.GetValue() == v
				break
			}
		}
		if !found && v != "" {
			return false
		}
	}
	return true
}

// windowIncrease is the current window: now minus the baseline, bucket by
// bucket. A total below the baseline's means the counters were reset
// (server restart), and then the whole of now is the window, as
// Prometheus's increase() treats a reset.
func windowIncrease(now, base bucketCounts) (bucketCounts, error) {
	if !sameBounds(now, base) {
		return bucketCounts{}, errors.New("the buckets changed since the baseline scrape")
	}
	if now.total() < base.total() {
		return now, nil
	}
	out := bucketCounts{Bounds: now.Bounds, Counts: make([]float64, len(now.Counts))}
	for i := range now.Counts {
		out.Counts[i] = math.Max(now.Counts[i]-base.Counts[i], 0)
	}
	return out, nil
}

func checkHistogram(ctx context.Context, o Options, th plugin.Thresholds) plugin.Result {
	h := o.Histogram
	if h.Metric == "" {
		return plugin.Unknownf("--format histogram needs --metric")
	}
	if h.CurrentBase == "" && h.StateFile == "" {
		return plugin.Unknownf("--format histogram needs --current-base or --state-file to know where the current window starts")
	}
	plugin.SetStage(ctx, "reading the reference histogram")
	ref, err := scrapeHistogram(ctx, o.Reference, h)
	if err != nil {
		return plugin.Unknownf("reference %s: %v", o.Reference, err)
	}
	plugin.SetStage(ctx, "scraping the current histogram")
	now, err := scrapeHistogram(ctx, o.Current, h)
	if err != nil {
		return plugin.Unknownf("current %s: %v", o.Current, err)
	}
	var base bucketCounts
	firstRun := false
	if h.CurrentBase != "" {
		if base, err = scrapeHistogram(ctx, h.CurrentBase, h); err != nil {
			return plugin.Unknownf("current base %s: %v", h.CurrentBase, err)
		}
	} else {
		b, err := os.ReadFile(h.StateFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
			firstRun = true
		case err != nil:
			return plugin.Unknownf("reading state file: %v", err)
		default:
			if err := json.Unmarshal(b, &base); err != nil {
				return plugin.Unknownf("state file %s: %v", h.StateFile, err)
			}
		}
		if err := saveState(h.StateFile, now); err != nil {
			return plugin.Unknownf("%v", err)
		}
	}
	if firstRun {
		return plugin.Unknownf("first run: bucket counts saved to %s; the current window starts now", h.StateFile)
	}
	cur, err := windowIncrease(now, base)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	if !sameBounds(ref, cur) {
		return plugin.Unknownf("reference and current histograms have different buckets")
	}
	name := h.Metric
	if len(h.Labels) > 0 {
		name += "{" + strings.Join(h.Labels, ",") + "}"
	}
	// Perfdata labels stay plain (graphers split on '{', '=', '/'); the
	// label matchers are in the text.
	col := &columnResult{name: name, label: h.Metric, kind: "histogram"}
	rv, cv := ref.perBucket(), cur.perBucket()
	col.refN, col.curN = int(ref.total()), int(cur.total())
	if col.refN == 0 || col.curN == 0 {
		col.problem = emptyProblem(col.refN, col.curN)
	} else {
		col.method = o.Method
		if col.method == MethodAuto {
			col.method = autoMethod(KindCategorical, col.refN, col.curN)
		}
		stats, err := binnedStats(col.method, rv, cv, binOptions{bins: o.Bins, eps: o.PSIEpsilon})
		if err != nil {
			col.problem = strings.Replace(err.Error(), "needs numeric values", "needs raw values, not histogram buckets", 1)
		} else {
			col.stats = stats
			col.notes = append(col.notes, fmt.Sprintf("%d buckets", len(rv)))
		}
	}
	return evaluate(o, th, []*columnResult{col})
}

// saveState writes the scrape atomically, so a concurrent run never reads
// half a file.
func saveState(path string, b bucketCounts) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return plugin.WriteFileAtomic(path, data, 0o600)
}
