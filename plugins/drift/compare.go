package drift

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

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
