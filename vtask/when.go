package vtask

import (
	"sync/atomic"
	"unsafe"

	"github.com/zerogc/zerogc/pool"
)

// WhenAll returns a task that completes when every task in tasks has
// completed. Its value is results, holding at index i the value of tasks[i];
// its error is the first error among tasks, by index, or nil. WhenAll takes
// over the tasks: it consumes each result, so their sources return to their
// pools; the caller must not use the tasks afterwards.
//
// If results has room for len(tasks) values, WhenAll writes into it and,
// its combining operation being pooled, allocates nothing in steady state;
// otherwise it allocates a new slice.
//
// WhenAll does not register a continuation on every task. It sweeps the
// tasks in order, consuming each one that has completed, and registers one
// continuation at a time: first on the last task, then on the first task
// the sweep finds pending. That continuation resumes the sweep. Tasks that
// complete in about the order they were started (a fan-out over a queue, a
// pipelined connection's replies) are then consumed with one atomic
// operation each, and the combined task is woken once, when the sweep
// reaches the end.
//
//zerogc:noalloc
func WhenAll[T any](tasks []Task[T], results []T) Task[[]T] {
	if cap(results) < len(tasks) {
		//zerogc:allow only when the caller's results buffer is too small: pass one with capacity
		results = make([]T, len(tasks))
	}
	results = results[:len(tasks)]
	if len(tasks) == 0 {
		return FromResult(results)
	}
	op := whenAllPool[T]().Get()
	//zerogc:allow the pooled op keeps its tasks slice: it grows only until it has held the largest batch
	op.tasks = append(op.tasks[:0], tasks...)
	op.results = results
	op.next, op.armed, op.early, op.triedLast, op.leftover = 0, -1, -1, false, false
	t := op.Task()
	// This call holds the first turn (see turns).
	op.turns.Store(1)
	op.run()
	return t
}

type whenAllOp[T any] struct {
	Core[[]T]
	tasks   []Task[T]
	results []T

	// The sweep's state, read and written only by the goroutine that holds
	// the turn (see turns): next is the index of the first task not yet
	// consumed, armed the index of the task whose continuation is
	// registered and has not been taken as a turn yet (-1 if none), and
	// triedLast whether the sweep has tried to wait on the last task.
	next      int
	armed     int
	early     int // the one task consumed ahead of next (the last), or -1
	triedLast bool
	// leftover tells whether a task may be left with a non-nil ref for
	// finish: an error, or a task the sweep could not await. Without
	// one, finish does not look at the tasks again.
	leftover bool

	// turns counts the sweeps asked for and not yet finished: WhenAll's
	// own, and one per firing of the registered continuation. Only the
	// goroutine that brings it from 0 to 1 (or WhenAll, which starts it at
	// 1) sweeps; a continuation that finds a sweep running leaves its turn
	// to it, so that sweeps never run at once or recurse. The atomic
	// operations on turns order one sweeper's writes of the state above
	// before the next one's reads.
	turns atomic.Int64

	pool *pool.Pool[whenAllOp[T]]
}

func whenAllPool[T any]() *pool.Pool[whenAllOp[T]] {
	if p := lookupPool[whenAllOp[T]](); p != nil {
		return p
	}
	//zerogc:allow the pool of a T is created once, by its first WhenAll
	return createPool(func(p *pool.Pool[whenAllOp[T]]) *whenAllOp[T] {
		op := &whenAllOp[T]{pool: p}
		op.rec = op
		return op
	})
}

type stepper interface{ step() }

func whenAllStep(arg any) { arg.(stepper).step() }

// step is the continuation of the armed task: it takes a turn, and sweeps
// unless another goroutine is sweeping (which then sweeps again for it).
func (op *whenAllOp[T]) step() {
	if op.turns.Add(1) != 1 {
		return
	}
	op.run()
}

// run sweeps for the turn the caller holds, and for every turn taken while
// it swept. It returns once no turn is left, or once the sweep has
// completed op: then no continuation is registered and no turn is
// outstanding, and op is not touched again (its holder may recycle it).
func (op *whenAllOp[T]) run() {
	for {
		if op.sweep() {
			return
		}
		if op.turns.Add(-1) == 0 {
			return
		}
	}
}

