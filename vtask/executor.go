package vtask

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Executor runs functions, for continuations and for Run and RunWith.
// Execute must eventually call fn(arg) exactly once.
type Executor interface {
	Execute(fn func(any), arg any)
}

type inlineExecutor struct{}

func (inlineExecutor) Execute(fn func(any), arg any) { fn(arg) }

// Inline is the Executor that calls fn on the goroutine that calls Execute.
// Run and RunWith given Inline (or nil) run their function at once and
// return a completed task: the synchronous path, which touches no pool.
var Inline Executor = inlineExecutor{}

// WorkerPool is an Executor with a fixed number of worker goroutines and a
// bounded queue. Execute does not allocate.
//
// When the queue is full, Execute runs fn on the calling goroutine (the
// caller-runs policy): submitters are slowed down to the pace of the
// workers, the queue never grows, and a worker that submits to its own full
// pool cannot deadlock. After Close, Execute also runs fn on the caller.
//
// A panic in fn is not recovered, as in a goroutine started with go; Run and
// RunWith recover their function's panics themselves.
type WorkerPool struct {
	jobs chan job

	// closed is set by Close before it closes jobs. Execute checks it to
	// avoid sending on a closed channel; a send that races with Close
	// anyway panics inside trySend, is recovered there, and the job runs
	// on the caller. A send that succeeds before the close is run by a
	// worker, since workers drain the channel before they exit. So every
	// job runs exactly once, and Execute needs no read-modify-write.
	closed atomic.Bool

	closeOnce sync.Once
	done      sync.WaitGroup
}

type job struct {
	fn  func(any)
	arg any
}

// NewWorkerPool starts a pool of workers goroutines with a queue of queue
// jobs. workers <= 0 selects GOMAXPROCS; queue <= 0 selects 64 per worker.
func NewWorkerPool(workers, queue int) *WorkerPool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if queue <= 0 {
		queue = 64 * workers
	}
	w := &WorkerPool{jobs: make(chan job, queue)}
	for range workers {
		w.done.Go(w.work)
	}
	return w
}

func (w *WorkerPool) work() {
	for j := range w.jobs {
		j.fn(j.arg)
	}
}

// Execute queues fn(arg) for a worker, or runs it on the caller if the
// queue is full or the pool is closed.
//
//zerogc:noalloc
func (w *WorkerPool) Execute(fn func(any), arg any) {
	if w.closed.Load() || !w.trySend(job{fn, arg}) {
		//zerogc:allow runs the caller's job on the caller when the queue is full
		fn(arg)
	}
}

// trySend queues j without blocking and reports whether it did.
func (w *WorkerPool) trySend(j job) (sent bool) {
	done := false
	defer func() {
		if !done {
			recover() // jobs was closed after our check of closed
			sent = false
		}
	}()
	select {
	case w.jobs <- j:
		sent = true
	default:
	}
	done = true
	return sent
}

// Close stops the pool after the queued jobs have run, and waits for the
// workers to exit. Close is idempotent. It must not be called from a job of
// the same pool.
func (w *WorkerPool) Close() {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		close(w.jobs)
	})
	w.done.Wait()
}
