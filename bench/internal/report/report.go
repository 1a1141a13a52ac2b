// Package report turns the output of the bench module's benchmarks into the
// markdown table of the README: one table per workload, one row per
// contender, each figure the median of the runs with its 95 % confidence
// interval, time given as a ratio to a baseline contender (the hand-written
// floor unless the workload's Layout names another), or throughput as a
// ratio to it.
package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Units the benchmarks report, as go test prints them.
const (
	UnitNs     = "ns/op"
	UnitBytes  = "B/op"
	UnitAllocs = "allocs/op"
	UnitGC     = "GCs/1Mop"
	// UnitExactAllocs and UnitExactBytes are allocations and bytes per op
	// without go test's rounding down to whole numbers; the table shows
	// them instead of UnitAllocs and UnitBytes where a benchmark reports
	// them.
	UnitExactAllocs = "exact-allocs/op"
	UnitExactBytes  = "exact-B/op"
	UnitP50         = "p50-ns"
	UnitP99         = "p99-ns"
	// The Redis workloads also report these.
	UnitGoroutines  = "goroutines"     // goroutines left after the run, once settled
	UnitGoStarts    = "gostarts/1kop"  // goroutines started per 1,000 ops
	UnitDeadlineHit = "deadline-hit-%" // share of the calls given a deadline that ended by it
	UnitFailed      = "failed-%"       // share of calls that failed otherwise
)

// FloorName is the contender every time is compared with, unless a
// workload's Layout names another baseline.
const FloorName = "floor"

// Key names one benchmark: the workload (the top-level benchmark without
// its "Benchmark" prefix) and the contender (the sub-benchmark).
type Key struct {
	Workload  string
	Contender string
}

// Results holds every measurement read, grouped by benchmark and unit, in
// the order the benchmarks first appeared.
type Results struct {
	Workloads  []string            // in order of first appearance
	Contenders map[string][]string // per workload, in order of first appearance
	samples    map[Key]map[string][]float64
}

// Parse reads go test -bench output (any number of runs, any other lines
// mixed in) and collects the measurements of every benchmark named
// Benchmark<Workload>/<Contender>. It fails on a malformed benchmark line or
// when the input holds no benchmark at all.
func Parse(r io.Reader, name string) (*Results, error) {
	res := &Results{
		Contenders: map[string][]string{},
		samples:    map[Key]map[string][]float64{},
	}
	br := benchfmt.NewReader(r, name)
	n := 0
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, fmt.Errorf("report: %v", rec)
		case *benchfmt.Result:
			base, parts := rec.Name.Parts()
			contender := ""
			for _, p := range parts {
				if strings.HasPrefix(string(p), "/") {
					contender += string(p)
				}
			}
			contender = strings.TrimPrefix(contender, "/")
			if contender == "" {
				continue // not a workload/contender benchmark
			}
			res.add(Key{string(base), contender}, rec.Values)
			n++
		}
	}
	if err := br.Err(); err != nil {
		return nil, fmt.Errorf("report: reading %s: %w", name, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("report: %s holds no benchmark result of the form BenchmarkWorkload/contender", name)
	}
	return res, nil
}

func (res *Results) add(k Key, vals []benchfmt.Value) {
	if _, ok := res.Contenders[k.Workload]; !ok {
		res.Workloads = append(res.Workloads, k.Workload)
		res.Contenders[k.Workload] = nil
	}
	m := res.samples[k]
	if m == nil {
		m = map[string][]float64{}
		res.samples[k] = m
		res.Contenders[k.Workload] = append(res.Contenders[k.Workload], k.Contender)
	}
	for _, v := range vals {
		unit, x := v.Unit, v.Value
		if v.OrigUnit != "" {
			unit, x = v.OrigUnit, v.OrigValue
		}
		m[unit] = append(m[unit], x)
	}
}

// Summary returns the median of one benchmark's measurements in unit, with
// its 95 % confidence interval and the number of runs; ok is false when the
// benchmark did not report that unit.
func (res *Results) Summary(k Key, unit string) (s benchmath.Summary, runs int, ok bool) {
	xs := res.samples[k][unit]
	if len(xs) == 0 {
		return benchmath.Summary{}, 0, false
	}
	sample := benchmath.NewSample(xs, &benchmath.DefaultThresholds)
	return benchmath.AssumeNothing.Summary(sample, 0.95), len(xs), true
}

// Ratio returns the median time of k divided by the median time of the
// baseline contender in the same workload; ok is false when either is
// missing.
func (res *Results) Ratio(k Key, baseline string) (float64, bool) {
	s, _, ok := res.Summary(k, UnitNs)
	f, _, fok := res.Summary(Key{k.Workload, baseline}, UnitNs)
	if !ok || !fok || f.Center == 0 || s.Center == 0 {
		return 0, false
	}
	return s.Center / f.Center, true
}

// Layout says how one workload's table is headed and compared.
type Layout struct {
	// Title is the heading: the workload and what one "op" is in it. The
	// workload's name when empty.
	Title string
	// Baseline is the contender the ratio column compares with: FloorName
	// when empty.
	Baseline string
	// Throughput shows ops/s, and ops/s as a ratio to the baseline (higher
	// is faster), instead of time per op and time as a ratio to it.
	Throughput bool
}

