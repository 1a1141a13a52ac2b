package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zerogc/zerogc/lab/sampler"
	"github.com/zerogc/zerogc/lab/server"
)

func ptr[T any](v T) *T { return &v }

// fake returns a report with n samples, 1 MiB apart in heap, whose GC
// count rises at every sample index in gcAt.
func fake(name string, n int, gcAt ...int) *Report {
	r := &Report{Name: name, Users: 10, Requests: 1000, Delay: "10ms", OK: 1000,
		RequestsPerSecond: 950, Latency: Latency{P50: 1.25, P90: 2, P99: 3.5, Max: 9},
		BytesPerRequest: ptr(2263.4), ObjectsPerRequest: ptr(20.97), GCCycles: ptr(uint64(len(gcAt))),
		HeapGrowthBytes: ptr(int64(43 << 20)), PeakRSSBytes: 57 << 20, Errors: map[string]int{}}
	var gcs uint64
	for i := range n {
		for _, g := range gcAt {
			if g == i {
				gcs++
			}
		}
		r.Samples = append(r.Samples, sampler.Sample{At: time.Duration(i) * 100 * time.Millisecond,
			RSSBytes: uint64(10+i) << 20, Heap: &server.Metrics{HeapObjectsBytes: uint64(i) << 20, GCCycles: gcs}})
	}
	return r
}

