// Package report holds the results of lab load runs and renders them: a
// text table, JSON, an SVG chart of memory over time, and a self-contained
// HTML page.
package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zerogc/zerogc/lab/sampler"
	"github.com/zerogc/zerogc/lab/server"
)

// Report is the result of one load run. Fields that need the server's
// runtime metrics are nil when the server is not the lab's own.
type Report struct {
	// Name labels the run, e.g. "zero gc=off".
	Name   string `json:"name"`
	Flavor string `json:"flavor,omitempty"`
	GC     string `json:"gc,omitempty"`
	// Route is the sample API's route: "values" or "redis".
	Route string `json:"route,omitempty"`
	URL   string `json:"url"`
	PID   int    `json:"pid"`

	Users    int    `json:"users"`
	Requests int    `json:"requests"`
	Warmup   int    `json:"warmup"`
	Delay    string `json:"delay"`

	DurationSeconds   float64        `json:"duration_seconds"`
	RequestsPerSecond float64        `json:"requests_per_second"`
	Latency           Latency        `json:"latency_ms"`
	OK                int            `json:"ok"`
	Errors            map[string]int `json:"errors"`
	ErrorCount        int            `json:"error_count"`
	Aborted           string         `json:"aborted,omitempty"`

	// BytesPerRequest and ObjectsPerRequest are the server's heap
	// allocations during the measured phase divided by its requests.
	BytesPerRequest   *float64 `json:"bytes_per_request"`
	ObjectsPerRequest *float64 `json:"objects_per_request"`
	// AllocatedBytes is the server's total heap allocation in the phase.
	AllocatedBytes *uint64 `json:"allocated_bytes"`
	// GCCycles is the number of collections during the measured phase.
	GCCycles *uint64 `json:"gc_cycles"`
	// HeapGrowthBytes is the change of the heap's object memory (live and
	// not yet swept) from the start to the end of the measured phase.
	HeapGrowthBytes *int64 `json:"heap_growth_bytes"`
	// PeakRSSBytes is the largest resident set size sampled.
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`
	// RSSGrowthBytes is the last sampled RSS minus the first.
	RSSGrowthBytes int64 `json:"rss_growth_bytes"`
	// Processes is, for a server of the user's own, the largest number of
	// processes (the PID and its descendants) whose RSS was summed.
	Processes int `json:"processes,omitempty"`

	Samples []sampler.Sample `json:"samples"`
}

// Latency holds latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Ms converts a duration to milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteTable writes one row per report, aligned, in the units people read:
// requests/s, milliseconds, bytes and MiB.
func WriteTable(w io.Writer, rs []*Report) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Names are padded to one width so that the right-aligning writer
	// leaves them left-aligned (after its two spaces of padding, which are
	// cut below).
	nameW := len("run")
	for _, r := range rs {
		nameW = max(nameW, len(r.Name))
	}
	fmt.Fprintf(tw, "%-*s\trequests\treq/s\tp50 ms\tp99 ms\tmax ms\terrors\tB/req\tobjs/req\tGC cycles\theap growth\tpeak RSS\t\n", nameW, "run")
	for _, r := range rs {
		fmt.Fprintf(tw, "%-*s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t%s\t%s\t%s\t%s\t%s\t\n",
			nameW, r.Name, r.OK+r.ErrorCount, r.RequestsPerSecond, r.Latency.P50, r.Latency.P99, r.Latency.Max,
			r.ErrorCount, optFloat(r.BytesPerRequest, 0), optFloat(r.ObjectsPerRequest, 2),
			optUint(r.GCCycles), optBytes(r.HeapGrowthBytes), MiB(int64(r.PeakRSSBytes)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range bytes.Lines(buf.Bytes()) {
		if _, err := w.Write(bytes.TrimPrefix(line, []byte("  "))); err != nil {
			return err
		}
	}
	return nil
}

// WriteMarkdown writes the same table as WriteTable in Markdown.
func WriteMarkdown(w io.Writer, rs []*Report) error {
	_, err := fmt.Fprintln(w, "| run | requests | req/s | p50 ms | p99 ms | max ms | errors | B/req | objs/req | GC cycles | heap growth | peak RSS |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rs {
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "| %s | %d | %.0f | %.2f | %.2f | %.2f | %d | %s | %s | %s | %s | %s |\n",
			r.Name, r.OK+r.ErrorCount, r.RequestsPerSecond, r.Latency.P50, r.Latency.P99, r.Latency.Max,
			r.ErrorCount, optFloat(r.BytesPerRequest, 0), optFloat(r.ObjectsPerRequest, 2),
			optUint(r.GCCycles), optBytes(r.HeapGrowthBytes), MiB(int64(r.PeakRSSBytes)))
	}
	return err
}

// WriteText writes one report in detail.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d users, %d requests (after %d warm-up), %s delay, target %s (pid %d)\n",
		r.Name, r.Users, r.Requests, r.Warmup, r.Delay, r.URL, r.PID)
	if r.Aborted != "" {
		fmt.Fprintf(&b, "  STOPPED EARLY: %s\n", r.Aborted)
	}
	fmt.Fprintf(&b, "  throughput     %.0f requests/s over %.2f s\n", r.RequestsPerSecond, r.DurationSeconds)
	fmt.Fprintf(&b, "  latency        p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(&b, "  responses      %d ok, %d errors%s\n", r.OK, r.ErrorCount, errorKinds(r.Errors))
	fmt.Fprintf(&b, "  allocated      %s per request, %s objects per request (server heap, %s in total)\n",
		optFloatUnit(r.BytesPerRequest, 1, " B"), optFloat(r.ObjectsPerRequest, 2), optUintBytes(r.AllocatedBytes))
	fmt.Fprintf(&b, "  GC cycles      %s\n", optUint(r.GCCycles))
	fmt.Fprintf(&b, "  heap growth    %s\n", optBytes(r.HeapGrowthBytes))
	fmt.Fprintf(&b, "  RSS            peak %s, growth %s", MiB(int64(r.PeakRSSBytes)), MiB(r.RSSGrowthBytes))
	if r.Processes > 1 {
		fmt.Fprintf(&b, " (summed over %d processes: pid %d and its descendants)", r.Processes, r.PID)
	}
	b.WriteByte('\n')
	if r.BytesPerRequest == nil {
		b.WriteString("  (heap figures need the lab's own server: use --flavor; for --url only RSS is measured)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteProfile writes the top n allocation sites of a one-request profile.
func WriteProfile(w io.Writer, p *server.Profile, n int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "one request allocated %d bytes in %d objects on the server\n", p.Bytes, p.Objects)
	if p.ExcludedBytes > 0 {
		fmt.Fprintf(&b, "(not counted: %d bytes in %d objects that were not the request's: sync.Pool arrays re-created after the profiler's collection, new OS threads)\n", p.ExcludedBytes, p.ExcludedObjects)
	}
	if len(p.Sites) == 0 {
		b.WriteString("no allocation sites: the request allocated nothing on the heap\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "bytes\tobjects\tshare\tsite")
	for i, s := range p.Sites {
		if i == n {
			var rb, ro int64
			for _, r := range p.Sites[n:] {
				rb += r.Bytes
				ro += r.Objects
			}
			fmt.Fprintf(tw, "%d\t%d\t%.0f%%\t(%d more sites)\n", rb, ro, 100*float64(rb)/float64(p.Bytes), len(p.Sites)-n)
			break
		}
		fmt.Fprintf(tw, "%d\t%d\t%.0f%%\t%s (%s:%d)\n", s.Bytes, s.Objects, 100*float64(s.Bytes)/float64(max(p.Bytes, 1)), s.Function, s.File, s.Line)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

func errorKinds(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func optFloat(p *float64, prec int) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", prec, *p)
}

func optFloatUnit(p *float64, prec int, unit string) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.*f%s", prec, *p, unit)
}

func optUint(p *uint64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprint(*p)
}

func optUintBytes(p *uint64) string {
	if p == nil {
		return "n/a"
	}
	return MiB(int64(*p))
}

func optBytes(p *int64) string {
	if p == nil {
		return "n/a"
	}
	return MiB(*p)
}

// MiB formats a byte count: bytes below 10 KiB, KiB below 1 MiB, else MiB.
func MiB(n int64) string {
	a := math.Abs(float64(n))
	switch {
	case a < 10<<10:
		return fmt.Sprintf("%d B", n)
	case a < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