// sweep consumes the completed tasks from next on, and registers the
// continuation on a pending one; it reports true if it reached the end and
// completed op. The caller holds the turn.
func (op *whenAllOp[T]) sweep() bool {
	if a := op.armed; a >= 0 {
		// This turn is the firing of the armed task's continuation:
		// the task has completed.
		op.armed = -1
		op.consume(a)
		if a == op.next {
			op.next++
		} else {
			op.early = a // consumed ahead of the sweep: skip it there
		}
	}
	// held gathers the Completions the sweep consumed, returned to their
	// pool in batches (one pin of the P per batch, see pool.PutBatch), and
	// always before the sweep returns.
	var held [heldBatch]*Completion[T]
	nheld := 0
	var home *pool.Pool[Completion[T]]
	// The loop keeps next, tasks and results in locals (a store through
	// op would make the compiler reload them); next is stored back before
	// anything that may read it (registering, returning).
	tasks, results := op.tasks, op.results
	n := len(tasks)
	next := op.next
	for next < n {
		i := next
		if i == op.early {
			next++
			continue
		}
		if t := &tasks[i]; t.ref == nil {
			// Immediate: it carries its value.
			op.consume(i)
			next++
			continue
		} else if c, ok := t.ref.(*Core[T]); ok {
			// A Core's task, the common case, without Task's
			// dispatch on its ref: consume it if it has completed.
			// The claim is Result's, for a version that completed
			// with a value and that nobody registered on (a
			// fan-out's task): one CAS from exactly that state, with
			// no load before it. The completer's core wrote the
			// word last; a load would fetch its line shared and the
			// CAS fetch it again for ownership, two transfers
			// between cores instead of one. Any other state (an
			// error, a registrar, another version) fails the CAS
			// and takes the general path below.
			// (The token is checked whole, as everywhere: one with
			// bits above the version's width is never current.)
			if tok := t.token; tok <= versionMask && c.state.CompareAndSwap(
				tok<<versionShift|flagCompleting|flagCompleted, ((tok+1)&versionMask)<<versionShift) {
				src := c.home
				if src == nil {
					// Not a Completion: the rest of Result.
					v, err := c.take()
					results[i] = v
					t.ref = err // nil: see below
					if err != nil {
						op.leftover = true
					}
					next++
					continue
				}
				// The rest of Result, for a Completion returned
				// below in a batch. There is no error to read:
				// the state had neither flagFailed nor
				// flagCanceled, and every completion path sets
				// one of them for a non-nil error (doneFlags;
				// TestWhenAllLargeBatches fails one task per
				// few rounds). There is no continuation to
				// clear: flagClaimed was clear, and every path
				// that ends a version clears fn and arg.
				results[i] = c.value
				c.value = *new(T)
				// Only ref is read again (by finish); the value
				// of a Core's task is zero, and its error nil.
				t.ref = nil
				if c.exec != nil {
					c.exec = nil // as Rent promises
				}
				next++
				if src != home || nheld == len(held) {
					if nheld > 0 {
						home.PutBatch(held[:nheld])
						nheld = 0
					}
					home = src
				}
				held[nheld] = (*Completion[T])(unsafe.Pointer(c))
				nheld++
				continue
			}
			if s := c.state.Load(); versionOf(s) != t.token || s&(flagCompleted|flagAbandoned) != 0 {
				v, err := c.Result(t.token)
				results[i] = v
				*t = Task[T]{ref: err}
				if err != nil {
					op.leftover = true
				}
				next++
				continue
			}
		} else if t.IsCompleted() {
			op.consume(i)
			next++
			continue
		}
		op.next = next
		if nheld > 0 {
			home.PutBatch(held[:nheld])
			nheld = 0
		}
		target := i
		if !op.triedLast {
			// Wait for the last task first: where tasks complete
			// about in order, the others are done by then, and the
			// sweep consumes them without waiting again.
			op.triedLast = true
			if !tasks[n-1].IsCompleted() {
				target = n - 1
			}
		}
		op.armed = target // before registering: the continuation may fire at once
		if tasks[target].OnCompleted(whenAllStep, op) == nil {
			return false
		}
		op.armed = -1
		if target == i {
			// Not awaitable (stale, awaited, or someone else's
			// continuation): leave it for finish, whose Result
			// tells why.
			op.leftover = true
			next++
		}
	}
	op.next = next
	if nheld > 0 {
		home.PutBatch(held[:nheld])
	}
	op.finish()
	return true
}

