package bench

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/zerogc/zerogc/resp/redistest"
)

// redisWarmup is how many calls every Redis contender makes before its
// timer starts; the mixed workloads make redisWarmup*MixWorkers/2 calls
// shared among their goroutines, the batch workload redisWarmup/10
// batches.
const redisWarmup = 1000

// BenchmarkRedisGet is workload (a): one goroutine, sequential GETs of the
// keys in turn; one op is one GET.
func BenchmarkRedisGet(b *testing.B) {
	eachRedisContender(b, func(b *testing.B, client RedisClient) {
		sess := client.NewSession()
		ctx := context.Background()
		for i := range redisWarmup {
			if err := sess.Get(ctx, i%RedisKeys); err != nil {
				b.Fatal(err)
			}
		}
		latency.Reset()
		m := startRedisTimer(b)
		for i := range b.N {
			t0 := time.Now()
			err := sess.Get(ctx, i%RedisKeys)
			latency.Record(time.Since(t0))
			if err != nil {
				b.Fatalf("GET %s: %v", RedisKey(i%RedisKeys), err)
			}
		}
		m.stop(b, &latency)
	})
}

// BenchmarkRedisMix is workload (b): MixWorkers goroutines, each with its own
// session, making random calls, MixSetPercent of them SETs; one op is one
// call, b.N calls in all.
func BenchmarkRedisMix(b *testing.B) { benchmarkMix(b, 0) }

// BenchmarkRedisDeadline is workload (d): BenchmarkRedisMix with
// DeadlinePercent of the calls given a context whose deadline is
// DeadlineTimeout away (a DeadlineCtx, armed just before the call), shorter
// than a reply takes under this load, so most of them end while their
// request is in flight. It also reports the share of those calls that did
// end with a deadline error (deadline-hit-%) and the share of all calls that
// failed otherwise (failed-%).
func BenchmarkRedisDeadline(b *testing.B) { benchmarkMix(b, DeadlinePercent) }

func benchmarkMix(b *testing.B, deadlinePercent int) {
	eachRedisContender(b, func(b *testing.B, client RedisClient) {
		warm, warmDeadlines := SplitOps(1000, redisWarmup*MixWorkers/2, MixWorkers, deadlinePercent)
		ops, deadlines := SplitOps(0, b.N, MixWorkers, deadlinePercent)
		for i := range deadlines {
			deadlines[i] += warmDeadlines[i]
		}
		crew := NewCrew(client, deadlines, deadlinePercent > 0)
		defer crew.Stop()
		if _, err := crew.Phase(warm); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
		m := startRedisTimer(b)
		st, err := crew.Phase(ops)
		if err != nil {
			b.Fatal(err)
		}
		m.stop(b, &st.Latency)
		if deadlinePercent > 0 {
			if st.DeadlineCalls > 0 {
				b.ReportMetric(100*float64(st.DeadlineHits)/float64(st.DeadlineCalls), "deadline-hit-%")
			}
			b.ReportMetric(100*float64(st.Failed)/float64(st.Calls), "failed-%")
			if st.FirstFailure != nil {
				b.Logf("%d of %d calls failed with an error other than a deadline; the first: %v", st.Failed, st.Calls, st.FirstFailure)
			}
		}
	})
}

// BenchmarkRedisBatch is workload (c): one goroutine puts RedisBatch GETs in
// flight at once, then waits for all of them; one op is one GET (b.N GETs
// in batches of RedisBatch, the last one smaller when b.N is not a
// multiple). p50/p99 are per batch.
func BenchmarkRedisBatch(b *testing.B) {
	eachRedisContender(b, func(b *testing.B, client RedisClient) {
		sess := client.NewSession()
		ctx := context.Background()
		var keys [RedisBatch]int
		batch := func(first, n int) error {
			for k := range n {
				keys[k] = (first + k) % RedisKeys
			}
			return sess.GetBatch(ctx, keys[:n])
		}
		for i := range redisWarmup / 10 {
			if err := batch(i*RedisBatch, RedisBatch); err != nil {
				b.Fatal(err)
			}
		}
		latency.Reset()
		m := startRedisTimer(b)
		for done := 0; done < b.N; done += RedisBatch {
			n := min(RedisBatch, b.N-done)
			t0 := time.Now()
			err := batch(done, n)
			latency.Record(time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
		}
		m.stop(b, &latency)
	})
}

// eachRedisContender starts one redis-server for the whole workload, loads
// the keys, and runs fn as a sub-benchmark per contender on a fresh client.
// After fn it reports the goroutines the client still has once the process
// has settled, counted from before the client was made.
func eachRedisContender(b *testing.B, fn func(b *testing.B, client RedisClient)) {
	srv := redistest.Start(b)
	if err := LoadRedisKeys(srv.Addr); err != nil {
		b.Fatal(err)
	}
	for _, rc := range RedisContenders() {
		b.Run(rc.Name, func(b *testing.B) {
			g0 := SettledGoroutines()
			client, err := rc.Dial(srv.Addr)
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			fn(b, client)
			b.ReportMetric(float64(SettledGoroutines()-g0), "goroutines")
		})
	}
}

// redisMeter holds the counters read when the timer started.
type redisMeter struct {
	gc0, started0    uint64
	mallocs0, bytes0 uint64
}

func startRedisTimer(b *testing.B) redisMeter {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := redisMeter{gc0: GCCycles(), started0: GoroutinesCreated(), mallocs0: ms.Mallocs, bytes0: ms.TotalAlloc}
	b.ResetTimer()
	return m
}

// stop stops the timer and reports allocations and bytes per op without
// rounding (go test's -benchmem figures are whole numbers, so 0.2 allocs/op,
// one allocation in five calls, prints as 0; the table prefers these), GC
// cycles per million ops, goroutines started per thousand ops, and the
// latency quantiles of h.
func (m redisMeter) stop(b *testing.B, h *Hist) {
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Mallocs-m.mallocs0)/float64(b.N), "exact-allocs/op")
	b.ReportMetric(float64(ms.TotalAlloc-m.bytes0)/float64(b.N), "exact-B/op")
	reportGC(b, m.gc0)
	b.ReportMetric(float64(GoroutinesCreated()-m.started0)*1e3/float64(b.N), "gostarts/1kop")
	b.ReportMetric(float64(h.Quantile(0.50)), "p50-ns")
	b.ReportMetric(float64(h.Quantile(0.99)), "p99-ns")
}
