// Package latency implements check_model_latency: how fast a model answers,
// measured two ways. Probe mode sends real inference requests (Open
// Inference Protocol / KServe V2, TF-Serving style V1 :predict, or any JSON
// body) and reports the latency the client saw; scrape mode reads the
// server's own Prometheus histogram and computes a quantile over the window
// since the previous run, as Prometheus's histogram_quantile would.
package latency

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// Options are the check's settings, bound to flags by New.
type Options struct {
	Mode string // "probe" or "scrape"
	URL  string

	// Probe requests.
	Samples     int
	Concurrency int
	V2Model     string
	V2Version   string
	Inputs      []string // name:datatype:shape:values
	V1Model     string
	V1Version   string
	Method      string
	Data        string
	DataFile    string
	SkipReady   bool
	ExpectJSON  bool
	JSONFields  []string // PATH or PATH=VALUE
	Expect      []int    // accepted HTTP status codes

	// HTTP client.
	Headers   []string
	TokenFile string
	CAFile    string
	CertFile  string
	KeyFile   string
	Insecure  bool

	// Evaluation.
	Stat           string // min, mean, max or pNN; empty = p95 (mean for counter-only presets)
	PerfUnit       string // "ms" or "s"
	MaxErrors      string // count or percentage; failures above it are CRITICAL
	RefusedState   string
	TimeoutState   string
	NoTrafficState string

	// Scrape mode.
	Server      string // preset name
	Metric      string
	CountMetric string // counter pair for a mean (Triton, TorchServe)
	Labels      []string
	Model       string
	Quantile    float64 // 0 = from Stat
	MetricUnit  string  // s, ms, us
	StateFile   string
	StateDir    string
}

// DefaultOptions returns the flag defaults.
func DefaultOptions() Options {
	return Options{
		Samples:        10,
		Concurrency:    1,
		ExpectJSON:     true,
		Expect:         []int{200},
		PerfUnit:       "ms",
		MaxErrors:      "0",
		RefusedState:   "CRITICAL",
		TimeoutState:   "CRITICAL",
		NoTrafficState: "UNKNOWN",
		StateDir:       "/var/tmp/vigil",
	}
}

// New returns the check_model_latency plugin; each call binds its flags to a
// fresh Options, so the agent can run it many times in one process.
func New() *plugin.Plugin {
	opts := DefaultOptions()
	return &plugin.Plugin{
		Program: "check_model_latency",
		Name:    "MODEL_LATENCY",
		Description: `Checks how fast a model answers. Probe mode sends --samples inference requests
to -u and measures each until the whole response is read. Scrape mode (--server
or --metric) reads the server's Prometheus metrics at -u and computes a latency
quantile over the window since the previous run, as histogram_quantile does, or
over the server's lifetime on the first run. -w/-c are milliseconds and apply
to --stat.`,
		Examples: []string{
			"check_model_latency -u http://127.0.0.1:8080 --v2-model iris --input input-0:FP32:1,4:5.1,3.5,1.4,0.2 --samples 20 -w 200 -c 500",
			"check_model_latency -u http://127.0.0.1:8501 --v1-model half_plus_two --data '{\"instances\":[1.0,2.0]}'",
			"check_model_latency -u https://api.example/predict --data-file req.json --json-field prediction --token-file /etc/vigil/token",
			"check_model_latency --mode scrape --server mlserver -u http://127.0.0.1:8082 --stat p99 -w 300 -c 1000",
			"check_model_latency --mode scrape --server triton -u http://127.0.0.1:8002 --model resnet -w 50 -c 200",
		},
		Thresholds: true,
		Flags: func(fs *pflag.FlagSet) {
			// Defaults again on every parse, so a Plugin run twice never
			// sees the previous run's flags.
			opts = DefaultOptions()
			bindFlags(fs, &opts)
		},
		Check: func(ctx context.Context, env plugin.Env) plugin.Result {
			return Check(ctx, opts, env)
		},
	}
}

