package tune

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// postRun sends req to the server's POST /api/run and decodes the answer.
func postRun(t *testing.T, srv *Server, req Request) (int, *Result, string) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := sendRun(srv, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e apiError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, nil, e.Error
	}
	var res Result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, &res, ""
}

func findDelta(rows []BenchDelta, bench, unit string) *BenchDelta {
	for i := range rows {
		if rows[i].Benchmark == bench && rows[i].Unit == unit {
			return &rows[i]
		}
	}
	return nil
}

// TestIssue17_BenchCompareEscapeNoalloc is issue 17's acceptance for
// benchmark mode: the JSON API runs the escape sample's benchmark, then
// the noalloc sample's with the first result as its baseline, and the
// comparison reports the allocs/op difference with benchstat's p-value.
func TestIssue17_BenchCompareEscapeNoalloc(t *testing.T) {
	srv := startServer(t, Options{Timeout: 60 * time.Second})
	esc, _ := SampleByID("escape")
	noa, _ := SampleByID("noalloc")

	code, a, msg := postRun(t, srv, Request{Code: esc.Code, Bench: true, Benchtime: "300x"})
	if code != 200 || a.Error != "" {
		t.Fatalf("escape bench: status %d %s; result error %q\n%s", code, msg, errOf(a), outOf(a))
	}
	if a.Bench == nil || len(a.Bench.Benchmarks) != 1 || a.Bench.Benchmarks[0].Name != "BenchmarkRun" {
		t.Fatalf("escape bench: %+v", a.Bench)
	}
	if a.Bench.Count != 6 || a.Bench.Benchtime != "300x" {
		t.Errorf("count %d benchtime %q, want the default 6 and 300x", a.Bench.Count, a.Bench.Benchtime)
	}
	bm := a.Bench.Benchmarks[0]
	if len(bm.Samples) != 6 {
		t.Fatalf("%d samples, want 6: %+v", len(bm.Samples), bm.Samples)
	}
	for _, s := range bm.Samples {
		// 1000 labels: a new string each, and the ints boxed for
		// fmt.Sprintf from 256 on.
		if s.N != 300 || s.NsPerOp <= 0 || s.AllocsPerOp < 1000 || s.BytesPerOp < 1000*8 {
			t.Errorf("escape sample %+v: want 300 iterations, ns/op > 0, at least 1000 allocs/op and 8000 B/op", s)
		}
	}
	if bm.AllocsPerOp.N == 0 || bm.AllocsPerOp.Median < 1000 {
		t.Errorf("allocs/op summary %+v", bm.AllocsPerOp)
	}
	// The build of a benchmark run still explains the snippet's escapes.
	heap := false
	for _, d := range a.Escapes {
		heap = heap || (d.Kind == "heap" && d.Message == "p.X escapes to heap")
	}
	if !heap {
		t.Error("no escape decision for p.X (boxed for fmt.Sprintf) in the benchmark run's result")
	}

	code, b, msg := postRun(t, srv, Request{Code: noa.Code, Bench: true, Benchtime: "300x", Baseline: a.Bench})
	if code != 200 || b.Error != "" {
		t.Fatalf("noalloc bench: status %d %s; result error %q\n%s", code, msg, errOf(b), outOf(b))
	}
	d := findDelta(b.Comparison, "BenchmarkRun", "allocs/op")
	if d == nil {
		t.Fatalf("no allocs/op row in the comparison: %+v", b.Comparison)
	}
	t.Logf("allocs/op: %v -> %v, %s, p=%v (%s)", d.Base.Median, d.New.Median, d.Delta, d.PValue, d.Note)
	if d.Base.Median < 1000 || d.New.Median != 1 {
		t.Errorf("allocs/op %v -> %v, want at least 1000 -> 1 (the returned string)", d.Base.Median, d.New.Median)
	}
	// Six constant samples against six others: the U test's smallest
	// p-value for 6+6, 2/924.
	if !d.Significant || d.PValue <= 0 || d.PValue > 0.0025 || d.DeltaPct > -99 || !strings.HasPrefix(d.Delta, "-99.") {
		t.Errorf("allocs/op row %+v: want a significant drop of over 99%% with p ≈ 0.002", d)
	}
	if ns := findDelta(b.Comparison, "BenchmarkRun", "ns/op"); ns == nil || ns.PValue < 0 || ns.Base.N == 0 {
		t.Errorf("ns/op row %+v", ns)
	}
}

func errOf(r *Result) string {
	if r == nil {
		return ""
	}
	return r.Error
}

func outOf(r *Result) string {
	if r == nil {
		return ""
	}
	return r.BuildOutput + r.Stdout + r.Stderr
}

