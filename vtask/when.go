package vtask

import (
	"sync/atomic"

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
	t := op.Task()
	// One count per task, plus one held by this loop, so that the
	// combined task cannot complete while we are still registering.
	op.pending.Store(int64(len(tasks)) + 1)
	for i := range op.tasks {
		if op.tasks[i].IsImmediate() || op.tasks[i].OnCompleted(whenAllStep, op) != nil {
			// Completed already, or not awaitable (stale, or someone
			// else's continuation): its Result tells which.
			op.step()
		}
	}
	op.step()
	return t
}

type whenAllOp[T any] struct {
	Core[[]T]
	tasks   []Task[T]
	results []T
	// pending counts the tasks not yet completed, plus one while WhenAll
	// registers. The step that brings it to zero collects every result.
	pending atomic.Int64
	pool    *pool.Pool[whenAllOp[T]]
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

func (op *whenAllOp[T]) step() {
	if op.pending.Add(-1) != 0 {
		return
	}
	var first error
	for i := range op.tasks {
		v, err := op.tasks[i].Result()
		op.results[i] = v
		if err != nil && first == nil {
			first = err
		}
	}
	clear(op.tasks) // drop the sources and values for the garbage collector
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
