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
// pool cannot deadlock.
//
// Execute may be called at any time, also while or after Close runs: a job
// that Execute queued before Close began is run by a worker before Close
// returns, and any other job runs on the calling goroutine before Execute
// returns. No job is dropped and none runs twice, so a task of Run or
// RunWith always completes.
//
// A panic in fn is not recovered, as in a goroutine started with go; Run and
// RunWith recover their function's panics themselves. A job that calls
// runtime.Goexit ends its worker's goroutine; the pool starts another in its
// place, so it keeps its number of workers. (A job run on the caller ends
// the caller's goroutine.)
type WorkerPool struct {
	jobs chan job

	// senders packs closedBit, set once by Close, with the number of
	// Executes that are between their check of closedBit and the end of
	// their send on jobs. It is what makes Execute and Close never touch
	// jobs at once (a send racing close is a panic, and a data race):
	//
	//   - Execute enters by a CAS that adds one sender only while
	//     closedBit is clear; seeing closedBit, it runs the job on its
	//     own goroutine instead;
	//   - once closedBit is set, the count can only go down: the
	//     goroutine that sees it reach zero with closedBit set (Close,
	//     or the last Execute to leave) closes jobs, exactly once.
	//
	// A send that succeeded before the close is run by a worker, since
	// workers drain jobs before they exit, so every job runs exactly once.
	senders atomic.Uint64

	closeOnce sync.Once
	done      sync.WaitGroup
}

// closedBit is the bit of WorkerPool.senders that Close sets.
const closedBit = 1 << 63

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

// work is a worker: it runs jobs until jobs is closed and drained. If a job
// ends the goroutine with runtime.Goexit, work starts its successor (a
// panic ends the process anyway).
func (w *WorkerPool) work() {
	drained := false
	defer func() {
		if !drained {
			w.done.Go(w.work) // our own Done comes after: done never reaches zero meanwhile
		}
	}()
	for j := range w.jobs {
		j.fn(j.arg)
	}
	drained = true
}

// Execute queues fn(arg) for a worker, or runs it on the caller if the
// queue is full or the pool is closed (see WorkerPool).
//
//zerogc:noalloc
func (w *WorkerPool) Execute(fn func(any), arg any) {
	// Enter as a sender, unless Close has begun. Invariant of the CAS:
	// the count goes up only while closedBit is clear.
	for {
		s := w.senders.Load()
		if s&closedBit != 0 {
			//zerogc:allow runs the caller's job on the caller once the pool is closed
			fn(arg)
			return
		}
		if w.senders.CompareAndSwap(s, s+1) {
			break
		}
	}
	sent := true
	select {
	case w.jobs <- job{fn, arg}:
	default:
		sent = false
	}
	if w.senders.Add(^uint64(0)) == closedBit {
		close(w.jobs) // the last sender out after Close began
	}
	if !sent {
		//zerogc:allow runs the caller's job on the caller when the queue is full
		fn(arg)
	}
}

// Close stops the pool after the queued jobs have run, and waits for the
// workers to exit. Close is idempotent. It must not be called from a job of
// the same pool.
func (w *WorkerPool) Close() {
	w.closeOnce.Do(func() {
		if w.senders.Or(closedBit) == 0 {
			close(w.jobs) // no sender in flight; else the last one closes
		}
	})
	w.done.Wait()
}
