//go:build !race

package vtask_test

import (
	"context"
	"testing"

	"github.com/zerogc/zerogc/vtask"
)

// These tests prove that the hot paths allocate nothing per operation in
// steady state. They are built without -race: the race detector's
// instrumentation allocates.

func addOne(x int) (int, error) { return x + 1, nil }

func assertNoAllocs(t *testing.T, what string, f func()) {
	t.Helper()
	for range 100 { // fill the pools and the wait channels first
		f()
	}
	if n := testing.AllocsPerRun(1000, f); n != 0 {
		t.Fatalf("%s: %v allocations per operation, want 0", what, n)
	}
}

func TestAllocsSynchronousPath(t *testing.T) {
	assertNoAllocs(t, "FromResult + Await", func() {
		if v, err := vtask.FromResult(1).Await(); v != 1 || err != nil {
			t.Fatal(v, err)
		}
	})
	assertNoAllocs(t, "RunWith(Inline) + Await", func() {
		if v, err := vtask.RunWith(vtask.Inline, addOne, 1).Await(); v != 2 || err != nil {
			t.Fatal(v, err)
		}
	})
}

// completer completes pooled completions on a goroutine of its own.
func startCompleter(t *testing.T) chan<- *vtask.Completion[int] {
	ch := make(chan *vtask.Completion[int], 1)
	go func() {
		for c := range ch {
			c.SetResult(7)
		}
	}()
	t.Cleanup(func() { close(ch) })
	return ch
}

func TestAllocsAwaitCompletedByAnotherGoroutine(t *testing.T) {
	ch := startCompleter(t)
	assertNoAllocs(t, "Rent + Await", func() {
		c := vtask.Rent[int]()
		task := c.Task()
		ch <- c
		if v, err := task.Await(); v != 7 || err != nil {
			t.Fatal(v, err)
		}
	})
}

func TestAllocsAwaitContext(t *testing.T) {
	ch := startCompleter(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	assertNoAllocs(t, "Rent + AwaitContext", func() {
		c := vtask.Rent[int]()
		task := c.Task()
		ch <- c
		if v, err := task.AwaitContext(ctx); v != 7 || err != nil {
			t.Fatal(v, err)
		}
	})
}

type contState struct {
	task vtask.Task[int]
	got  int
}

func consume(arg any) {
	s := arg.(*contState)
	s.got, _ = s.task.Result()
}

func TestAllocsInlineContinuation(t *testing.T) {
	s := &contState{}
	assertNoAllocs(t, "OnCompleted + SetResult", func() {
		c := vtask.Rent[int]()
		s.task = c.Task()
		if err := s.task.OnCompleted(consume, s); err != nil {
			t.Fatal(err)
		}
		c.SetResult(3)
		if s.got != 3 {
			t.Fatal(s.got)
		}
	})
}

func TestAllocsRunWithOnWorkerPool(t *testing.T) {
	wp := vtask.NewWorkerPool(1, 0)
	defer wp.Close()
	assertNoAllocs(t, "RunWith(WorkerPool) + Await", func() {
		if v, err := vtask.RunWith(wp, addOne, 1).Await(); v != 2 || err != nil {
			t.Fatal(v, err)
		}
	})
	assertNoAllocs(t, "Run(WorkerPool, static closure) + Await", func() {
		if v, err := vtask.Run(wp, func() (int, error) { return 5, nil }).Await(); v != 5 || err != nil {
			t.Fatal(v, err)
		}
	})
}

func TestAllocsWhenAllAndWhenAny(t *testing.T) {
	wp := vtask.NewWorkerPool(2, 0)
	defer wp.Close()
	tasks := make([]vtask.Task[int], 64)
	results := make([]int, 64)
	assertNoAllocs(t, "WhenAll of 64", func() {
		for i := range tasks {
			tasks[i] = vtask.RunWith(wp, addOne, i)
		}
		if _, err := vtask.WhenAll(tasks, results).Await(); err != nil {
			t.Fatal(err)
		}
	})
	assertNoAllocs(t, "WhenAny of 4", func() {
		for i := range 4 {
			tasks[i] = vtask.RunWith(wp, addOne, i)
		}
		if _, err := vtask.WhenAny(tasks[:4]).Await(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAllocsAwaitContextOnAFreshContext is a service's case: every request
// has a context of its own, awaited a few times. Such waits must allocate
// nothing either (DESIGN.md semantic 8), not only waits that share one
// long-lived context.
func TestAllocsAwaitContextOnAFreshContext(t *testing.T) {
	ch := startCompleter(t)
	const waitsPerContext = 3
	ctxs := make([]context.Context, 0, 1200)
	for range cap(ctxs) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		ctxs = append(ctxs, ctx)
	}
	i := 0
	assertNoAllocs(t, "Rent + AwaitContext, a new context every few waits", func() {
		ctx := ctxs[(i/waitsPerContext)%len(ctxs)]
		i++
		c := vtask.Rent[int]()
		task := c.Task()
		ch <- c
		if v, err := task.AwaitContext(ctx); v != 7 || err != nil {
			t.Fatal(v, err)
		}
	})
}

// TestAllocsRentBatchFanOut rents 1,000 Completions with RentBatch, has
// another goroutine complete them, and joins them with WhenAll: the shape
// of a fan-out driven from a library's event loop. Each value must arrive
// at its index, with no allocation per batch.
func TestAllocsRentBatchFanOut(t *testing.T) {
	const n = 1000
	jobs := make(chan *vtask.Completion[int], n)
	defer close(jobs)
	go func() {
		i := 0
		for c := range jobs {
			c.SetResult(i % n)
			i++
		}
	}()
	cs := make([]*vtask.Completion[int], n)
	tasks := make([]vtask.Task[int], n)
	results := make([]int, n)
	fanOut := func() {
		vtask.RentBatch(cs)
		for i, c := range cs {
			tasks[i] = c.Task()
			cs[i] = nil
			jobs <- c
		}
		got, err := vtask.WhenAll(tasks, results).Await()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("results[%d] = %d", i, v)
			}
		}
	}
	for range 20 {
		fanOut()
	}
	if a := testing.AllocsPerRun(50, fanOut); a != 0 {
		t.Fatalf("RentBatch + WhenAll of %d: %v allocations per batch, want 0", n, a)
	}
}
