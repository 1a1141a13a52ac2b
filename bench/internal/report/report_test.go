package report

import (
	"fmt"
	"strings"
	"testing"
)

// benchOutput builds go test -bench output for the given runs of
// workload/contender at ns nanoseconds per op (plus 0.5 ns per run index, so
// the runs differ).
func benchOutput(runs int, rows map[string]float64, extra string) string {
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: example\ncpu: Test CPU\n")
	for run := range runs {
		for _, name := range []string{"RoundTrip/floor", "RoundTrip/slow", "FanOut/floor"} {
			ns, ok := rows[name]
			if !ok {
				continue
			}
			fmt.Fprintf(&b, "Benchmark%s-2\t100\t%.1f ns/op\t%s\t16 B/op\t1 allocs/op\n",
				name, ns+0.5*float64(run), extra)
		}
	}
	b.WriteString("PASS\nok  \texample\t1.0s\n")
	return b.String()
}

func TestParseGroupsAndRatios(t *testing.T) {
	in := benchOutput(6, map[string]float64{"RoundTrip/floor": 100, "RoundTrip/slow": 300, "FanOut/floor": 5000},
		"2.0 GCs/1Mop\t120 p50-ns\t900 p99-ns")
	res, err := Parse(strings.NewReader(in), "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Workloads, ","); got != "RoundTrip,FanOut" {
		t.Errorf("workloads = %s; want RoundTrip,FanOut", got)
	}
	if got := strings.Join(res.Contenders["RoundTrip"], ","); got != "floor,slow" {
		t.Errorf("RoundTrip contenders = %s; want floor,slow", got)
	}
	s, runs, ok := res.Summary(Key{"RoundTrip", "slow"}, UnitNs)
	if !ok || runs != 6 {
		t.Fatalf("summary ok=%v runs=%d; want true 6", ok, runs)
	}
	// Runs are 300.0, 300.5, ..., 302.5: the median is 301.25.
	if s.Center != 301.25 {
		t.Errorf("median = %v; want 301.25", s.Center)
	}
	r, ok := res.Ratio(Key{"RoundTrip", "slow"}, FloorName)
	if !ok || r < 2.9 || r > 3.1 {
		t.Errorf("ratio = %v, %v; want about 3", r, ok)
	}
	for _, unit := range []string{UnitBytes, UnitAllocs, UnitGC, UnitP50, UnitP99} {
		if _, _, ok := res.Summary(Key{"RoundTrip", "floor"}, unit); !ok {
			t.Errorf("unit %s not collected", unit)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	in := benchOutput(6, map[string]float64{"RoundTrip/floor": 100, "RoundTrip/slow": 300}, "0 GCs/1Mop\t120 p50-ns\t900 p99-ns")
	res, err := Parse(strings.NewReader(in), "test")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteMarkdown(&b, Layouts{"RoundTrip": {Title: "Round trip"}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"### Round trip",
		"| contender | time vs floor | time/op | B/op | allocs/op | GC cycles per 1M ops | p50 | p99 |",
		"| floor | 1.00× | 101 ns ±1% | 16 | 1 | 0 | 120 ns | 900 ns |",
		"| slow | 2.98× |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q; got:\n%s", want, out)
		}
	}
}

func TestWriteMarkdownWithoutFloor(t *testing.T) {
	in := benchOutput(2, map[string]float64{"RoundTrip/slow": 300}, "")
	res, err := Parse(strings.NewReader(in), "test")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteMarkdown(&b, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| slow | n/a |") {
		t.Errorf("a workload without a floor should show n/a ratios; got:\n%s", b.String())
	}
	if strings.Contains(b.String(), "p99") {
		t.Errorf("no latency was measured, yet the table has latency columns:\n%s", b.String())
	}
}

func TestParseRejectsEmptyAndMalformed(t *testing.T) {
	if _, err := Parse(strings.NewReader("PASS\nok\n"), "empty"); err == nil || !strings.Contains(err.Error(), "no benchmark result") {
		t.Errorf("empty input: err = %v; want a 'no benchmark result' error", err)
	}
	if _, err := Parse(strings.NewReader("BenchmarkX/a-2 100 abc ns/op\n"), "bad"); err == nil {
		t.Error("malformed benchmark line: want an error, got nil")
	}
}

func TestSingleRunHasNoInterval(t *testing.T) {
	in := benchOutput(1, map[string]float64{"RoundTrip/floor": 100}, "")
	res, err := Parse(strings.NewReader(in), "test")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteMarkdown(&b, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| floor | 1.00× | 100 ns | 16 |") {
		t.Errorf("one run should print its value without an interval; got:\n%s", b.String())
	}
}

// TestWriteMarkdownThroughput checks the Redis layout: throughput as a ratio
// to a named baseline (higher is faster), ops/s, and the columns only the
// Redis workloads report, shown because one contender reported them.
func TestWriteMarkdownThroughput(t *testing.T) {
	var in strings.Builder
	in.WriteString("cpu: Test CPU\n")
	for run := range 3 {
		fmt.Fprintf(&in, "BenchmarkRedisDeadline/rueidis-2\t1000\t%d ns/op\t100 gostarts/1kop\t4 goroutines\t95 deadline-hit-%%\t0 failed-%%\t48 B/op\t1 allocs/op\n", 20000+run)
		fmt.Fprintf(&in, "BenchmarkRedisDeadline/zerogc-2\t1000\t%d ns/op\t0 gostarts/1kop\t2 goroutines\t97.5 deadline-hit-%%\t0 failed-%%\t0 B/op\t0 allocs/op\n", 10000+run)
	}
	res, err := Parse(strings.NewReader(in.String()), "test")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteMarkdown(&b, Layouts{"RedisDeadline": {Title: "Deadlines", Baseline: "rueidis", Throughput: true}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"### Deadlines",
		"| contender | ops/s vs rueidis | ops/s | B/op | allocs/op | GC cycles per 1M ops | goroutines after | goroutines started per 1k ops | deadline calls that timed out | calls failed otherwise |",
		"| rueidis | 1.00× | 50k |",
		"| zerogc | 2.00× | 100k |",
		"| 0 | 0 | — | 2 | 0 | 97.5 % | 0.0 % |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q; got:\n%s", want, out)
		}
	}
	if strings.Contains(out, "p99") {
		t.Errorf("no latency was reported, yet the table has latency columns:\n%s", out)
	}
}

func TestFractionalAllocsAreNotRoundedToZero(t *testing.T) {
	in := "BenchmarkRedisMix/zerogc-2\t1000\t5000 ns/op\t0.2 exact-allocs/op\t12.8 exact-B/op\t12 B/op\t0 allocs/op\n" +
		"BenchmarkRedisMix/rueidis-2\t1000\t5000 ns/op\t3 allocs/op\t296 B/op\n" +
		"BenchmarkRedisMix/tiny-2\t1000\t5000 ns/op\t0.00012 exact-allocs/op\t2.5 exact-B/op\n"
	res, err := Parse(strings.NewReader(in), "test")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteMarkdown(&b, Layouts{"RedisMix": {Baseline: "rueidis", Throughput: true}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| zerogc | 1.00× | 200k | 13 | 0.2 |", "| rueidis | 1.00× | 200k | 296 | 3 |", "| tiny | 1.00× | 200k | 2.5 | 0.00012 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q; got:\n%s", want, b.String())
		}
	}
}