// TestBenchRequestErrors checks that a benchmark request that cannot run
// says what to change.
func TestBenchRequestErrors(t *testing.T) {
	srv := startServer(t, Options{Timeout: 5 * time.Second})
	esc, _ := SampleByID("escape")
	alloc, _ := SampleByID("alloc")
	for _, c := range []struct {
		req  Request
		want string
	}{
		{Request{Code: alloc.Code, Bench: true}, "declares no benchmark"},
		{Request{Code: esc.Code, Bench: true, Count: 51}, "count 51 is out of range"},
		{Request{Code: esc.Code, Bench: true, Benchtime: "1s"}, "more than the run's time limit"},
		{Request{Code: esc.Code, Bench: true, Benchtime: "fast"}, "neither a positive duration"},
		{Request{Code: esc.Code, Bench: true, Benchtime: "0x"}, "iteration count"},
		{Request{Code: esc.Code, Baseline: &BenchRun{}}, `add "bench": true`},
	} {
		code, _, msg := postRun(t, srv, c.req)
		if code != 400 || !strings.Contains(msg, c.want) {
			t.Errorf("%+v: status %d %q, want 400 saying %q", c.req.Benchtime, code, msg, c.want)
		}
	}
}

func TestBenchSettingsDefault(t *testing.T) {
	count, bt, err := benchSettings(0, "", 2, 10*time.Second)
	if err != nil || count != 6 || bt != "250ms" {
		t.Errorf("default for 2 benchmarks in 10s: %d %q %v, want 6 250ms", count, bt, err)
	}
	// Many benchmarks: at least 10ms each, and the time limit kills.
	if _, bt, _ := benchSettings(50, "", 100, time.Second); bt != "10ms" {
		t.Errorf("floor: %q", bt)
	}
	if _, bt, _ := benchSettings(1, "", 1, time.Hour); bt != "1s" {
		t.Errorf("ceiling: %q", bt)
	}
}

func TestParseBenchAndCompare(t *testing.T) {
	out := "goos: linux\ngoarch: amd64\npkg: tuneexp/snippet\n" +
		"BenchmarkA-2   \t    1000\t      2000 ns/op\t     320 B/op\t       4 allocs/op\n" +
		"BenchmarkA-2   \t    1000\t      2100 ns/op\t     320 B/op\t       4 allocs/op\n" +
		"BenchmarkA-2   \t    1000\t      1900 ns/op\t     320 B/op\t       4 allocs/op\n" +
		"BenchmarkA-2   \t    1000\t      2050 ns/op\t     320 B/op\t       4 allocs/op\n" +
		"BenchmarkB/n=1-2\t 500\t 10 ns/op\t 0 B/op\t 0 allocs/op\nPASS\nok\n"
	run, err := parseBench(out, 4, "1000x")
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Benchmarks) != 2 || run.Benchmarks[0].Name != "BenchmarkA" || run.Benchmarks[1].Name != "BenchmarkB/n=1" {
		t.Fatalf("benchmarks %+v", run.Benchmarks)
	}
	a := run.Benchmarks[0]
	if len(a.Samples) != 4 || a.Samples[1] != (BenchSample{N: 1000, NsPerOp: 2100, BytesPerOp: 320, AllocsPerOp: 4}) {
		t.Errorf("samples %+v", a.Samples)
	}
	// Four samples are too few for a 95% interval around the median:
	// the range of the samples stands for it.
	if a.NsPerOp.Median != 2025 || a.NsPerOp.Lo != 1900 || a.NsPerOp.Hi != 2100 || a.NsPerOp.N != 4 || a.AllocsPerOp.Median != 4 {
		t.Errorf("summary ns %+v allocs %+v", a.NsPerOp, a.AllocsPerOp)
	}
	// Against itself: no significant change.
	rows, err := CompareBench(run, run)
	if err != nil {
		t.Fatal(err)
	}
	if d := findDelta(rows, "BenchmarkA", "ns/op"); d == nil || d.Significant || d.Delta != "~" || d.PValue != 1 {
		t.Errorf("self comparison %+v", d)
	}
	if d := findDelta(rows, "BenchmarkA", "allocs/op"); d == nil || d.PValue != 1 || d.Significant || !strings.Contains(d.Note, "equal") {
		t.Errorf("equal allocs %+v", d)
	}
	if _, err := CompareBench(run, &BenchRun{Benchmarks: []Benchmark{{Name: "BenchmarkC", Samples: a.Samples}}}); err == nil || !strings.Contains(err.Error(), "none of this run's benchmarks") {
		t.Errorf("disjoint runs: %v", err)
	}
	bad := &BenchRun{Benchmarks: []Benchmark{{Name: "BenchmarkA", Samples: []BenchSample{{N: 0}}}}}
	if _, err := CompareBench(bad, run); err == nil || !strings.Contains(err.Error(), "iterations must be positive") {
		t.Errorf("bad baseline: %v", err)
	}
}