func bindFlags(fs *pflag.FlagSet, o *Options) {
	fs.StringVar(&o.Mode, "mode", o.Mode, "probe (send inference requests) or scrape (read Prometheus metrics); default scrape when --server or --metric is given, else probe")
	fs.StringVarP(&o.URL, "url", "u", o.URL, "base URL of the model server (probe), full URL for a plain JSON probe, or the metrics URL (scrape)")

	fs.IntVar(&o.Samples, "samples", o.Samples, "number of requests to send")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "requests in flight at once")
	fs.StringVar(&o.V2Model, "v2-model", o.V2Model, "Open Inference Protocol (KServe V2) model: POST /v2/models/NAME[/versions/V]/infer")
	fs.StringVar(&o.V2Version, "v2-version", o.V2Version, "model version for --v2-model")
	fs.StringArrayVar(&o.Inputs, "input", nil, "V2 input tensor NAME:DATATYPE:SHAPE:VALUES, e.g. input0:FP32:1,4:0.1,0.2,0.3,0.4 (repeatable)")
	fs.StringVar(&o.V1Model, "v1-model", o.V1Model, "TF-Serving style V1 model: POST /v1/models/NAME[/versions/V]:predict with --data")
	fs.StringVar(&o.V1Version, "v1-version", o.V1Version, "model version for --v1-model")
	fs.StringVar(&o.Method, "method", o.Method, "HTTP method for a plain probe (default POST with a body, GET without)")
	fs.StringVar(&o.Data, "data", o.Data, "request body (JSON)")
	fs.StringVar(&o.DataFile, "data-file", o.DataFile, "file holding the request body")
	fs.BoolVar(&o.SkipReady, "skip-ready", o.SkipReady, "do not check the model's ready endpoint before probing")
	fs.BoolVar(&o.ExpectJSON, "expect-json", o.ExpectJSON, "count a response that is not JSON as failed")
	fs.StringArrayVar(&o.JSONFields, "json-field", nil, "response field that must exist (PATH) or equal a value (PATH=VALUE); PATH like outputs.0.name (repeatable)")
	fs.IntSliceVar(&o.Expect, "expect-status", o.Expect, "accepted HTTP status codes")

	fs.StringArrayVar(&o.Headers, "header", nil, "extra request header 'Name: value' (repeatable)")
	fs.StringVar(&o.TokenFile, "token-file", o.TokenFile, "file holding a bearer token for the Authorization header")
	fs.StringVar(&o.CAFile, "ca", o.CAFile, "PEM file of CA certificates to trust")
	fs.StringVar(&o.CertFile, "cert", o.CertFile, "PEM client certificate")
	fs.StringVar(&o.KeyFile, "key", o.KeyFile, "PEM client key")
	fs.BoolVar(&o.Insecure, "insecure", o.Insecure, "do not verify the server's certificate")

	fs.StringVar(&o.Stat, "stat", o.Stat, "statistic -w/-c apply to: min, mean, max or pNN such as p50, p95, p99.9 (default p95; mean for counter-only presets)")
	fs.StringVar(&o.PerfUnit, "perf-unit", o.PerfUnit, "unit of the latency perfdata: ms or s")
	fs.StringVar(&o.MaxErrors, "max-errors", o.MaxErrors, "failed requests tolerated before CRITICAL: a count (3) or a percentage (5%)")
	fs.StringVar(&o.RefusedState, "refused-state", o.RefusedState, "state when the connection is refused")
	fs.StringVar(&o.TimeoutState, "timeout-state", o.TimeoutState, "state when requests time out")
	fs.StringVar(&o.NoTrafficState, "no-traffic-state", o.NoTrafficState, "scrape mode: state when the window holds no requests")

	fs.StringVar(&o.Server, "server", o.Server, "scrape preset: "+strings.Join(presetNames(), ", "))
	fs.StringVar(&o.Metric, "metric", o.Metric, "scrape: histogram (or summary, or duration counter) family name")
	fs.StringVar(&o.CountMetric, "count-metric", o.CountMetric, "scrape: request counter paired with a duration counter --metric, for a mean")
	fs.StringArrayVar(&o.Labels, "label", nil, "scrape: label matcher NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX (repeatable)")
	fs.StringVar(&o.Model, "model", o.Model, "scrape: model name, matched against the preset's model label")
	fs.Float64Var(&o.Quantile, "quantile", o.Quantile, "scrape: quantile in (0,1], overrides --stat")
	fs.StringVar(&o.MetricUnit, "metric-unit", o.MetricUnit, "scrape: unit of the metric's values: s, ms or us (default from the preset, else s)")
	fs.StringVar(&o.StateFile, "state-file", o.StateFile, "scrape: file keeping the previous counts (default under --state-dir, named after URL and selection)")
	fs.StringVar(&o.StateDir, "state-dir", o.StateDir, "scrape: directory for default state files")
}

