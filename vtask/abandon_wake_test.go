//go:build !race && !go1.28

package vtask_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zerogc/zerogc/vtask"
)

// TestAbandonWakesTheWaiterItGaveUp stops the context watcher right after
// it has given a parked wait up, and in that window lets the completion
// consume the abandoned result and a second goroutine park on the next
// version of the same Core. The watcher must then wake the goroutine whose
// wait it gave up, not the one now parked on the Core: waking the latter
// leaves the first parked for ever and has the second return before its
// operation completed (and its completer's wake then lands on a goroutine
// that is blocked elsewhere, which the runtime reports as a fatal error).
func TestAbandonWakesTheWaiterItGaveUp(t *testing.T) {
	vtask.WatchEveryContext(t)
	var core vtask.Core[int]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type outcome struct {
		v   int
		err error
	}
	first := make(chan outcome, 1)
	second := make(chan outcome, 1)
	var once sync.Once
	vtask.SetAbandonHook(t, func() {
		once.Do(func() {
			// The first wait is given up: its completion consumes the
			// result and moves the Core to the next version.
			core.SetResult(1)
			task := core.Task()
			go func() {
				v, err := task.Await()
				second <- outcome{v, err}
			}()
			// Until the second goroutine is parked on the Core.
			deadline := time.Now().Add(5 * time.Second)
			for !vtask.WaiterParked(&core) {
				if time.Now().After(deadline) {
					t.Error("the second waiter never parked")
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	})
	task := core.Task()
	go func() {
		v, err := task.AwaitContext(ctx)
		first <- outcome{v, err}
	}()
	for !vtask.WaiterParked(&core) {
		time.Sleep(time.Millisecond)
	}
	cancel()

	select {
	case o := <-first:
		if !errors.Is(o.err, context.Canceled) {
			t.Fatalf("the abandoned wait returned %v, %v; want context.Canceled", o.v, o.err)
		}
	case o := <-second:
		t.Fatalf("the second wait returned %v, %v before its operation completed: the watcher woke it instead of the wait it gave up", o.v, o.err)
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned wait never returned")
	}
	select {
	case o := <-second:
		t.Fatalf("the second wait returned %v, %v before its operation completed", o.v, o.err)
	case <-time.After(50 * time.Millisecond):
	}
	core.SetResult(2)
	if o := <-second; o.err != nil || o.v != 2 {
		t.Fatalf("the second wait returned %v, %v; want 2, nil", o.v, o.err)
	}
}
