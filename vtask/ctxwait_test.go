package vtask_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/vtask"
)

// Where goroutines park (see park.go), AwaitContext on a context that can
// end parks too, and learns of the context's end from one AfterFunc per
// context (ctxwait.go); elsewhere it selects on the Core's channel. These
// tests hold on both paths; the first two only where goroutines park.

func TestSemantic8_AwaitContextParksWithoutAChannel(t *testing.T) {
	if !vtask.Parking() {
		t.Skip("under -race, AwaitContext waits on the Core's channel")
	}
	vtask.WatchEveryContext(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var core vtask.Core[int]
	for i := range 3 {
		task := core.Task()
		go func() { time.Sleep(time.Millisecond); core.SetResult(i) }()
		if v, err := task.AwaitContext(ctx); v != i || err != nil {
			t.Fatalf("AwaitContext = %v, %v; want %d, nil", v, err, i)
		}
	}
	if core.WaitChan() != nil {
		t.Fatal("a parking AwaitContext made a wait channel")
	}
}

// The context ends while the goroutine is parked: the watcher gives the wait
// up and wakes it, and the later completion recycles the source.
func TestSemantic8_ParkedAwaitContextIsWokenByTheContext(t *testing.T) {
	vtask.WatchEveryContext(t)
	type unique8c struct{ n int }
	p := vtask.DebugCompletions[unique8c]()
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		c := vtask.Rent[unique8c]()
		task := c.Task()
		got := make(chan error, 1)
		go func() {
			_, err := task.AwaitContext(ctx)
			got <- err
		}()
		waitForWaiter(t, &c.Core)
		cancel()
		if err := <-got; !errors.Is(err, context.Canceled) {
			t.Fatalf("AwaitContext after cancel: %v, want context.Canceled", err)
		}
		if _, err := task.Result(); !errors.Is(err, vtask.ErrStale) {
			t.Fatalf("Result after the wait was given up: %v, want ErrStale", err)
		}
		c.SetResult(unique8c{1}) // consumed by the completion itself
	}
	if err := p.CheckLeaks(); err != nil {
		t.Fatalf("sources not returned: %v", err)
	}
}

// TestStressAwaitContextCancelRace races completions against the end of
// the contexts waited on: many waits share each context, and more contexts
// than the watcher table has entries are alive at once, so that watchers
// are evicted while waits use them. Every wait must get its own result or
// its context's error, and every source must come back to its pool once
// (the debug pool panics on a double return).
func TestStressAwaitContextCancelRace(t *testing.T) {
	t.Run("every-context-watched", func(t *testing.T) {
		vtask.WatchEveryContext(t)
		stressAwaitContextCancelRace(t)
	})
	// By default a context's first waits take the channel path: the
	// shared contexts below get watchers, a request's own do not.
	t.Run("default", stressAwaitContextCancelRace)
}

func stressAwaitContextCancelRace(t *testing.T) {
	type unique struct{ n int64 }
	p := vtask.DebugCompletions[unique]()
	ops := 40_000
	if testing.Short() {
		ops = 5_000
	}
	const contexts = 200 // more than the watcher table's entries
	type shared struct {
		ctx    context.Context
		cancel context.CancelFunc
	}
	var mu sync.Mutex
	ctxs := make([]shared, contexts)
	for i := range ctxs {
		ctxs[i].ctx, ctxs[i].cancel = context.WithCancel(context.Background())
	}
	var next, wrong, abandoned atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(ops) {
					return
				}
				k := rand.IntN(contexts)
				mu.Lock()
				ctx := ctxs[k].ctx
				if rand.IntN(16) == 0 { // end this context and start another
					ctxs[k].cancel()
					ctxs[k].ctx, ctxs[k].cancel = context.WithCancel(context.Background())
				}
				mu.Unlock()
				cancelOwn := func() {}
				if n%2 == 0 { // a context of its own, as a request has
					ctx, cancelOwn = context.WithCancel(context.Background())
				}
				c := vtask.Rent[unique]()
				task := c.Task()
				spin := rand.IntN(200)
				go func() {
					for range spin {
						spinSink.Add(1)
					}
					if spin%3 == 0 {
						runtime.Gosched()
					}
					c.SetResult(unique{n})
				}()
				v, err := task.AwaitContext(ctx)
				cancelOwn()
				switch {
				case errors.Is(err, context.Canceled) && ctx.Err() != nil:
					abandoned.Add(1)
				case err != nil || v.n != n:
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i := range ctxs {
		ctxs[i].cancel()
	}
	if wrong.Load() != 0 {
		t.Fatalf("%d waits got a wrong result", wrong.Load())
	}
	t.Logf("%d of %d waits given up", abandoned.Load(), ops)
	deadline := time.Now().Add(10 * time.Second)
	for len(p.Outstanding()) != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := p.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
}
