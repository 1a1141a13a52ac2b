package vtask_test

import (
	"context"
	"sync"
	"testing"

	"github.com/zerogc/zerogc/vtask"
)

// result is the payload every contender returns.
type result struct {
	n   int
	err error
}

func work(x int) (int, error) { return x + 1, nil }

// BenchmarkRoundTrip measures one operation: submit work to another
// goroutine, complete it there, and get the result back. The sub-benchmark
// names are stable; scripts read them.
//
//	vtask-sync       RunWith on Inline: the synchronous path, no goroutine
//	vtask-await      Rent a Completion, hand it to a persistent worker that
//	                 completes it (as an I/O callback would), Await it
//	vtask-await-ctx  the same with AwaitContext on a cancelable context
//	vtask-continue   the same with a continuation that hands the result back
//	vtask-runwith    RunWith on a one-worker WorkerPool, then Await
//	struct-sync      a plain function returning a struct: the lower bound
//	floor-worker     hand-written, as DESIGN.md defines the floor: a
//	                 persistent worker and a pooled operation (sync.Pool)
//	                 with a reused channel; no library
//	chan-worker      below the floor: a persistent worker and two reused
//	                 channels, with no operation object at all, so a
//	                 caller cannot have two operations in flight
//	go-chan          go + make(chan T, 1) per operation
//
// vtask-await and floor-worker do the same work with the same goroutines and
// the same number of channel operations; the difference is vtask's cost.
// They run one after the other, so that the machine's drift between them is
// small: their ratio is the figure the README quotes.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("struct-sync", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if r := syncStruct(i); r.n != i+1 {
				b.Fatal(r)
			}
		}
	})
	b.Run("vtask-sync", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if v, _ := vtask.RunWith(vtask.Inline, work, i).Await(); v != i+1 {
				b.Fatal(v)
			}
		}
	})
	b.Run("floor-worker", func(b *testing.B) {
		req := make(chan *floorOp, 1)
		go func() {
			for op := range req {
				op.r.n, op.r.err = work(op.x)
				op.done <- struct{}{}
			}
		}()
		defer close(req)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			op := floorOps.Get().(*floorOp)
			op.x = i
			req <- op
			<-op.done
			r := op.r
			op.r = result{}
			floorOps.Put(op)
			if r.n != i+1 {
				b.Fatal(r)
			}
		}
	})
	b.Run("vtask-await", func(b *testing.B) {
		req := startWorker()
		defer close(req)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c := vtask.Rent[int]()
			task := c.Task()
			req <- request{c, i}
			if v, _ := task.Await(); v != i+1 {
				b.Fatal(v)
			}
		}
	})
	b.Run("chan-worker", func(b *testing.B) {
		req, resp := make(chan int, 1), make(chan result, 1)
		go func() {
			for x := range req {
				n, err := work(x)
				resp <- result{n, err}
			}
		}()
		defer close(req)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req <- i
			if r := <-resp; r.n != i+1 {
				b.Fatal(r)
			}
		}
	})
	b.Run("vtask-await-ctx", func(b *testing.B) {
		req := startWorker()
		defer close(req)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c := vtask.Rent[int]()
			task := c.Task()
			req <- request{c, i}
			if v, _ := task.AwaitContext(ctx); v != i+1 {
				b.Fatal(v)
			}
		}
	})
	b.Run("vtask-continue", func(b *testing.B) {
		req := startWorker()
		defer close(req)
		h := &handback{ch: make(chan int, 1)}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c := vtask.Rent[int]()
			h.task = c.Task()
			if err := h.task.OnCompleted(handBack, h); err != nil {
				b.Fatal(err)
			}
			req <- request{c, i}
			if v := <-h.ch; v != i+1 {
				b.Fatal(v)
			}
		}
	})
	b.Run("vtask-runwith", func(b *testing.B) {
		wp := vtask.NewWorkerPool(1, 0)
		defer wp.Close()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if v, _ := vtask.RunWith(wp, work, i).Await(); v != i+1 {
				b.Fatal(v)
			}
		}
	})
	b.Run("go-chan", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ch := make(chan result, 1)
			go func(x int) {
				n, err := work(x)
				ch <- result{n, err}
			}(i)
			if r := <-ch; r.n != i+1 {
				b.Fatal(r)
			}
		}
	})
}

// floorOp is floor-worker's operation: what a careful hand-written program
// would pool to get results back from a worker without allocating. The
// worker writes the result into it and signals on its channel, which lives
// as long as the operation and is reused by every use of it.
type floorOp struct {
	x    int
	r    result
	done chan struct{}
}

var floorOps = sync.Pool{New: func() any { return &floorOp{done: make(chan struct{}, 1)} }}

// request is what the vtask benchmarks hand to their worker.
type request struct {
	c *vtask.Completion[int]
	x int
}

// startWorker starts the persistent goroutine of the vtask-await family: it
// does the work and completes the operation, as an I/O callback would.
func startWorker() chan<- request {
	req := make(chan request, 1)
	go func() {
		for r := range req {
			n, err := work(r.x)
			if err != nil {
				r.c.SetError(err)
				continue
			}
			r.c.SetResult(n)
		}
	}()
	return req
}

//go:noinline
func syncStruct(x int) result {
	n, err := work(x)
	return result{n, err}
}

// handback is the state of the vtask-continue benchmark's continuation.
type handback struct {
	task vtask.Task[int]
	ch   chan int
}

func handBack(arg any) {
	h := arg.(*handback)
	v, _ := h.task.Result()
	h.ch <- v
}
