package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// chart draws, for each row, io_uring's time per read over the workers'
// (and its CPU per read over theirs, where the output has it) as
// horizontal bars against a line at 1.0: a bar short of the line is a row
// where io_uring is faster.
func chart(rows []*row) []byte {
	const (
		left, right, top = 170.0, 60.0, 58.0
		width            = 760.0
		rowH, barH       = 30.0, 11.0
	)
	hasCPU := false
	top1 := 1.25
	for _, rw := range rows {
		r, _ := rw.ratio("ns/op")
		top1 = math.Max(top1, r)
		if c, ok := rw.ratio("cpu-ns/op"); ok {
			hasCPU = true
			top1 = math.Max(top1, c)
		}
	}
	xmax := math.Ceil(top1*4) / 4 // a multiple of 0.25 above every bar
	plotW := width - left - right
	height := top + rowH*float64(len(rows)) + 40
	x := func(v float64) float64 { return left + v/xmax*plotW }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="#fff"/>`+"\n", width, height)
	b.WriteString(`<text x="10" y="20" font-size="14" font-weight="bold">fileio BenchmarkRead: io_uring over workers, median per row (below 1: io_uring faster)</text>` + "\n")
	fmt.Fprintf(&b, `<rect x="%g" y="30" width="12" height="10" fill="#1f77b4"/><text x="%g" y="39">time per read</text>`+"\n", left, left+16)
	if hasCPU {
		fmt.Fprintf(&b, `<rect x="%g" y="30" width="12" height="10" fill="#ff7f0e"/><text x="%g" y="39">CPU per read (all threads)</text>`+"\n", left+120, left+136)
	}
	for _, rw := range rows {
		if t, ok := targets[rw.name]; ok {
			fmt.Fprintf(&b, `<line x1="%g" y1="35" x2="%g" y2="35" stroke="#d62728" stroke-width="2.5" stroke-dasharray="4 2"/><text x="%g" y="39">issue 15's target %s (%s)</text>`+"\n", left+300, left+316, left+320, trimRatio(t), html.EscapeString(label(rw.name)))
			break // one legend entry: there is one such target
		}
	}
	bottom := top + rowH*float64(len(rows))
	for v := 0.0; v <= xmax+1e-9; v += 0.25 {
		color, w := "#ddd", 1.0
		if math.Abs(v-1) < 1e-9 {
			color, w = "#333", 1.5
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="%s" stroke-width="%g"/>`+"\n", x(v), top-6, x(v), bottom, color, w)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle" fill="#555">%s</text>`+"\n", x(v), bottom+16, trimRatio(v))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle" fill="#333">workers = 1</text>`+"\n", x(1), bottom+32)
	for i, rw := range rows {
		y := top + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%s</text>`+"\n", left-8, y+rowH/2+4, html.EscapeString(label(rw.name)))
		bar := func(v float64, dy float64, color string) {
			fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%.1f" height="%g" fill="%s"/>`+"\n", left, y+dy, x(v)-left, barH, color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">%.2f</text>`+"\n", x(v)+4, y+dy+barH-1, v)
		}
		r, _ := rw.ratio("ns/op")
		if c, ok := rw.ratio("cpu-ns/op"); ok {
			bar(r, 3, "#1f77b4")
			bar(c, 3+barH+1, "#ff7f0e")
		} else {
			bar(r, (rowH-barH)/2, "#1f77b4")
		}
		if t, ok := targets[rw.name]; ok {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#d62728" stroke-width="2.5" stroke-dasharray="4 2"/>`+"\n", x(t), y+1, x(t), y+rowH-1)
		}
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// targets are issue 15's time ratios other than 1.0, by row.
var targets = map[string]float64{"4KiB/inflight=1024": 0.67}

func trimRatio(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
