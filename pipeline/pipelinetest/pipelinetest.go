// Package pipelinetest has the checks that tests of pipelined clients
// share: waiting for a condition that concurrent goroutines bring about
// (sources returning to their pools after abandoned replies arrive), and
// proving that no goroutine was left behind.
package pipelinetest

import (
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// WaitFor polls cond every millisecond until it holds, and fails tb with
// what if it still does not after d.
func WaitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// NoGoroutineGrowth waits up to 2 s for the number of goroutines to come
// back to before (a context's timer runs its cancel on a goroutine of its
// own for a moment), and fails tb with a dump of every goroutine if it
// does not.
func NoGoroutineGrowth(tb testing.TB, before int) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			var b strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			tb.Fatalf("goroutines grew from %d to %d:\n%s", before, runtime.NumGoroutine(), b.String())
		}
		time.Sleep(time.Millisecond)
	}
}
