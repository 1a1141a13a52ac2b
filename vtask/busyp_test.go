package vtask_test

import (
	"os"
	"sync/atomic"
	"testing"
)

// TestMain runs the package's tests and benchmarks. With
// VTASK_BENCH_BUSY_P=1 in the environment, one goroutine spins for the
// whole run, so that on two Ps a benchmark's goroutines never meet an idle
// P (whose thread the scheduler wakes to look for work at each goroutine
// made runnable): it tells the cost of an idle P apart from vtask's own
// (see "Targets not met" in docs/vtask.md). Off by default.
func TestMain(m *testing.M) {
	if os.Getenv("VTASK_BENCH_BUSY_P") != "1" {
		os.Exit(m.Run())
	}
	var stop atomic.Bool
	go func() {
		for !stop.Load() {
		}
	}()
	code := m.Run()
	stop.Store(true)
	os.Exit(code)
}
