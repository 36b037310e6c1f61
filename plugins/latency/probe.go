package latency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// maxBody bounds how much of an answer is kept for validation; the rest is
// still read (and timed) but discarded.
const maxBody = 16 << 20

// maxSamples keeps a typo from turning a check into a load test.
const maxSamples = 100000

// prober sends one kind of request and judges the answers.
type prober struct {
	client     *http.Client
	target     target
	headers    http.Header
	fields     []fieldCheck
	expectJSON bool
	expect     []int
}

// sample is one request's outcome: its latency until the whole answer was
// read, or why it failed.
type sample struct {
	dur time.Duration
	err error
}

func probe(ctx context.Context, o Options, ev evaluation) plugin.Result {
	if o.Samples < 1 || o.Samples > maxSamples {
		return plugin.Unknownf("--samples %d is not between 1 and %d", o.Samples, maxSamples)
	}
	if o.Concurrency < 1 {
		return plugin.Unknownf("--concurrency %d is not a positive number", o.Concurrency)
	}
	conc := min(o.Concurrency, o.Samples)
	t, err := buildTarget(o)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	fields, err := parseFieldChecks(o.JSONFields)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	headers, err := requestHeaders(o)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	if len(t.body) > 0 && headers.Get("Content-Type") == "" {
		headers.Set("Content-Type", "application/json")
	}
	client, err := newHTTPClient(o, conc)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	defer client.CloseIdleConnections()
	p := &prober{client: client, target: t, headers: headers, fields: fields, expectJSON: o.ExpectJSON, expect: o.Expect}

	if t.readyURL != "" {
		plugin.SetStage(ctx, "checking that model "+t.model+" is ready")
		if res, ok := p.checkReady(ctx, ev); !ok {
			return res
		}
	}
	plugin.SetStage(ctx, fmt.Sprintf("sending %d requests to %s", o.Samples, t.describe()))
	samples := p.run(ctx, o.Samples, conc)
	return evaluateProbe(t, samples, ev, ctx.Err())
}

// describe names the probed endpoint for messages.
func (t target) describe() string {
	switch t.kind {
	case "v2":
		return "model " + t.model + " (V2 infer)"
	case "v1":
		return "model " + t.model + " (V1 predict)"
	}
	return t.method + " " + t.url
}

// run sends n requests from conc workers, each keeping its connection alive.
func (p *prober) run(ctx context.Context, n, conc int) []sample {
	out := make([]sample, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			var buf bytes.Buffer
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				out[i] = p.one(ctx, &buf)
			}
		})
	}
	wg.Wait()
	return out
}

// one sends one request and reads the whole answer; only that is timed.
// Validation happens after the clock stops.
func (p *prober) one(ctx context.Context, buf *bytes.Buffer) sample {
	var body io.Reader
	if len(p.target.body) > 0 {
		body = bytes.NewReader(p.target.body)
	}
	req, err := http.NewRequestWithContext(ctx, p.target.method, p.target.url, body)
	if err != nil {
		return sample{err: err}
	}
	req.Header = p.headers.Clone()
	buf.Reset()
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return sample{err: err}
	}
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxBody))
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	dur := time.Since(start)
	resp.Body.Close()
	if err != nil {
		return sample{err: fmt.Errorf("reading the answer: %w", err)}
	}
	if !slices.Contains(p.expect, resp.StatusCode) {
		return sample{dur: dur, err: failf(failStatus, "HTTP %d: %s", resp.StatusCode, snippet(buf.Bytes()))}
	}
	if err := p.validate(buf.Bytes(), resp.Header.Get("Content-Type")); err != nil {
		return sample{dur: dur, err: err}
	}
	return sample{dur: dur}
}

// validate applies the JSON checks to a successful answer.
func (p *prober) validate(body []byte, contentType string) error {
	if len(p.fields) == 0 {
		if p.expectJSON && !json.Valid(body) {
			return notJSON(body, contentType)
		}
		return nil
	}
	doc, err := decodeJSON(body)
	if err != nil {
		return notJSON(body, contentType)
	}
	for _, f := range p.fields {
		if err := f.check(doc); err != nil {
			return &requestError{kind: failField, err: err}
		}
	}
	return nil
}

