package vtask_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/zerogc/zerogc/vtask"
)

type heavyState struct{ payload [1 << 16]byte }

func touch(arg any) { arg.(*heavyState).payload[0]++ }

// TestContinuationStateIsCollectableAfterItRan registers a continuation
// whose state only the source references, completes the operation, and
// checks that the garbage collector reclaims the state although the source
// (and its unconsumed result) are still alive.
func TestContinuationStateIsCollectableAfterItRan(t *testing.T) {
	for _, consumeIt := range []bool{false, true} {
		var core vtask.Core[int]
		collected := make(chan struct{})
		func() {
			st := new(heavyState)
			runtime.AddCleanup(st, func(ch chan struct{}) { close(ch) }, collected)
			task := core.Task()
			if err := task.OnCompleted(touch, st); err != nil {
				t.Fatal(err)
			}
			core.SetResult(1)
			if consumeIt {
				task.Result()
			}
		}()
		deadline := time.Now().Add(10 * time.Second)
	wait:
		for {
			runtime.GC()
			select {
			case <-collected:
				break wait
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("consumed=%v: the continuation's state was never collected: the source keeps it alive", consumeIt)
			}
		}
		runtime.KeepAlive(&core)
	}
}

// TestRunWithStateIsCollectableAfterItRan does the same for RunWith's state.
func TestRunWithStateIsCollectableAfterItRan(t *testing.T) {
	wp := vtask.NewWorkerPool(1, 0)
	defer wp.Close()
	collected := make(chan struct{})
	var task vtask.Task[int]
	func() {
		st := new(heavyState)
		runtime.AddCleanup(st, func(ch chan struct{}) { close(ch) }, collected)
		task = vtask.RunWith(wp, func(s *heavyState) (int, error) { return int(s.payload[0]), nil }, st)
	}()
	for !task.IsCompleted() {
		time.Sleep(time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-collected:
			task.Result()
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("RunWith's state was never collected although its operation ran (result not yet consumed)")
		}
	}
}