// Check runs the check with the given options.
func Check(ctx context.Context, o Options, env plugin.Env) plugin.Result {
	if o.URL == "" {
		return plugin.Unknownf("-u/--url is required")
	}
	ev, err := newEvaluation(o, env.Thresholds)
	if err != nil {
		return plugin.Unknownf("%v", err)
	}
	mode := o.Mode
	if mode == "" {
		mode = "probe"
		if o.Server != "" || o.Metric != "" {
			mode = "scrape"
		}
	}
	switch mode {
	case "probe":
		return probe(ctx, o, ev)
	case "scrape":
		return scrape(ctx, o, ev, time.Now())
	}
	return plugin.Unknownf("--mode %q is not probe or scrape", o.Mode)
}

// evaluation holds the parsed settings that turn measurements into a state.
type evaluation struct {
	stat       statistic
	statSet    bool
	thresholds plugin.Thresholds // milliseconds
	perfUnit   string
	perfScale  float64 // milliseconds -> perf unit
	maxErrors  errorBudget
	refused    plugin.Status
	timeout    plugin.Status
	noTraffic  plugin.Status
}

func newEvaluation(o Options, th plugin.Thresholds) (evaluation, error) {
	ev := evaluation{thresholds: th, perfUnit: o.PerfUnit}
	statText := o.Stat
	ev.statSet = statText != ""
	if statText == "" {
		statText = "p95"
	}
	var err error
	if ev.stat, err = parseStatistic(statText); err != nil {
		return ev, err
	}
	switch o.PerfUnit {
	case "ms":
		ev.perfScale = 1
	case "s":
		ev.perfScale = 1e-3
	default:
		return ev, fmt.Errorf("--perf-unit %q is not ms or s", o.PerfUnit)
	}
	if ev.maxErrors, err = parseErrorBudget(o.MaxErrors); err != nil {
		return ev, err
	}
	for _, s := range []struct {
		flag, text string
		dst        *plugin.Status
	}{
		{"--refused-state", o.RefusedState, &ev.refused},
		{"--timeout-state", o.TimeoutState, &ev.timeout},
		{"--no-traffic-state", o.NoTrafficState, &ev.noTraffic},
	} {
		st, err := plugin.ParseStatus(s.text)
		if err != nil {
			return ev, fmt.Errorf("%s: %w", s.flag, err)
		}
		*s.dst = st
	}
	return ev, nil
}

// statistic names one summary of the latencies: min, mean, max or a
// quantile.
type statistic struct {
	name string  // as shown: "p95", "mean"
	q    float64 // quantile in [0,1] for pNN, min = 0, max = 1; NaN for mean
}

func parseStatistic(text string) (statistic, error) {
	switch text {
	case "min":
		return statistic{"min", 0}, nil
	case "max":
		return statistic{"max", 1}, nil
	case "mean", "avg":
		return statistic{"mean", math.NaN()}, nil
	}
	if rest, ok := strings.CutPrefix(text, "p"); ok {
		v, err := strconv.ParseFloat(rest, 64)
		if err == nil && v > 0 && v <= 100 && !strings.ContainsAny(rest, "eE") {
			// Divided as an integer so p99.9 is exactly 0.999, not
			// 99.9/100 = 0.9990000000000001.
			return statistic{text, math.Round(v*1e10) / 1e12}, nil
		}
	}
	return statistic{}, fmt.Errorf("--stat %q is not min, mean, max or pNN (p50, p95, p99.9)", text)
}

// errorBudget is --max-errors: a count or a percentage of the samples.
type errorBudget struct {
	value   float64
	percent bool
}

func parseErrorBudget(text string) (errorBudget, error) {
	t := strings.TrimSpace(text)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || (pct && v > 100) {
		return errorBudget{}, fmt.Errorf("--max-errors %q is not a count or a percentage", text)
	}
	return errorBudget{value: v, percent: pct}, nil
}

// exceeded reports whether failed out of total is over the budget.
func (b errorBudget) exceeded(failed, total int) bool {
	if b.percent {
		return total > 0 && float64(failed)*100/float64(total) > b.value
	}
	return float64(failed) > b.value
}

func (b errorBudget) String() string {
	if b.percent {
		return plugin.FormatNumber(b.value) + "%"
	}
	return plugin.FormatNumber(b.value)
}

// scaleRange converts a millisecond range to the perfdata unit.
func scaleRange(r *plugin.Range, f float64) *plugin.Range {
	if r == nil || f == 1 {
		return r
	}
	s := *r
	s.Start *= f
	s.End *= f
	return &s
}

// formatMillis renders a latency for the status line with the precision a
// human compares at, never in exponent form.
func formatMillis(ms float64) string {
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0):
		return "n/a"
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	case ms >= 1:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 3, 64) + " ms"
}
