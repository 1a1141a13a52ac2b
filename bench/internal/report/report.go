// Package report turns the output of the bench module's benchmarks into the
// markdown table of the README: one table per workload, one row per
// contender, each figure the median of the runs with its 95 % confidence
// interval, time given as a ratio to the hand-written floor.
package report

import (
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
	UnitP50    = "p50-ns"
	UnitP99    = "p99-ns"
)

// FloorName is the contender every time is compared with.
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
// floor in the same workload; ok is false when either is missing.
func (res *Results) Ratio(k Key) (float64, bool) {
	s, _, ok := res.Summary(k, UnitNs)
	f, _, fok := res.Summary(Key{k.Workload, FloorName}, UnitNs)
	if !ok || !fok || f.Center == 0 {
		return 0, false
	}
	return s.Center / f.Center, true
}

// Titles gives each workload's heading and what one "op" is in it; a
// workload not listed is shown under its own name.
type Titles map[string]string

// WriteMarkdown writes one table per workload. Each row shows the time as a
// ratio to the floor, the median time with its confidence interval, bytes
// and allocations per op, GC cycles per million ops, and the p50/p99
// latencies where the workload measures them.
func (res *Results) WriteMarkdown(w io.Writer, titles Titles) error {
	var b strings.Builder
	for _, wl := range res.Workloads {
		title := titles[wl]
		if title == "" {
			title = wl
		}
		fmt.Fprintf(&b, "### %s\n\n", title)
		hasLatency := false
		for _, c := range res.Contenders[wl] {
			if _, _, ok := res.Summary(Key{wl, c}, UnitP99); ok {
				hasLatency = true
			}
		}
		b.WriteString("| contender | time vs floor | time/op | B/op | allocs/op | GC cycles per 1M ops |")
		sep := "|---|--:|--:|--:|--:|--:|"
		if hasLatency {
			b.WriteString(" p50 | p99 |")
			sep += "--:|--:|"
		}
		b.WriteString("\n" + sep + "\n")
		for _, c := range res.Contenders[wl] {
			k := Key{wl, c}
			ratio := "n/a"
			if r, ok := res.Ratio(k); ok {
				ratio = formatRatio(r)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |", c, ratio,
				res.cell(k, UnitNs, formatNs, true),
				res.cell(k, UnitBytes, formatCount, false),
				res.cell(k, UnitAllocs, formatCount, false),
				res.cell(k, UnitGC, formatGC, false))
			if hasLatency {
				fmt.Fprintf(&b, " %s | %s |",
					res.cell(k, UnitP50, formatNs, false),
					res.cell(k, UnitP99, formatNs, false))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
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

func formatCount(x float64) string { return fmt.Sprintf("%.0f", x) }

func formatGC(x float64) string {
	if x == 0 {
		return "0"
	}
	if x < 10 {
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.0f", x)
}
