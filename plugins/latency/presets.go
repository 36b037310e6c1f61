package latency

import (
	"slices"
	"strings"
)

// preset names the metric a model server exposes for its request latency,
// so that users need not know it. Each one's source is in docs/latency.md.
type preset struct {
	// metric is a histogram, or with countMetric a cumulative duration
	// counter whose increase over the request counter's is the mean.
	metric      string
	countMetric string
	unit        string // unit of the metric's values: s, ms or us
	modelLabel  string // label --model matches; empty if the metric has none
	labels      []string
	metricsPath string // default path when -u has none
	note        string // why --model is refused, when modelLabel is empty
}

var presets = map[string]preset{
	// MLServer: the REST server's histogram (prometheus_client default
	// buckets, seconds), labelled by route template, not by model; its
	// per-model metric model_infer_request_duration is a summary without
	// quantiles.
	"mlserver": {
		metric:      "rest_server_request_duration_seconds",
		unit:        "s",
		labels:      []string{`path=~/v2/models/\{model_name\}(/versions/\{model_version\})?/infer`},
		metricsPath: "/metrics",
		note:        "MLServer's latency histogram is per route, not per model; for one model's mean use --metric model_infer_request_duration --label model=NAME --stat mean",
	},
	// Triton: cumulative microsecond counters by default (quantiles need
	// --metrics-config summary_latencies=true), so the mean over the window
	// is Δnv_inference_request_duration_us / Δnv_inference_request_success.
	"triton": {
		metric:      "nv_inference_request_duration_us",
		countMetric: "nv_inference_request_success",
		unit:        "us",
		modelLabel:  "model",
		metricsPath: "/metrics",
	},
	// TorchServe (metrics_mode=prometheus): cumulative microsecond counter
	// over the request counter.
	"torchserve": {
		metric:      "ts_inference_latency_microseconds",
		countMetric: "ts_inference_requests_total",
		unit:        "us",
		modelLabel:  "model_name",
		metricsPath: "/metrics",
	},
	// KServe Python model servers: the predict step's histogram, seconds.
	"kserve": {
		metric:      "request_predict_seconds",
		unit:        "s",
		modelLabel:  "model_name",
		metricsPath: "/metrics",
	},
	// BentoML >= 1.2: the service's request histogram, seconds; --model
	// matches the endpoint label (the API route).
	"bentoml": {
		metric:      "bentoml_service_request_duration_seconds",
		unit:        "s",
		modelLabel:  "endpoint",
		metricsPath: "/metrics",
	},
	// TF Serving: /tensorflow/serving/request_latency, microseconds, at the
	// path its monitoring config names (this is the exporter's default).
	"tfserving": {
		metric:      ":tensorflow:serving:request_latency",
		unit:        "us",
		modelLabel:  "model_name",
		metricsPath: "/monitoring/prometheus/metrics",
	},
}

func presetNames() []string {
	var names []string
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// unitToMillis converts a metric unit to the factor that makes milliseconds.
func unitToMillis(unit string) (float64, bool) {
	switch strings.ToLower(unit) {
	case "s", "seconds":
		return 1000, true
	case "ms", "milliseconds":
		return 1, true
	case "us", "µs", "microseconds":
		return 0.001, true
	}
	return 0, false
}
