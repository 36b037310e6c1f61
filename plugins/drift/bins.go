package drift

import (
	"math"
	"sort"
)

// QuantileLinear is numpy.quantile(x, q) with the default method='linear'
// on an ascending sample: virtual index h = (n−1)·q between x[⌊h⌋] and the
// next value, interpolated with numpy's lerp (from the nearer end when the
// fraction is ≥ 0.5), so the edges are bit-identical to numpy's.
func QuantileLinear(sorted []float64, q float64) float64 {
	n := len(sorted)
	h := float64(n-1) * q
	lo := math.Floor(h)
	i := int(lo)
	if i < 0 {
		i = 0
	}
	if i > n-1 {
		i = n - 1
	}
	t := h - lo
	a := sorted[i]
	b := sorted[min(i+1, n-1)]
	diff := b - a
	if t >= 0.5 {
		return b - diff*(1-t)
	}
	return a + diff*t
}

// QuantileEdges returns the inner edges of bins quantile bins of the
// reference: numpy.quantile(ref, k/bins) for k = 1..bins−1, duplicates
// removed, so ties give fewer bins.
func QuantileEdges(sortedRef []float64, bins int) []float64 {
	edges := make([]float64, 0, bins-1)
	for k := 1; k < bins; k++ {
		e := QuantileLinear(sortedRef, float64(k)/float64(bins))
		if len(edges) > 0 && edges[len(edges)-1] == e {
			continue
		}
		edges = append(edges, e)
	}
	sort.Float64s(edges) // quantiles are monotone; sorting guards rounding
	return dedupSorted(edges)
}

func dedupSorted(x []float64) []float64 {
	out := x[:0]
	for i, v := range x {
		if i == 0 || v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// BinCounts counts an ascending sample into the len(edges)+1 bins
// (−∞, e1], (e1, e2], …, (e_m, +∞): a value equal to an edge goes to the
// lower bin, as numpy.searchsorted(edges, v, side='left') places it.
func BinCounts(sorted []float64, edges []float64) []float64 {
	counts := make([]float64, len(edges)+1)
	prev := 0
	for k, e := range edges {
		// Number of values ≤ e.
		le := sort.Search(len(sorted), func(i int) bool { return sorted[i] > e })
		counts[k] = float64(le - prev)
		prev = le
	}
	counts[len(edges)] = float64(len(sorted) - prev)
	return counts
}

// shares divides counts by their total.
func shares(counts []float64) []float64 {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = c / total
	}
	return out
}

// CategoryCounts lays reference and current category counts side by side
// over the sorted union of their labels.
func CategoryCounts(ref, cur map[string]int) (labels []string, refCounts, curCounts []float64) {
	seen := make(map[string]bool, len(ref)+len(cur))
	for l := range ref {
		seen[l] = true
	}
	for l := range cur {
		seen[l] = true
	}
	for l := range seen {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	refCounts = make([]float64, len(labels))
	curCounts = make([]float64, len(labels))
	for i, l := range labels {
		refCounts[i] = float64(ref[l])
		curCounts[i] = float64(cur[l])
	}
	return labels, refCounts, curCounts
}