func notJSON(body []byte, contentType string) error {
	if contentType == "" {
		contentType = "no Content-Type"
	}
	return failf(failNotJSON, "answer is not JSON (%s): %s", contentType, snippet(body))
}

// snippet shortens an answer for a message.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if s == "" {
		return "(empty body)"
	}
	if r := []rune(s); len(r) > 120 {
		s = string(r[:117]) + "..."
	}
	return s
}

// checkReady asks the model's ready endpoint once. V2 judges by status
// alone; V1 also reads TF Serving's model_version_status and KServe's
// "ready".
func (p *prober) checkReady(ctx context.Context, ev evaluation) (plugin.Result, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.target.readyURL, nil)
	if err != nil {
		return plugin.Unknownf("building the ready request: %v", err), false
	}
	req.Header = p.headers.Clone()
	req.Header.Del("Content-Type")
	resp, err := p.client.Do(req)
	if err != nil {
		kind := classify(err)
		return plugin.Result{Status: kind.state(ev), Summary: fmt.Sprintf("%s: checking that model %s is ready: %v", kind, p.target.model, err)}, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	notReady := func(why string) (plugin.Result, bool) {
		return plugin.Result{
			Status:  plugin.Critical,
			Summary: fmt.Sprintf("model %s not ready (%s)", p.target.model, why),
			Details: []string{"GET " + p.target.readyURL + ": " + snippet(body)},
		}, false
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		// Not the model's fault: say so, or users chase a healthy model.
		return plugin.Result{
			Status:  plugin.Critical,
			Summary: fmt.Sprintf("access denied checking that model %s is ready (HTTP %d): check --header/--token-file", p.target.model, resp.StatusCode),
			Details: []string{"GET " + p.target.readyURL + ": " + snippet(body)},
		}, false
	default:
		return notReady(fmt.Sprintf("HTTP %d", resp.StatusCode))
	}
	if p.target.kind == "v1" {
		var status v1Status
		if json.Unmarshal(body, &status) == nil {
			if status.Ready != nil && !*status.Ready {
				return notReady(`"ready": false`)
			}
			if len(status.Versions) > 0 && !slices.ContainsFunc(status.Versions, func(v v1Version) bool { return v.State == "AVAILABLE" }) {
				return notReady("no version AVAILABLE")
			}
		}
	}
	return plugin.Result{}, true
}

// v1Status is what V1 servers answer on GET /v1/models/NAME: TF Serving's
// version list, or KServe's ready flag.
type v1Status struct {
	Ready    *bool       `json:"ready"`
	Versions []v1Version `json:"model_version_status"`
}

type v1Version struct {
	Version string `json:"version"`
	State   string `json:"state"`
}

// failureGroup counts one kind of failure and keeps its first message.
type failureGroup struct {
	kind  failureKind
	count int
	first string
}

