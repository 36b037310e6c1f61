// Package drift is check_drift: it compares a current window of a model's
// predictions or input features with a reference window and reports the
// drift statistics data-science tools use (PSI, two-sample
// Kolmogorov–Smirnov, Wasserstein, Jensen–Shannon, chi-squared, Hellinger),
// computed so that the numbers agree with scipy's.
//
// Each statistic is a small function in its own file; each input format
// (CSV, JSON Lines, Parquet, Prometheus histograms) has its own reader.
package drift