// Layouts gives each workload's Layout; a workload not listed gets the
// zero Layout.
type Layouts map[string]Layout

// column is one column shown when any contender of the workload reported
// its unit.
type column struct {
	unit, header string
	format       func(float64) string
}

var optionalColumns = []column{
	{UnitP50, "p50", formatNs},
	{UnitP99, "p99", formatNs},
	{UnitGoroutines, "goroutines after", formatCount},
	{UnitGoStarts, "goroutines started per 1k ops", formatGC},
	{UnitDeadlineHit, "deadline calls that timed out", formatPercent},
	{UnitFailed, "calls failed otherwise", formatPercent},
}

// WriteMarkdown writes one table per workload. Each row shows the time (or
// throughput) as a ratio to the baseline, the median time per op (or ops/s)
// with its confidence interval, bytes and allocations per op, GC cycles per
// million ops, and then the columns of optionalColumns that the workload
// measures: p50/p99 latencies, goroutines left and started, deadline
// outcomes.
func (res *Results) WriteMarkdown(w io.Writer, layouts Layouts) error {
	var b strings.Builder
	for _, wl := range res.Workloads {
		lay := layouts[wl]
		title := cmp.Or(lay.Title, wl)
		baseline := cmp.Or(lay.Baseline, FloorName)
		fmt.Fprintf(&b, "### %s\n\n", title)
		var extra []column
		for _, col := range optionalColumns {
			for _, c := range res.Contenders[wl] {
				if _, _, ok := res.Summary(Key{wl, c}, col.unit); ok {
					extra = append(extra, col)
					break
				}
			}
		}
		if lay.Throughput {
			fmt.Fprintf(&b, "| contender | ops/s vs %s | ops/s |", baseline)
		} else {
			fmt.Fprintf(&b, "| contender | time vs %s | time/op |", baseline)
		}
		b.WriteString(" B/op | allocs/op | GC cycles per 1M ops |")
		sep := "|---|--:|--:|--:|--:|--:|"
		for _, col := range extra {
			fmt.Fprintf(&b, " %s |", col.header)
			sep += "--:|"
		}
		b.WriteString("\n" + sep + "\n")
		for _, c := range res.Contenders[wl] {
			k := Key{wl, c}
			ratio := "n/a"
			if r, ok := res.Ratio(k, baseline); ok {
				if lay.Throughput {
					r = 1 / r
				}
				ratio = formatRatio(r)
			}
			timeCell := res.cell(k, UnitNs, formatNs, true)
			if lay.Throughput {
				timeCell = res.cell(k, UnitNs, formatRate, true)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |", c, ratio, timeCell,
				res.cell(k, res.preferred(k, UnitExactBytes, UnitBytes), formatFraction, false),
				res.cell(k, res.preferred(k, UnitExactAllocs, UnitAllocs), formatFraction, false),
				res.cell(k, UnitGC, formatGC, false))
			for _, col := range extra {
				fmt.Fprintf(&b, " %s |", res.cell(k, col.unit, col.format, false))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// preferred returns unit if k reported it, else fallback.
func (res *Results) preferred(k Key, unit, fallback string) string {
	if len(res.samples[k][unit]) > 0 {
		return unit
	}
	return fallback
}

// cell formats the median of one unit, with the confidence interval as
// "±x%" when withCI is set.
func (res *Results) cell(k Key, unit string, format func(float64) string, withCI bool) string {
	s, _, ok := res.Summary(k, unit)
	if !ok {
		return "—"
	}
	out := format(s.Center)
	if withCI && s.Center != 0 {
		// With too few runs the interval is unbounded: say nothing then.
		spread := math.Max(s.Center-s.Lo, s.Hi-s.Center) / s.Center * 100
		if !math.IsInf(spread, 0) && !math.IsNaN(spread) {
			out += fmt.Sprintf(" ±%.0f%%", spread)
		}
	}
	return out
}

// formatNs prints a duration given in nanoseconds with a unit that keeps it
// short.
func formatNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	case ns >= 10:
		return fmt.Sprintf("%.0f ns", ns)
	default:
		return fmt.Sprintf("%.1f ns", ns)
	}
}

// formatRatio keeps two significant digits for ratios below 0.1 (a
// synchronous call next to a goroutine hop), two decimals otherwise.
func formatRatio(r float64) string {
	if r < 0.1 {
		return fmt.Sprintf("%.2g×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

// formatRate prints the ops per second of an op taking ns nanoseconds.
func formatRate(ns float64) string {
	if ns <= 0 {
		return "n/a"
	}
	r := 1e9 / ns
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

func formatPercent(x float64) string { return fmt.Sprintf("%.1f %%", x) }

func formatCount(x float64) string { return fmt.Sprintf("%.0f", x) }

// formatFraction prints whole numbers as they are and keeps two
// significant digits of a fraction: a benchmark that reports 0.2 allocs/op
// (one allocation in five ops) must not print as 0.
func formatFraction(x float64) string {
	switch {
	case x == math.Trunc(x) || x >= 10:
		return fmt.Sprintf("%.0f", x)
	case x < 1:
		return fmt.Sprintf("%.2g", x)
	default:
		return fmt.Sprintf("%.1f", x)
	}
}

func formatGC(x float64) string {
	if x == 0 {
		return "0"
	}
	if x < 10 {
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.0f", x)
}