// heldBatch is the most Completions a sweep holds before it returns them to
// their pool at once (512 bytes of the sweep's frame). Measured with
// scripts/callgrind-roundtrip.sh 'FanOut/vtask-Completion$', instructions
// per batch of 1,000: 616,582 at 16, 608,368 at 64, 607,555 at 128.
const heldBatch = 64

// consume reads the result of completed task i into results and leaves in
// its place a task that carries nothing but its error.
func (op *whenAllOp[T]) consume(i int) {
	t := &op.tasks[i]
	if t.ref == nil {
		op.results[i] = t.value
		t.value = *new(T)
		return
	}
	v, err := t.Result()
	op.results[i] = v
	*t = Task[T]{ref: err} // nil for no error: the zero Task
	if err != nil {
		op.leftover = true
	}
}

// finish collects the errors, and the results of the tasks that could not
// be awaited, and completes op.
func (op *whenAllOp[T]) finish() {
	var first error
	if !op.leftover {
		// Every task was consumed without an error, and left as a
		// zero ref: nothing to collect or drop.
		results := op.results
		op.results = nil
		op.completeOwned(results, nil)
		return
	}
	for i := range op.tasks {
		t := &op.tasks[i]
		if t.ref == nil {
			continue
		}
		v, err := t.Result()
		if !t.IsImmediate() {
			op.results[i] = v
		}
		if err != nil && first == nil {
			first = err
		}
		*t = Task[T]{} // drop the error or source for the garbage collector
	}
	results := op.results
	op.results = nil
	op.completeOwned(results, first)
}

func (op *whenAllOp[T]) recycle() { op.pool.Put(op) }

// Indexed is the value of a WhenAny task: the index of the first task to
// complete, and its value.
type Indexed[T any] struct {
	Index int
	Value T
}

// WhenAny returns a task that completes when the first of tasks completes,
// with that task's index and value, and its error. WhenAny takes over the
// tasks: the others' results are consumed, and discarded, as they complete,
// so every source returns to its pool. WhenAny of no tasks fails with
// ErrNoTasks. Its combining operation is pooled: steady-state use allocates
// nothing.
func WhenAny[T any](tasks []Task[T]) Task[Indexed[T]] {
	if len(tasks) == 0 {
		return FromError[Indexed[T]](ErrNoTasks)
	}
	op := whenAnyPool[T]().Get()
	n := len(tasks)
	if cap(op.slots) < n {
		op.slots = make([]anySlot[T], n)
	}
	op.slots = op.slots[:n]
	for i := range op.slots {
		op.slots[i] = anySlot[T]{op: op, index: i, task: tasks[i]}
	}
	op.won.Store(false)
	// One reference per task and one for the consumer of the combined
	// result; the last to let go returns op to its pool.
	op.refs.Store(int64(n) + 1)
	t := op.Task()
	for i := range op.slots {
		s := &op.slots[i]
		if s.task.IsImmediate() || s.task.OnCompleted(whenAllStep, s) != nil {
			s.step()
		}
	}
	return t
}

type whenAnyOp[T any] struct {
	Core[Indexed[T]]
	slots []anySlot[T]
	// won is set by the first slot to complete, which completes op.
	won atomic.Bool
	// refs counts the slots yet to complete, plus one until op's own
	// result is consumed. op returns to its pool when it reaches zero,
	// not before: a late slot still touches op.
	refs atomic.Int64
	pool *pool.Pool[whenAnyOp[T]]
}

type anySlot[T any] struct {
	op    *whenAnyOp[T]
	index int
	task  Task[T]
}

func whenAnyPool[T any]() *pool.Pool[whenAnyOp[T]] {
	if p := lookupPool[whenAnyOp[T]](); p != nil {
		return p
	}
	return createPool(func(p *pool.Pool[whenAnyOp[T]]) *whenAnyOp[T] {
		op := &whenAnyOp[T]{pool: p}
		op.rec = op
		return op
	})
}

func (s *anySlot[T]) step() {
	op := s.op
	v, err := s.task.Result()
	s.task = Task[T]{}
	if op.won.CompareAndSwap(false, true) {
		op.completeOwned(Indexed[T]{Index: s.index, Value: v}, err)
	}
	op.unref()
}

func (op *whenAnyOp[T]) recycle() { op.unref() }

func (op *whenAnyOp[T]) unref() {
	if op.refs.Add(-1) == 0 {
		clear(op.slots)
		op.pool.Put(op)
	}
}
