package vtask

import "context"

// Task is the handle of an asynchronous operation's result, returned by
// value. It either carries its result (a synchronous completion, which
// allocates nothing) or refers to a Source with the version token the
// operation was handed out with (an asynchronous completion, whose source
// is pooled and reused).
//
// A Task with a source is consumed once: Await, AwaitContext or a
// completed Result consumes it, and the source moves to its next version
// and returns to its pool. Using the Task (or a copy of it) again then fails
// with ErrStale. To await a result more than once, convert the task with
// Preserve first.
//
// A Task that carries its result (IsImmediate: the zero Task, FromResult,
// FromError, and Run or RunWith on Inline) has nothing to consume or
// recycle: it and its copies may be read, awaited and given continuations
// any number of times, and give the same result each time.
//
// The zero Task is a completed task with the zero value of T.
type Task[T any] struct {
	// ref is what the task refers to, in one interface word pair, so
	// that a Task[T] of a one-word T is four words: small enough for the
	// compiler to keep it in registers (it keeps no struct of more than
	// four words there), so that a task returned and awaited at once
	// costs about what a return of (T, error) does. ref holds one of:
	//
	//   - nil: the task carries its result, value, and no error;
	//   - an error: the task carries its result, value, and that error;
	//   - a *Core[T]: a task handed out by Core.Task, whose methods are
	//     called directly, found by one comparison of ref's type word;
	//   - any other Source[T], which is never an error (see NewTask).
	//
	// See refOf.
	ref   any
	token uint64
	value T
}

// Source is the protocol of an asynchronous operation that hands out Tasks:
// the counterpart of .NET's IValueTaskSource. Each method takes the token
// the task was handed out with and must fail with ErrStale for any other.
//
// Most sources embed a Core[T], which implements all three methods; a type
// can also implement them itself.
type Source[T any] interface {
	// Status reports the status of the operation of version token.
	Status(token uint64) (Status, error)
	// OnCompleted registers fn to be called with arg once the operation
	// completes, or calls it now if it has. At most one continuation is
	// registered per version.
	OnCompleted(token uint64, fn func(any), arg any) error
	// Result consumes the outcome of the operation of version token. It
	// fails with ErrNotCompleted while the operation is pending.
	Result(token uint64) (T, error)
}

// FromResult returns a completed task that carries v.
func FromResult[T any](v T) Task[T] { return Task[T]{value: v} }

// FromError returns a completed task that carries err.
func FromError[T any](err error) Task[T] {
	var zero T
	return taskOf(zero, err)
}

// NewTask returns a task for the operation of version token of src.
//
// A src whose type also implements error is held in a small box, allocated
// here: a Task keeps its source and its error in one field, which must not
// be mistaken for each other. No source of this package is an error.
func NewTask[T any](src Source[T], token uint64) Task[T] {
	if _, isErr := src.(error); isErr {
		//zerogc:allow only for a Source that is also an error
		return Task[T]{ref: &sourceBox[T]{src}, token: token}
	}
	return Task[T]{ref: src, token: token}
}

// sourceBox holds a Source that is also an error, so that a Task's ref
// does not take it for the task's error. It is not an error itself.
type sourceBox[T any] struct{ Source[T] }

// taskOf returns a completed task with v and err.
func taskOf[T any](v T, err error) Task[T] {
	if err == nil {
		return Task[T]{value: v}
	}
	return Task[T]{ref: err, value: v}
}

// refOf returns what ref, a Task's ref, holds: the Core of a task handed
// out by Core.Task, the Source of any other task with a source, or, for a
// task that carries its result, neither, and the task's error.
func refOf[T any](ref any) (c *Core[T], src Source[T], err error) {
	switch r := ref.(type) {
	case nil:
		return nil, nil, nil
	case *Core[T]:
		return r, nil, nil
	case error:
		return nil, nil, r
	}
	return nil, ref.(Source[T]), nil
}

// Token returns the version token the task was handed out with; it is 0 for
// a task that carries its result.
func (t Task[T]) Token() uint64 { return t.token }

// IsImmediate reports whether the task carries its result, with no source
// behind it: the synchronous path.
func (t Task[T]) IsImmediate() bool {
	c, src, _ := refOf[T](t.ref)
	return c == nil && src == nil
}

// IsCompleted reports whether Result would return without ErrNotCompleted:
// the operation has completed, or the task is stale.
func (t Task[T]) IsCompleted() bool {
	c, src, _ := refOf[T](t.ref)
	if c != nil {
		s := c.state.Load()
		return versionOf(s) != t.token || s&(flagCompleted|flagAbandoned) != 0
	}
	if src == nil {
		return true
	}
	//zerogc:allow a Source that is not a Core: the implementation is its author's code
	st, err := src.Status(t.token)
	return err != nil || st != Pending
}

// Status reports the status of the task's operation. For a stale task it
// returns ErrStale.
func (t Task[T]) Status() (Status, error) {
	c, src, err := refOf[T](t.ref)
	switch {
	case c != nil:
		return c.Status(t.token)
	case src == nil:
		return statusOf(err), nil
	}
	return src.Status(t.token)
}

