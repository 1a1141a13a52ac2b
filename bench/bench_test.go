package bench

import (
	"runtime"
	"testing"
	"time"
)

// FanOutBatch is the number of operations in flight in the fan-out
// workload.
const FanOutBatch = 1000

// warmup is how many operations every contender runs before its timer
// starts, so pools, workers and caches are in their steady state.
const warmup = 1000

// BenchmarkRoundTrip submits one operation to another goroutine, completes
// it there and gets the result; one iteration is one operation.
func BenchmarkRoundTrip(b *testing.B) {
	for _, c := range Contenders() {
		if c.NewRoundTrip == nil {
			continue
		}
		b.Run(c.Name, func(b *testing.B) {
			rt, stop := c.NewRoundTrip()
			defer stop()
			for i := range warmup {
				mustRoundTrip(b, rt, i)
			}
			gc0 := GCCycles()
			b.ResetTimer()
			for i := range b.N {
				v, err := rt(i)
				if err != nil || v != 2*i+1 {
					b.Fatalf("round trip %d = %d, %v; want %d, nil", i, v, err, 2*i+1)
				}
			}
			b.StopTimer()
			reportGC(b, gc0)
		})
	}
}

// BenchmarkFanOut puts FanOutBatch operations in flight, then waits for all
// of them; one iteration is one whole batch.
func BenchmarkFanOut(b *testing.B) {
	for _, c := range Contenders() {
		if c.NewFanOut == nil {
			continue
		}
		b.Run(c.Name, func(b *testing.B) {
			fo, stop := c.NewFanOut(FanOutBatch)
			defer stop()
			results := make([]int, FanOutBatch)
			want := fanOutSum(FanOutBatch)
			for range warmup / 100 {
				mustFanOut(b, fo, results, want)
			}
			gc0 := GCCycles()
			b.ResetTimer()
			for range b.N {
				clear(results)
				if err := fo(results); err != nil {
					b.Fatal(err)
				}
				if got := sum(results); got != want {
					b.Fatalf("fan-out results sum to %d; want %d", got, want)
				}
			}
			b.StopTimer()
			reportGC(b, gc0)
		})
	}
}

// latency is the histogram of the GC-pressure benchmark that is running; it
// is a package variable so that it is not allocated per run.
var latency Hist

// BenchmarkGCPressure is the round trip again, while the process holds a
// 256 MiB live, pointer-rich heap (built on first use). Every operation is
// timed; p50 and p99 are reported with the GC cycles per million
// operations.
func BenchmarkGCPressure(b *testing.B) {
	objects := PressureHeap()
	b.Logf("pressure heap: %d objects, %d MiB live", objects, PressureHeapBytes>>20)
	for _, c := range Contenders() {
		if c.NewRoundTrip == nil {
			continue
		}
		b.Run(c.Name, func(b *testing.B) {
			rt, stop := c.NewRoundTrip()
			defer stop()
			for i := range warmup {
				mustRoundTrip(b, rt, i)
			}
			latency.Reset()
			gc0 := GCCycles()
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				v, err := rt(i)
				latency.Record(time.Since(t0))
				if err != nil || v != 2*i+1 {
					b.Fatalf("round trip %d = %d, %v; want %d, nil", i, v, err, 2*i+1)
				}
			}
			b.StopTimer()
			reportGC(b, gc0)
			b.ReportMetric(float64(latency.Quantile(0.50)), "p50-ns")
			b.ReportMetric(float64(latency.Quantile(0.99)), "p99-ns")
		})
	}
	runtime.KeepAlive(pressureRoots)
}

// reportGC reports the GC cycles completed since gc0 per million
// iterations.
func reportGC(b *testing.B, gc0 uint64) {
	b.ReportMetric(float64(GCCycles()-gc0)*1e6/float64(b.N), "GCs/1Mop")
}

func mustRoundTrip(tb testing.TB, rt RoundTrip, i int) {
	tb.Helper()
	if v, err := rt(i); err != nil || v != 2*i+1 {
		tb.Fatalf("round trip %d = %d, %v; want %d, nil", i, v, err, 2*i+1)
	}
}

func mustFanOut(tb testing.TB, fo FanOut, results []int, want int) {
	tb.Helper()
	clear(results)
	if err := fo(results); err != nil {
		tb.Fatal(err)
	}
	if got := sum(results); got != want {
		tb.Fatalf("fan-out results sum to %d; want %d", got, want)
	}
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// fanOutSum is the sum of Work(i) for i in [0, n).
func fanOutSum(n int) int {
	s := 0
	for i := range n {
		v, _ := Work(i)
		s += v
	}
	return s
}