func evaluateProbe(t target, samples []sample, ev evaluation, ctxErr error) plugin.Result {
	var durs []time.Duration
	var groups []*failureGroup
	for _, s := range samples {
		if s.err == nil {
			durs = append(durs, s.dur)
			continue
		}
		kind := classify(s.err)
		i := slices.IndexFunc(groups, func(g *failureGroup) bool { return g.kind == kind })
		if i < 0 {
			groups = append(groups, &failureGroup{kind: kind, first: s.err.Error()})
			i = len(groups) - 1
		}
		groups[i].count++
	}
	// Most frequent first; kinds in order of first appearance on ties.
	slices.SortStableFunc(groups, func(a, b *failureGroup) int { return b.count - a.count })
	n, failed := len(samples), len(samples)-len(durs)
	stats := newSampleStats(durs)
	value := stats.value(ev.stat)

	res := plugin.Result{Perfdata: probePerfdata(stats, ev, failed, n)}
	res.Details = append(res.Details, fmt.Sprintf("%d of %d requests answered: min %s, mean %s, p50 %s, p90 %s, p95 %s, p99 %s, max %s",
		len(durs), n, formatMillis(stats.min), formatMillis(stats.mean), formatMillis(stats.quantile(0.5)),
		formatMillis(stats.quantile(0.9)), formatMillis(stats.quantile(0.95)), formatMillis(stats.quantile(0.99)), formatMillis(stats.max)))
	for _, g := range groups {
		res.Details = append(res.Details, fmt.Sprintf("%d × %s, first: %s", g.count, g.kind, g.first))
	}

	what := t.describe()
	if len(durs) == 0 {
		g := groups[0]
		res.Status = g.kind.state(ev)
		res.Summary = fmt.Sprintf("all %d requests to %s failed: %s", n, what, g.first)
		if g.kind == failTimeout && ctxErr != nil {
			res.Summary = fmt.Sprintf("timed out: none of %d requests to %s answered in time", n, what)
		}
		return res
	}
	res.Status = ev.thresholds.Evaluate(value)
	res.Summary = fmt.Sprintf("%s %s over %d requests to %s", ev.stat.name, formatMillis(value), len(durs), what)
	if failed > 0 {
		var kinds []string
		for _, g := range groups {
			kinds = append(kinds, fmt.Sprintf("%d %s", g.count, g.kind))
		}
		res.Summary += fmt.Sprintf(", %d of %d failed (%s)", failed, n, strings.Join(kinds, ", "))
		if ev.maxErrors.exceeded(failed, n) {
			states := []plugin.Status{res.Status}
			for _, g := range groups {
				states = append(states, g.kind.state(ev))
			}
			res.Status = plugin.Worst(states...)
			res.Summary += ", more than --max-errors " + ev.maxErrors.String()
		}
	}
	if ctxErr != nil && errors.Is(ctxErr, context.DeadlineExceeded) {
		res.Status = plugin.Worst(res.Status, ev.timeout)
		res.Summary = "timed out: " + res.Summary
	}
	return res
}

// namedValue is one statistic for perfdata.
type namedValue struct {
	label string
	v     float64
}

// probePerfdata renders every statistic, always in the same order (graphers
// store perfdata by position), with -w/-c on the chosen one.
func probePerfdata(s sampleStats, ev evaluation, failed, n int) []plugin.Perfdata {
	items := []namedValue{
		{"min", s.min}, {"mean", s.mean}, {"p50", s.quantile(0.5)}, {"p90", s.quantile(0.9)},
		{"p95", s.quantile(0.95)}, {"p99", s.quantile(0.99)}, {"max", s.max},
	}
	if !slices.ContainsFunc(items, func(it namedValue) bool { return it.label == ev.stat.name }) {
		items = append(items, namedValue{ev.stat.name, s.value(ev.stat)})
	}
	var out []plugin.Perfdata
	for _, it := range items {
		p := plugin.Perfdata{Label: it.label, Value: it.v * ev.perfScale, UOM: ev.perfUnit, Min: plugin.Float(0)}
		if it.label == ev.stat.name {
			p.Warning = scaleRange(ev.thresholds.Warning, ev.perfScale)
			p.Critical = scaleRange(ev.thresholds.Critical, ev.perfScale)
		}
		out = append(out, p)
	}
	rate := 0.0
	if n > 0 {
		rate = float64(failed) * 100 / float64(n)
	}
	ratePD := plugin.Perfdata{Label: "error_rate", Value: rate, UOM: "%", Min: plugin.Float(0), Max: plugin.Float(100)}
	failedPD := plugin.Perfdata{Label: "failed", Value: float64(failed), Min: plugin.Float(0), Max: plugin.Float(float64(n))}
	budget := &plugin.Range{Start: 0, End: ev.maxErrors.value}
	if ev.maxErrors.percent {
		ratePD.Critical = budget
	} else {
		failedPD.Critical = budget
	}
	return append(out, ratePD, failedPD)
}
