package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// palette holds the series colors, one per run, in order.
var palette = []string{"#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// dashes and markers give every series its own line pattern and marker
// shape besides its color, so that runs whose lines coincide (two flat
// zero-allocation runs, say) all stay visible, in grey print too.
var dashes = []string{"", "9 4", "2 3", "12 3 3 3", "5 5", "1 6", "14 6", "3 3 1 3"}

var markers = []struct{ name, path string }{
	{"circle", "M-3.5,0a3.5,3.5 0 1,0 7,0a3.5,3.5 0 1,0 -7,0z"},
	{"square", "M-3,-3h6v6h-6z"},
	{"triangle", "M0,-4L3.8,3H-3.8z"},
	{"diamond", "M0,-4.2L4.2,0L0,4.2L-4.2,0z"},
	{"down", "M0,4L3.8,-3H-3.8z"},
	{"cross", "M-4,-1.5h2.5v-2.5h3v2.5h2.5v3h-2.5v2.5h-3v-2.5h-2.5z"},
	{"bar", "M-4.5,-1.8h9v3.6h-9z"},
	{"column", "M-1.8,-4.5h3.6v9h-3.6z"},
}

// markersPerSeries is about how many markers a series gets in a panel.
const markersPerSeries = 12

func seriesStyle(i int) (color, dashAttr string, marker int) {
	color, marker = palette[i%len(palette)], i%len(markers)
	if d := dashes[i%len(dashes)]; d != "" {
		dashAttr = ` stroke-dasharray="` + d + `"`
	}
	return color, dashAttr, marker
}

// marker draws marker shape mk centered at x, y. (A path per marker, not a
// <use> of a shared one: the HTML report refers to nothing, not even
// within itself.)
func marker(b *bytes.Buffer, mk int, x, y float64, color string) {
	fmt.Fprintf(b, `<path transform="translate(%.1f %.1f)" d="%s" fill="%s" stroke="#fff" stroke-width="0.8"/>`, x, y, markers[mk].path, color)
}

// markerIndexes returns the sample indexes at which series i of n gets a
// marker: every stride-th sample, shifted by a share of the stride that
// differs per series, so that identical series do not hide each other's
// markers.
func markerIndexes(samples, i, n int) []int {
	if samples == 0 {
		return nil
	}
	stride := max(samples/markersPerSeries, 1)
	var out []int
	for k := stride * i / max(n, 1); k < samples; k += stride {
		out = append(out, k)
	}
	return out
}

// Chart geometry, in SVG user units.
const (
	chartW      = 980
	marginL     = 112
	marginR     = 40
	panelH      = 200
	panelGap    = 64
	firstPanelY = 56
	gcRowH      = 16
)

// SVG draws memory over time for the runs: the resident set size in one
// panel, the Go heap (object memory, live and not yet swept) in a second
// one when known, and a row of tick marks per run at the samples where a
// garbage collection completed. Time is measured from the start of each
// run's measured phase. Each run has its own color, dash pattern and marker
// shape, and identical runs put their markers on different samples, so
// that lines lying on top of each other stay distinguishable. The result
// is a standalone SVG document.
func SVG(rs []*Report, title string) []byte {
	var maxT float64
	var maxRSS, maxHeap float64
	hasHeap := false
	for _, r := range rs {
		for _, s := range r.Samples {
			maxT = math.Max(maxT, s.At.Seconds())
			maxRSS = math.Max(maxRSS, float64(s.RSSBytes))
			if s.Heap != nil {
				hasHeap = true
				maxHeap = math.Max(maxHeap, float64(s.Heap.HeapObjectsBytes))
			}
		}
	}
	maxT, _ = niceScale(maxT) // the time axis ends on a tick
	panels := 1
	if hasHeap {
		panels = 2
	}
	plotW := float64(chartW - marginL - marginR)
	gcTop := firstPanelY + panels*(panelH+panelGap) - panelGap + 52
	legendTop := gcTop
	if hasHeap {
		legendTop += len(rs)*gcRowH + 24
	}
	height := legendTop + len(rs)*18 + 20

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", chartW, height, chartW, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")

	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", marginL, esc(title))

	xOf := func(sec float64) float64 { return marginL + plotW*sec/maxT }
	panel := func(i int, label string, maxV float64, value func(r *Report, k int) (float64, bool)) {
		top := float64(firstPanelY + i*(panelH+panelGap))
		yMax, step := niceScale(maxV / (1 << 20))
		yOf := func(v float64) float64 { return top + panelH - panelH*(v/(1<<20))/yMax }
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" font-weight="bold">%s</text>`+"\n", marginL, top-10, esc(label))
		for v := 0.0; v <= yMax+step/2; v += step {
			y := top + panelH - panelH*v/yMax
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/>`, marginL, chartW-marginR, y, y)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s MiB</text>`+"\n", marginL-6, y+4, trimFloat(v))
		}
		_, xStep := niceScale(maxT)
		for t := 0.0; t <= maxT+xStep/2; t += xStep {
			x := xOf(t)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#f0f0f0"/>`, x, x, top, top+panelH)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%s s</text>`+"\n", x, top+panelH+16, trimFloat(t))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%.0f" width="%.0f" height="%d" fill="none" stroke="#999"/>`+"\n", marginL, top, plotW, panelH)
		for ri, r := range rs {
			color, dash, mk := seriesStyle(ri)
			var pts strings.Builder
			for k, s := range r.Samples {
				v, ok := value(r, k)
				if !ok {
					continue
				}
				fmt.Fprintf(&pts, "%.1f,%.1f ", xOf(s.At.Seconds()), yOf(v))
			}
			if pts.Len() == 0 {
				continue
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"><title>%s</title></polyline>`+"\n",
				color, dash, strings.TrimSpace(pts.String()), esc(r.Name))
			fmt.Fprintf(&b, `<g class="markers" data-series="%d" data-shape="%s">`, ri, markers[mk].name)
			for _, k := range markerIndexes(len(r.Samples), ri, len(rs)) {
				if v, ok := value(r, k); ok {
					marker(&b, mk, xOf(r.Samples[k].At.Seconds()), yOf(v), color)
				}
			}
			b.WriteString("</g>\n")
		}
	}
	panel(0, "Resident set size (RSS)", maxRSS, func(r *Report, k int) (float64, bool) {
		return float64(r.Samples[k].RSSBytes), true
	})
	if hasHeap {
		panel(1, "Go heap: object memory, live and not yet swept", maxHeap, func(r *Report, k int) (float64, bool) {
			h := r.Samples[k].Heap
			if h == nil {
				return 0, false
			}
			return float64(h.HeapObjectsBytes), true
		})
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">Garbage collections (a tick at each sample by which at least one more had completed)</text>`+"\n", marginL, gcTop-8)
		for ri, r := range rs {
			y := gcTop + ri*gcRowH
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="#555">%s</text>`, marginL-6, y+11, esc(r.Name))
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#eee"/>`+"\n", marginL, chartW-marginR, y+6, y+6)
			var prev uint64
			for k, s := range r.Samples {
				if s.Heap == nil {
					continue
				}
				if k > 0 && s.Heap.GCCycles > prev {
					x := xOf(s.At.Seconds())
					fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="1.5"><title>%s: %d GC at %.1f s</title></line>`,
						x, x, y, y+12, palette[ri%len(palette)], esc(r.Name), s.Heap.GCCycles-prev, s.At.Seconds())
				}
				prev = s.Heap.GCCycles
			}
			b.WriteByte('\n')
		}
	}
	for ri, r := range rs {
		y := legendTop + ri*18
		color, dash, mk := seriesStyle(ri)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`, marginL, marginL+30, y+6, y+6, color, dash)
		marker(&b, mk, float64(marginL+15), float64(y+6), color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", marginL+36, y+10, esc(legend(r)))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func legend(r *Report) string {
	s := fmt.Sprintf("%s: %.0f req/s, %s/request", r.Name, r.RequestsPerSecond, optFloatUnit(r.BytesPerRequest, 0, " B"))
	if r.GCCycles != nil {
		s += fmt.Sprintf(", %d GC cycles", *r.GCCycles)
	}
	return s + ", peak RSS " + MiB(int64(r.PeakRSSBytes))
}

// niceScale returns an axis maximum of at least v and a tick step of 1, 2
// or 5 times a power of ten, giving 4 to 8 ticks.
func niceScale(v float64) (top, step float64) {
	if v <= 0 || math.IsNaN(v) {
		return 1, 0.2
	}
	raw := v / 8
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	top = math.Ceil(v/step-1e-9) * step
	return top, step
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func esc(s string) string { return html.EscapeString(s) }

// HTML returns a self-contained page (inline CSS and SVG, nothing to
// fetch) with the table, the chart and each run's details; the reports'
// summaries are embedded as JSON (without the samples, which the chart
// shows).
func HTML(rs []*Report, title, command string, generated time.Time) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>
body{font-family:sans-serif;margin:2em auto;max-width:1000px;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left;white-space:nowrap}code,pre{background:#f6f6f6;padding:2px 4px}pre{padding:8px;overflow-x:auto}
</style></head><body>
<h1>%s</h1>
<p>Command: <code>%s</code><br>Generated %s.</p>
`, esc(title), esc(title), esc(command), generated.UTC().Format(time.RFC3339))
	b.WriteString("<table><tr><th>run</th><th>requests</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>errors</th><th>B/req</th><th>objs/req</th><th>GC cycles</th><th>heap growth</th><th>peak RSS</th></tr>\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%.0f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			esc(r.Name), r.OK+r.ErrorCount, r.RequestsPerSecond, r.Latency.P50, r.Latency.P99, r.Latency.Max, r.ErrorCount,
			optFloat(r.BytesPerRequest, 0), optFloat(r.ObjectsPerRequest, 2), optUint(r.GCCycles), esc(optBytes(r.HeapGrowthBytes)), esc(MiB(int64(r.PeakRSSBytes))))
	}
	b.WriteString("</table>\n")
	b.Write(SVG(rs, "Server memory over time"))
	b.WriteString("<h2>Runs</h2>\n")
	for _, r := range rs {
		var t bytes.Buffer
		if err := WriteText(&t, r); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "<pre>%s</pre>\n", esc(t.String()))
	}
	b.WriteString(`<p>Bytes and objects per request are the server's heap allocations (runtime/metrics <code>/gc/heap/allocs</code>) during the measured phase divided by its requests; heap growth is the change of <code>/memory/classes/heap/objects:bytes</code> over the phase; RSS is VmRSS from /proc, sampled every 100 ms.</p>` + "\n")
	// The summaries only: the samples are in the chart, and with them a
	// seed-sized comparison would weigh a megabyte ("--json" prints them).
	summaries := make([]Report, len(rs))
	for i, r := range rs {
		summaries[i] = *r
		summaries[i].Samples = nil
	}
	js, err := json.Marshal(summaries)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, "<script type=\"application/json\" id=\"reports\">%s</script>\n</body></html>\n", js)
	return b.Bytes(), nil
}
