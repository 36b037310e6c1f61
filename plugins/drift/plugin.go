package drift

import (
	"context"
	"strings"

	"github.com/spf13/pflag"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

// New returns check_drift as a plugin. Each call binds its flags to a fresh
// Options, so the agent can run it in-process any number of times.
func New() *plugin.Plugin {
	var (
		o     Options
		types []string
	)
	return &plugin.Plugin{
		Program: "check_drift",
		Name:    "DRIFT",
		Description: `Compares a current window of a model's predictions or input features with a
reference window, column by column, with the statistics data-science tools use
(numbers agree with scipy): PSI, two-sample Kolmogorov-Smirnov, Wasserstein
(raw and normed by the reference's standard deviation), Jensen-Shannon (base 2),
chi-squared homogeneity, Hellinger. Without --method each column gets
Evidently's default: numeric KS p < 0.05 when both samples have at most 1000
values, else normed Wasserstein > 0.1; categorical chi-squared p < 0.05 up to
1000 values, else Jensen-Shannon > 0.1; a drifted column is a WARNING. PSI
defaults to -w 0.1 -c 0.25. -w/-c apply to the chosen statistic; for a p-value
a bare number alerts below it (-w 0.05 is the range 0.05:).
Inputs: CSV/TSV, JSON Lines, Parquet (files or HTTP(S) URLs), or a Prometheus
histogram (--format histogram): reference bucket snapshot against the increase
of the current buckets since --current-base or the last run (--state-file).`,
		Examples: []string{
			"check_drift --reference train.csv --current today.csv",
			"check_drift --reference ref.parquet --current http://model:8080/log.parquet --column score --method psi",
			"check_drift --reference ref.csv --current predictions.csv --current-last 5000 --drift-share 0.5",
			"check_drift --reference ref.jsonl --current log.jsonl --timestamp-column ts --since 1h --method ks -w 0.05: -c 0.001:",
			"check_drift --format histogram --reference ref.prom --current http://model:8082/metrics --metric request_latency_seconds --state-file /var/lib/vigil/latency.state",
		},
		Thresholds: true,
		Flags: func(fs *pflag.FlagSet) {
			// Fresh options on every parse: a Plugin run twice never sees the
			// previous run's flags.
			o, types = Options{}, nil
			fs.StringVar(&o.Reference, "reference", "", "reference data: file or HTTP(S) URL")
			fs.StringVar(&o.Current, "current", "", "current data: file or HTTP(S) URL")
			fs.StringVar(&o.Format, "format", "", "csv, tsv, jsonl, parquet or histogram (default: from the current input's extension)")
			fs.StringVar(&o.Delimiter, "delimiter", "", `CSV field delimiter (default "," or tab for tsv)`)
			fs.BoolVar(&o.NoHeader, "no-header", false, "CSV has no header line; columns are named 1, 2, ...")
			fs.StringArrayVar(&o.Columns, "column", nil, "column to compare (repeatable; default every column)")
			fs.StringArrayVar(&types, "type", nil, "declare a column's kind, NAME=numeric|categorical (repeatable; default inferred from the reference)")
			fs.IntVar(&o.CurrentLast, "current-last", 0, "use only the last N rows of --current")
			fs.StringVar(&o.TimestampColumn, "timestamp-column", "", "column holding each row's time (for --since; never compared)")
			fs.StringVar(&o.Since, "since", "", "use only current rows at or after this time: a duration ago (1h) or RFC 3339")
			fs.StringVarP(&o.Method, "method", "m", MethodAuto, "auto, psi, ks, wasserstein, jensenshannon, chi2 or hellinger")
			fs.IntVar(&o.Bins, "bins", DefaultPSIBins, "reference-quantile bins for psi, jensenshannon, chi2, hellinger on numbers")
			fs.Float64Var(&o.PSIEpsilon, "psi-epsilon", DefaultPSIEpsilon, "share that replaces an empty bin in PSI")
			fs.Float64Var(&o.DriftShare, "drift-share", 0, "alert only when at least this share of columns drifted (0-1; 0 = any)")
			fs.BoolVar(&o.Bonferroni, "bonferroni", false, "divide p-value thresholds by the number of columns tested")
			fs.StringVar(&o.OnBadValue, "on-bad-value", BadSkip, "non-numeric text in a numeric column: skip (counted) or fail (UNKNOWN)")
			fs.IntVar(&o.Show, "show", 3, "drifted columns named in the status line")
			fs.StringVar(&o.Histogram.Metric, "metric", "", "histogram: metric family name (without _bucket)")
			fs.StringArrayVar(&o.Histogram.Labels, "label", nil, "histogram: NAME=VALUE series matcher (repeatable; matching series are summed)")
			fs.StringVar(&o.Histogram.CurrentBase, "current-base", "", "histogram: earlier scrape of --current where the window starts")
			fs.StringVar(&o.Histogram.StateFile, "state-file", "", "histogram: file keeping the last scrape; the window is the increase since the last run")
		},
		Check: func(ctx context.Context, env plugin.Env) plugin.Result {
			opts := o
			if len(types) > 0 {
				opts.Types = map[string]string{}
				for _, t := range types {
					name, kind, ok := strings.Cut(t, "=")
					if !ok {
						return plugin.Unknownf("--type %q: want NAME=numeric or NAME=categorical", t)
					}
					opts.Types[name] = kind
				}
			}
			return Check(ctx, opts, env.Thresholds)
		},
	}
}
