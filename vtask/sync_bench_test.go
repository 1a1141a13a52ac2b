package vtask_test

import (
	"testing"

	"github.com/zerogc/zerogc/vtask"
)

// Sinks that the synchronous benchmarks add their results to, so that the
// compiler cannot delete the work.
var (
	sinkN   int
	sinkErr error
)

// plainCall is the baseline of BenchmarkSync: a function, not inlined,
// returning (T, error).
//
//go:noinline
func plainCall(x int) (int, error) { return x + 1, nil }

// taskCall is plainCall returning a Task that carries its result: what a
// function returns when its operation completed synchronously (a cached
// read, a buffered reply).
//
//go:noinline
func taskCall(x int) vtask.Task[int] { return vtask.FromResult(x + 1) }

// BenchmarkSync measures the synchronous path: a task that carries its
// result, read at once. Each row is compared with plain, in the same run.
// The sub-benchmark names are stable; scripts read them.
//
//	plain             plainCall(i): a function returning (int, error)
//	fromresult-await  taskCall(i).Await(): the same function returning
//	                  FromResult, awaited
//	fromresult-result taskCall(i).Result()
//	runwith-inline    RunWith(Inline, work, i).Await(): work run now, its
//	                  panic recovered, the task awaited
func BenchmarkSync(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, err := plainCall(i)
			sinkN += v
			if err != nil {
				sinkErr = err
			}
		}
	})
	b.Run("fromresult-await", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, err := taskCall(i).Await()
			sinkN += v
			if err != nil {
				sinkErr = err
			}
		}
	})
	b.Run("fromresult-result", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, err := taskCall(i).Result()
			sinkN += v
			if err != nil {
				sinkErr = err
			}
		}
	})
	b.Run("runwith-inline", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, err := vtask.RunWith(vtask.Inline, work, i).Await()
			sinkN += v
			if err != nil {
				sinkErr = err
			}
		}
	})
}