// Result returns the task's result without blocking. If the operation has
// completed, the result is consumed (see Task). While it is pending, Result
// returns ErrNotCompleted and consumes nothing.
//
//zerogc:noalloc
func (t Task[T]) Result() (v T, err error) {
	// Written to be inlined (see Await): the synchronous path is a test.
	v = t.value
	if t.ref != nil {
		v, err = resultOf(t)
	}
	return v, err
}

// resultOf is Task.Result for a task whose ref is not nil.
func resultOf[T any](t Task[T]) (T, error) {
	c, src, err := refOf[T](t.ref)
	switch {
	case c != nil:
		return c.Result(t.token)
	case src == nil:
		return t.value, err
	}
	//zerogc:allow a Source that is not a Core: the implementation is its author's code
	return src.Result(t.token)
}

// Await blocks until the operation completes and consumes its result. The
// waiting goroutine is parked and woken by the completer (see "Waiting
// without allocating" in the package doc); nothing is allocated.
//
// Await on a task that another goroutine is already awaiting returns
// ErrAwaitedTwice; on a task with a continuation registered (OnCompleted,
// Preserve, WhenAll, WhenAny), ErrAlreadyRegistered; on a consumed task, or
// one whose wait was given up by AwaitContext, ErrStale. None of them
// disturbs the operation.
//
//zerogc:noalloc
func (t Task[T]) Await() (v T, err error) {
	// Written to fit the inliner's budget (this form costs the fewest of
	// its units): inlined, the synchronous path is one test of a register
	// and the task is never copied to memory, as a Task[T] of a one-word T
	// is four words and the compiler keeps it in registers.
	v = t.value
	if t.ref != nil {
		v, err = awaitTask(t, nil)
	}
	return v, err
}

// awaitTask is Task.Await, and with a context Task.AwaitContext, for task t
// whose ref is not nil. ctx is nil for Await.
func awaitTask[T any](t Task[T], ctx context.Context) (T, error) {
	token := t.token
	c, src, err := refOf[T](t.ref)
	if c == nil {
		if src == nil {
			return t.value, err
		}
		cs, ok := src.(coreSource[T])
		if !ok {
			if ctx == nil {
				ctx = context.Background()
			}
			//zerogc:allow a Source that is not a Core: every step calls the implementation
			return awaitSource(src, token, ctx)
		}
		//zerogc:allow coreSource.core returns the source's embedded Core
		c = cs.core()
	}
	var done <-chan struct{}
	if ctx != nil {
		//zerogc:allow the caller's context
		done = ctx.Done()
	}
	if parking {
		if done == nil {
			return c.parkUntilDone(token)
		}
		if watched(done) {
			return c.parkOrCancel(token, ctx, done)
		}
	}
	ch := c.wait.ch.Load()
	if ch == nil {
		if ch = c.firstWaitChan(token); ch == nil {
			return c.Result(token)
		}
	}
	if s, outcome := c.registerWaiter(token, flagClaimed|flagWaiter|flagRegistered); outcome != waiterRegistered {
		return c.notWaiting(token, s, outcome)
	}
	if done == nil {
		<-*ch
		// publish moved the version on for us: the result is ours.
		return c.take()
	}
	return c.waitOrAbandon(token, ch, ctx, done)
}

// AwaitContext is Await that gives up when ctx is done, returning ctx.Err().
// The operation goes on: when it completes, its result is consumed and its
// source returns to its pool by itself, so nothing leaks and nobody blocks.
// After AwaitContext has returned ctx.Err(), the task is spent: every later
// use of it returns ErrStale, as for a consumed task. If the operation
// completes at the moment ctx ends, AwaitContext may return the operation's
// result instead of ctx.Err().
//
// For a source that does not embed a Core, an abandoned result is not
// consumed; such a source is reclaimed by the garbage collector instead of
// its pool.
//
// A nil ctx is taken as context.Background(): AwaitContext is then Await.
//
//zerogc:noalloc
func (t Task[T]) AwaitContext(ctx context.Context) (T, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	return awaitTask(t, ctx)
}

// OnCompleted registers fn to be called with arg when the operation
// completes. If it has completed, fn is called now: on the source's
// executor if it has one, else on the calling goroutine. The continuation
// usually consumes the result with Result.
//
// A second registration returns ErrAlreadyRegistered (ErrAwaitedTwice if a
// goroutine is awaiting the task) and leaves the first in place; a nil fn
// returns ErrNilContinuation.
//
//zerogc:noalloc
func (t Task[T]) OnCompleted(fn func(any), arg any) error {
	if fn == nil {
		return ErrNilContinuation
	}
	c, src, _ := refOf[T](t.ref)
	switch {
	case c != nil:
		return c.OnCompleted(t.token, fn, arg)
	case src == nil:
		//zerogc:allow runs the caller's continuation
		fn(arg)
		return nil
	}
	//zerogc:allow a Source that is not a Core: the implementation is its author's code
	return src.OnCompleted(t.token, fn, arg)
}
