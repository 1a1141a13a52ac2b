package vtask

import (
	"runtime/debug"

	"github.com/zerogc/zerogc/pool"
)

// Run runs fn on exec and returns a task for its result: the generic
// operation with "a generic result type and the action as a lambda" that the
// seed's author asked for. With exec nil or Inline, fn runs now and the task
// carries its result. A panic in fn is recovered and delivered as a
// *PanicError. If fn calls runtime.Goexit (as t.FailNow does), the task
// completes with ErrGoexit, and a WorkerPool replaces the worker that
// ended. Goexit ends whichever goroutine runs fn: on Inline, or where the
// executor runs fn on the caller (a WorkerPool that is full or closed),
// that is the caller's, and Run does not return.
//
// fn is usually a closure, which the caller allocates; RunWith avoids that.
func Run[T any](exec Executor, fn func() (T, error)) Task[T] {
	if fn == nil {
		panic("vtask: Run called with a nil function")
	}
	if isInline(exec) {
		return taskOf(callSafely(callThunk[T], fn))
	}
	// A generic function value made here would be a closure allocated per
	// call, so the operation holds fn itself instead.
	op := runPool[T, struct{}]().Get()
	op.fn0 = fn
	t := op.Task()
	//zerogc:allow the caller's executor (WorkerPool.Execute is marked)
	exec.Execute(op.job, nil)
	return t
}

func callThunk[T any](fn func() (T, error)) (T, error) { return fn() }

// RunWith runs fn(state) on exec and returns a task for its result. Passing
// the state as an argument, rather than capturing it in a closure, lets a
// caller whose fn is a top-level function submit work without allocating:
// the operation is a pooled object that holds fn and state and returns to
// its pool when the result is consumed.
//
// With exec nil or Inline, fn runs now and the task carries its result. A
// panic in fn is recovered and delivered as a *PanicError; runtime.Goexit in
// fn is handled as in Run.
//
//zerogc:noalloc
func RunWith[T, S any](exec Executor, fn func(S) (T, error), state S) (t Task[T]) {
	if fn == nil {
		panic("vtask: RunWith called with a nil function")
	}
	if !isInline(exec) {
		return runOn(exec, fn, state)
	}
	// The synchronous path: callSafely, written out in this frame, which
	// saves a call.
	returned := false
	defer func() {
		if !returned {
			t = FromError[T](panicError(recover()))
		}
	}()
	//zerogc:allow runs the caller's function
	v, err := fn(state)
	returned = true
	return taskOf(v, err)
}

// panicError is the error of an operation whose function panicked with r.
func panicError(r any) error {
	//zerogc:allow only after the function panicked
	return &PanicError{Value: r, Stack: debug.Stack()}
}

// runOn is RunWith on an executor that does not run fn on the caller.
func runOn[T, S any](exec Executor, fn func(S) (T, error), state S) Task[T] {
	op := runPool[T, S]().Get()
	op.fn, op.state = fn, state
	t := op.Task()
	//zerogc:allow the caller's executor (WorkerPool.Execute is marked)
	exec.Execute(op.job, nil)
	return t
}

// isInline reports whether exec runs functions on the caller. It compares
// types, which is cheaper than comparing interface values.
func isInline(exec Executor) bool {
	if exec == nil {
		return true
	}
	_, ok := exec.(inlineExecutor)
	return ok
}

// runOp is the pooled operation behind RunWith.
type runOp[T, S any] struct {
	Core[T]
	fn    func(S) (T, error)
	fn0   func() (T, error) // set instead of fn by Run
	state S
	pool  *pool.Pool[runOp[T, S]]
	// job is op.run as the func(any) an Executor takes, made once per
	// op so that submitting allocates nothing and calls run directly.
	job func(any)
}

func runPool[T, S any]() *pool.Pool[runOp[T, S]] {
	if p := lookupPool[runOp[T, S]](); p != nil {
		return p
	}
	//zerogc:allow the pool of a (T, S) is created once, by its first RunWith
	return createPool(func(p *pool.Pool[runOp[T, S]]) *runOp[T, S] {
		op := &runOp[T, S]{pool: p}
		op.rec = op
		op.job = func(any) { op.run() }
		return op
	})
}

func (op *runOp[T, S]) run() {
	fn, fn0, st := op.fn, op.fn0, op.state
	var zero S
	op.fn, op.fn0, op.state = nil, nil, zero // the state is collectable once the operation ran
	// callSafely returns unless fn called runtime.Goexit: then the
	// goroutine ends after its deferred calls, and this one completes the
	// operation on the way, so the task does not stay pending for ever.
	// (A panic never gets here: callSafely recovers it, and returns.)
	returned := false
	defer func() {
		if !returned {
			var zero T
			op.completeOwned(zero, ErrGoexit)
		}
	}()
	var v T
	var err error
	if fn0 != nil {
		v, err = callSafely(callThunk[T], fn0)
	} else {
		v, err = callSafely(fn, st)
	}
	returned = true
	op.completeOwned(v, err)
}

func (op *runOp[T, S]) recycle() { op.pool.Put(op) }

// callSafely calls fn(st) and turns a panic into a *PanicError. If fn calls
// runtime.Goexit, callSafely does not return; runOp.run sees that.
func callSafely[T, S any](fn func(S) (T, error), st S) (v T, err error) {
	returned := false
	defer func() {
		if returned {
			return // the common case: skip the cost of recover
		}
		var zero T
		v, err = zero, panicError(recover())
	}()
	//zerogc:allow runs the caller's function
	v, err = fn(st)
	returned = true
	return v, err
}