func TestWriteTable(t *testing.T) {
	own := fake("nethttp gc=off", 3)
	user := &Report{Name: "http://127.0.0.1:9/", OK: 5, Errors: map[string]int{"timeout": 2}, ErrorCount: 2, PeakRSSBytes: 3 << 30}
	var b bytes.Buffer
	if err := WriteTable(&b, []*Report{own, user}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header and 2 rows, got:\n%s", b.String())
	}
	for _, want := range []string{"nethttp gc=off", "2263", "20.97", "43.0 MiB", "57.0 MiB", "950", "1.25"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	if strings.Count(lines[2], "n/a") != 4 || !strings.Contains(lines[2], "3072.0 MiB") || !strings.Contains(lines[2], " 7 ") {
		t.Errorf("row without heap figures: %q", lines[2])
	}
	b.Reset()
	if err := WriteMarkdown(&b, []*Report{own, user}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 4 {
		t.Fatalf("markdown table has %d lines:\n%s", n, b.String())
	}
}

func TestWriteText(t *testing.T) {
	r := fake("zero gc=off", 2)
	r.Aborted = "server gone"
	r.Errors = map[string]int{"refused": 3, "status 500": 1}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"STOPPED EARLY: server gone", "2263.4 B per request", "refused: 3, status 500: 1", "p99 3.50 ms"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSVG(t *testing.T) {
	rs := []*Report{fake("a", 20, 3, 4, 10), fake("b & <c>", 5), {Name: "rss only", Samples: []sampler.Sample{{At: 0, RSSBytes: 1 << 20}, {At: time.Second, RSSBytes: 2 << 20}}}}
	svg := SVG(rs, "title")
	if err := wellFormed(svg); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	s := string(svg)
	// RSS panel: 3 series; heap panel: 2 (the third has no heap samples).
	if n := strings.Count(s, "<polyline"); n != 5 {
		t.Errorf("%d polylines, want 5", n)
	}
	if n := strings.Count(s, " GC at "); n != 3 {
		t.Errorf("%d GC ticks, want 3", n)
	}
	if !strings.Contains(s, "b &amp; &lt;c&gt;") {
		t.Error("run name not escaped")
	}
	// The largest heap value (19 MiB) sits inside the plot: y >= panel top.
	for _, m := range regexp.MustCompile(`points="([^"]*)"`).FindAllStringSubmatch(s, -1) {
		for _, p := range strings.Fields(m[1]) {
			var x, y float64
			if _, err := fmtSscanf(p, &x, &y); err != nil || x < marginL-0.1 || x > chartW-marginR+0.1 || y < firstPanelY-0.1 {
				t.Fatalf("point %q outside the plot", p)
			}
		}
	}
	if err := wellFormed(SVG(nil, "empty")); err != nil {
		t.Fatalf("empty chart: %v", err)
	}
}

func TestHTML(t *testing.T) {
	rs := []*Report{fake("nethttp gc=on", 4, 1), fake("zero gc=off", 4)}
	page, err := HTML(rs, "lab", "zerogc load --compare", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{"<svg", "<table>", "zerogc load --compare", "1970-01-01T00:00:00Z", "nethttp gc=on"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(s, "src=") || strings.Contains(s, "href=") {
		t.Error("page refers to external resources; it must be self-contained")
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="reports">(.*?)</script>`).FindStringSubmatch(s)
	if m == nil {
		t.Fatal("no embedded JSON")
	}
	var back []*Report
	if err := json.Unmarshal([]byte(m[1]), &back); err != nil || len(back) != 2 || *back[0].BytesPerRequest != 2263.4 {
		t.Fatalf("embedded JSON does not round-trip: %v", err)
	}
}

func TestNiceScale(t *testing.T) {
	for _, v := range []float64{0.07, 0.58, 1, 3.3, 9.9, 57, 230, 1e6} {
		top, step := niceScale(v)
		ticks := top / step
		if top < v || ticks < 4-1e-9 || ticks > 8+1e-9 {
			t.Errorf("niceScale(%v) = %v, %v: want top >= v and 4..8 ticks", v, top, step)
		}
	}
	if top, _ := niceScale(0); top <= 0 {
		t.Error("niceScale(0) gives an empty axis")
	}
}

func TestWriteProfile(t *testing.T) {
	p := &server.Profile{Bytes: 300, Objects: 4, ExcludedBytes: 64, ExcludedObjects: 1, Sites: []server.Site{
		{Function: "net/http.readRequest", File: "net/http/request.go", Line: 1083, Bytes: 200, Objects: 1},
		{Function: "a", Bytes: 60, Objects: 2}, {Function: "b", Bytes: 40, Objects: 1},
	}}
	var b bytes.Buffer
	if err := WriteProfile(&b, p, 2); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"300 bytes in 4 objects", "67%", "net/http.readRequest (net/http/request.go:1083)", "(1 more sites)", "not counted: 64 bytes"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("profile text lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := WriteProfile(&b, &server.Profile{}, 5); err != nil || !strings.Contains(b.String(), "allocated nothing") {
		t.Fatalf("empty profile: %v %q", err, b.String())
	}
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func fmtSscanf(p string, x, y *float64) (int, error) {
	return fmt.Sscanf(p, "%f,%f", x, y)
}

// Point 15 of issue 11: series that lie exactly on top of each other stay
// distinguishable: every run has its own dash pattern and its own marker
// shape, and the markers of identical series do not fall on the same
// samples.
func TestIssue11_15_OverlappingSeriesDistinguishable(t *testing.T) {
	var rs []*Report
	for _, name := range []string{"nethttp gc=on", "nethttp gc=off", "zero gc=on", "zero gc=off"} {
		r := fake(name, 120)
		r.GC = strings.TrimPrefix(name[strings.Index(name, " ")+1:], "gc=")
		rs = append(rs, r)
	}
	svg := string(SVG(rs, "same"))
	lines := regexp.MustCompile(`<polyline [^>]*>`).FindAllString(svg, -1)
	if len(lines) != 8 { // RSS and heap panels
		t.Fatalf("%d polylines, want 8", len(lines))
	}
	dashRE := regexp.MustCompile(`stroke-dasharray="([^"]*)"`)
	style := func(l string) string {
		if m := dashRE.FindStringSubmatch(l); m != nil {
			return m[1]
		}
		return "solid"
	}
	seen := map[string]bool{}
	for _, l := range lines[:4] {
		seen[style(l)] = true
	}
	if len(seen) != 4 {
		t.Errorf("the 4 series of a panel use %d dash styles, want 4: %v", len(seen), seen)
	}
	// Markers: one group per series and panel, with its own shape, at
	// sample positions that differ between series.
	groups := regexp.MustCompile(`<g class="markers" data-series="(\d)" data-shape="(\w+)">(.*?)</g>`).FindAllStringSubmatch(svg, -1)
	if len(groups) != 8 {
		t.Fatalf("%d marker groups, want 8", len(groups))
	}
	shapes, firsts := map[string]bool{}, map[string]bool{}
	for _, g := range groups[:4] {
		shapes[g[2]] = true
		n := strings.Count(g[3], "<path ")
		if n < 5 {
			t.Errorf("series %s has %d markers, want at least 5", g[1], n)
		}
		firsts[regexp.MustCompile(`translate\(([^ ]+) `).FindStringSubmatch(g[3])[1]] = true
	}
	if len(shapes) != 4 || len(firsts) != 4 {
		t.Errorf("marker shapes %v, first marker positions %v: want 4 different of each", shapes, firsts)
	}
	var x any
	if err := xml.Unmarshal([]byte(svg), &x); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
}
