package bench

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestContenderNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Contenders() {
		if seen[c.Name] {
			t.Errorf("contender %q listed twice", c.Name)
		}
		seen[c.Name] = true
		if c.Name == "" || c.Doc == "" {
			t.Errorf("contender %q needs a name and a doc line", c.Name)
		}
	}
	if !seen["floor"] {
		t.Error("the floor contender is missing; ratios are computed against it")
	}
}

// TestContendersCorrect runs every contender's round trip and fan-out long
// enough for workers to be reused, checking every result (run it with
// -race: it is the stress test of the contenders' concurrent paths).
func TestContendersCorrect(t *testing.T) {
	const rounds = 2000
	for _, c := range Contenders() {
		t.Run(c.Name, func(t *testing.T) {
			if c.NewRoundTrip != nil {
				rt, stop := c.NewRoundTrip()
				for i := range rounds {
					mustRoundTrip(t, rt, i)
				}
				stop()
			}
			if c.NewFanOut != nil {
				fo, stop := c.NewFanOut(FanOutBatch)
				want := fanOutSum(FanOutBatch)
				results := make([]int, FanOutBatch)
				for range 20 {
					mustFanOut(t, fo, results, want)
					for i, v := range results {
						if v != 2*i+1 {
							if c.Name == "conc-pool" {
								break // conc's result pool does not keep order
							}
							t.Fatalf("results[%d] = %d; want %d", i, v, 2*i+1)
						}
					}
				}
				// A smaller batch reuses the same state.
				small := results[:7]
				mustFanOut(t, fo, small, fanOutSum(7))
				stop()
			}
		})
	}
}

// TestAntsExecutorConcurrent has many goroutines execute functions on one
// AntsExecutor at once; every function must run exactly once.
func TestAntsExecutorConcurrent(t *testing.T) {
	e, err := NewAntsExecutor(4)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Release()
	const goroutines, each = 8, 500
	var ran atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			var done sync.WaitGroup
			for range each {
				done.Add(1)
				e.Execute(func(arg any) {
					ran.Add(1)
					arg.(*sync.WaitGroup).Done()
				}, &done)
			}
			done.Wait()
		})
	}
	wg.Wait()
	if got := ran.Load(); got != goroutines*each {
		t.Fatalf("%d functions ran; want %d", got, goroutines*each)
	}
}

// TestAntsExecutorAfterRelease: once the pool is released, Execute runs the
// function on the caller instead of dropping it.
func TestAntsExecutorAfterRelease(t *testing.T) {
	e, err := NewAntsExecutor(2)
	if err != nil {
		t.Fatal(err)
	}
	e.Release()
	ran := false
	e.Execute(func(any) { ran = true }, nil)
	if !ran {
		t.Fatal("Execute on a released AntsExecutor dropped the function")
	}
}

func TestNewAntsExecutorRejectsBadOptions(t *testing.T) {
	if _, err := NewAntsExecutor(-1, antsPreAlloc()); err == nil {
		t.Fatal("NewAntsExecutor(-1, WithPreAlloc(true)) = nil error; want ants's invalid size error")
	}
}

func TestHistQuantiles(t *testing.T) {
	var h Hist
	if h.Quantile(0.99) != 0 {
		t.Fatal("empty histogram: want 0")
	}
	for d := 1; d <= 1000; d++ {
		h.Record(durationNs(d * 100)) // 100 ns .. 100 µs, evenly
	}
	for _, tc := range []struct {
		q    float64
		want int
	}{{0.5, 50_000}, {0.99, 99_000}, {1, 100_000}} {
		got := int(h.Quantile(tc.q))
		// Buckets are 1/16 of a power of two wide: within 6.25 %.
		if got < tc.want*15/16 || got > tc.want*17/16 {
			t.Errorf("Quantile(%v) = %d ns; want %d ns within 6.25%%", tc.q, got, tc.want)
		}
	}
	if h.Count() != 1000 {
		t.Errorf("Count = %d; want 1000", h.Count())
	}
	h.Record(-5)
	h.Reset()
	if h.Count() != 0 {
		t.Error("Reset left durations behind")
	}
}

func TestHistBucketsContiguous(t *testing.T) {
	// Every duration falls in the bucket whose range holds it.
	for _, d := range []int64{0, 1, 15, 16, 17, 31, 32, 33, 1000, 123456789, 1 << 62} {
		i := histIndex(durationNs(int(d)))
		if lo := int64(histLow(i)); lo > d {
			t.Errorf("duration %d in bucket %d whose low bound is %d", d, i, lo)
		}
		if i+1 < histBuckets {
			if hi := int64(histLow(i + 1)); hi <= d {
				t.Errorf("duration %d in bucket %d, but bucket %d starts at %d", d, i, i+1, hi)
			}
		}
	}
}
