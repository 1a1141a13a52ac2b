package vtask_test

import (
	"errors"
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

// recoverCall is the cheapest call of fn(x) that recovers a panic of fn,
// written by hand without vtask: one open-coded deferred closure that calls
// recover. It is the floor under runwith-inline that Go itself sets, since
// a deferred call is the only way to recover a panic (DESIGN.md semantic 9
// requires RunWith to recover one on Inline too).
//
//go:noinline
func recoverCall(fn func(int) (int, error), x int) (v int, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = 0, errRecovered
		}
	}()
	return fn(x)
}

var errRecovered = errors.New("recovered")

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
//	recover-floor     recoverCall(work, i): the same call and recovery
//	                  written by hand with no task, Go's floor for the row
//	                  above
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
	b.Run("recover-floor", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, err := recoverCall(work, i)
			sinkN += v
			if err != nil {
				sinkErr = err
			}
		}
	})
}
