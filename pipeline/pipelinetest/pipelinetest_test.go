package pipelinetest_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/pipeline/pipelinetest"
)

func TestWaitForSeesLateCondition(t *testing.T) {
	var done atomic.Bool
	time.AfterFunc(10*time.Millisecond, func() { done.Store(true) })
	pipelinetest.WaitFor(t, 2*time.Second, "never set", done.Load)
	if !done.Load() {
		t.Fatal("WaitFor returned before the condition held")
	}
}

func TestNoGoroutineGrowthWaitsForExit(t *testing.T) {
	before := runtime.NumGoroutine()
	stop := make(chan struct{})
	go func() { <-stop }()
	time.AfterFunc(20*time.Millisecond, func() { close(stop) })
	pipelinetest.NoGoroutineGrowth(t, before)
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("returned with %d goroutines, more than %d", n, before)
	}
}
