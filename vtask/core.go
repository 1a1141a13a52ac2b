package vtask

import (
	"context"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/zerogc/zerogc/pool"
)

// Core is the reusable heart of an asynchronous operation: it stores the
// result, publishes completion, runs the continuation and checks every
// caller's version token. It is the counterpart of .NET's
// ManualResetValueTaskSourceCore<T>.
//
// Core implements Source[T], so a type that embeds Core[T] is a Source and
// hands out tasks with Task. The zero value is ready to use, at version 0.
//
// The owner of a Core (the code that starts operations on it) completes each
// version once, with SetResult, SetError or SetCanceled, or races several
// completers with the TrySet methods. The holder of the version's Task
// consumes the result once; consuming resets the Core to the next version
// and calls the release function set by SetRelease, where a pooled owner
// returns itself to its pool. (For a goroutine blocked in Await, the version
// moves on when the operation completes, and the release function runs once
// that goroutine has read the result.) The owner may start the next
// operation once the release function has run.
//
// A type that embeds a Core should not redefine Status, OnCompleted or
// Result: Task calls the Core's own methods when it waits. Work to do on
// each consumption belongs in the release function.
//
// A Core must not be copied after first use.
type Core[T any] struct {
	// The fields are ordered so that what the completing goroutine touches
	// (state, the parked goroutine, exec, home, err, value) comes first
	// and, for a T of up to 8 bytes, shares one cache line: completing moves one line
	// between cores, not two. (Measured: vtask-await went from 1.22x to
	// 1.16x of the two-channel floor, now chan-worker.)
	head

	// exec is set by the owner and kept across versions.
	exec Executor

	// home is set on the Core of a Completion only, which returns to that
	// pool; it is kept across versions. WhenAll's sweep reads it with
	// state and value, so it shares their line (with a Completion's
	// 64-byte alignment, see newCompletion, and a T of up to 8 bytes).
	home *pool.Pool[Completion[T]]

	// err and value are written by the one completer that set
	// flagCompleting, before it publishes flagCompleted, and read by the
	// one consumer that moved the version on.
	err   error
	value T

	// wait is the channel of a waiter that does not park (see park.go):
	// the fallback, off the shared line.
	wait waitState

	// fn and arg are the continuation. They are written by the one
	// registrar that set flagClaimed, before it publishes flagRegistered,
	// and taken by the completer that sees flagRegistered.
	fn  func(any)
	arg any

	// relFn, relArg and rec are set by the owner and kept across
	// versions. rec is the release of this package's other pooled types:
	// a direct method call, cheaper than relFn's type assertion.
	relFn  func(any)
	relArg any
	rec    recycler
}

// head holds the fields of a Core that do not depend on T, so that code
// which cannot be generic (the commit function of a parking Await, which
// the scheduler calls) can reach them.
type head struct {
	// state packs the version (high 48 bits) with the flags of that
	// version (low 16 bits). Every transition is one CompareAndSwap of the
	// whole word, so a caller holding another version can never change
	// the live operation.
	state atomic.Uint64

	// g is the goroutine parked in Await (a *runtime.g, never freed), see
	// park.go. It is written by commitPark before the CAS that sets
	// flagRegistered, and read by a waker (handOff, abandonParked) that
	// loaded a state with that flag, before the CAS that makes it the
	// waker: after that CAS the Core may be recycled and g overwritten by
	// the next version's waiter (TestAbandonWakesTheWaiterItGaveUp).
	g uintptr
}

// Flags of the current version, in the low bits of Core.state.
const (
	flagCompleting = 1 << iota // a completer owns value and err
	flagCompleted              // value and err are published
	flagFailed                 // completed with an error
	flagCanceled               // completed with a cancellation error
	flagClaimed                // a registrar owns fn and arg
	flagRegistered             // the registrar is done with fn and arg
	flagWaiter                 // the registrar is a goroutine blocked in Await
	flagAbandoned              // that goroutine stopped waiting (AwaitContext)
	flagParked                 // that goroutine is parked, not on the channel

	versionShift = 16
	versionMask  = 1<<(64-versionShift) - 1
)

// versionOf returns the version held in state s. Every entry point that
// takes a token compares it with versionOf(s) as a whole uint64, never
// masked: versions are below 1<<48 (they wrap from 1<<48-1 to 0), so a
// token with any of the top 16 bits set is never current, and no token
// other than the version's own is ever accepted.
func versionOf(s uint64) uint64 { return s >> versionShift }

// Version returns the current version: the token that a Task handed out for
// the current operation carries.
func (c *Core[T]) Version() uint64 { return versionOf(c.state.Load()) }

// Task returns a task for the current version of c.
func (c *Core[T]) Task() Task[T] { return Task[T]{ref: c, token: c.Version()} }

// SetExecutor sets where continuations run when the operation completes: nil
// (the default) runs them on the goroutine that completes the operation; an
// Executor gets them instead (the counterpart of .NET's
// RunContinuationsAsynchronously). The choice is kept across versions. Only
// the owner may call it, between operations.
func (c *Core[T]) SetExecutor(e Executor) { c.exec = e }

// SetRelease sets a function that is called with arg each time a result is
// consumed, after c has moved to the next version. A pooled source returns
// itself to its pool there. The function is kept across versions. Only the
// owner may call it, between operations.
func (c *Core[T]) SetRelease(fn func(any), arg any) { c.relFn, c.relArg = fn, arg }

// Reset abandons the current version: the version moves on, so every task
// handed out for it becomes stale, and the result and continuation are
// cleared. It does not call the release function. Only the owner may call
// it, and only when no other goroutine is using c, for example when an
// operation could not be started after its source was rented.
func (c *Core[T]) Reset() {
	var zero T
	v := (versionOf(c.state.Load()) + 1) & versionMask
	c.value, c.err, c.fn, c.arg = zero, nil, nil, nil
	c.state.Store(v << versionShift)
}

// SetResult completes the current version with v. It is for the one
// completer of the version: it stores v before it publishes, without first
// claiming the version, which saves an atomic operation. It panics if the
// version was already completed: completing twice is a bug of the owner, not
// of a task's holder. Where completers race, all of them must use the TrySet
// methods; a SetResult racing another completer may panic after it has
// overwritten the other's result.
//
// The check sees a second completion only while the completed version is
// current. Once the result has been consumed (for a goroutine blocked in
// Await, at the moment the first completion hands the result over), the
// Core is at the next version, and a second SetResult completes that next
// version, whose task nobody holds yet, or, for a pooled source, its next
// renter's. Nothing can tell such a late call from the next operation's
// completion: the owner must not touch a source after completing it.
//
//zerogc:noalloc
func (c *Core[T]) SetResult(v T) {
	s := c.state.Load()
	if s&flagCompleting != 0 {
		panic("vtask: SetResult on an operation that is already completed (the owner completed it twice)")
	}
	c.value = v
	switch s & (flagRegistered | flagWaiter | flagAbandoned) {
	case 0:
		// Nobody registered yet (a fan-out's task, consumed by a later
		// sweep): publish with the state already loaded, without
		// publish's call. A registrar at work will see flagCompleted.
		if c.state.CompareAndSwap(s, s|flagCompleting|flagCompleted) {
			return
		}
	case flagRegistered | flagWaiter:
		if c.handOff(s) {
			return // the common asynchronous case, without publish's call
		}
	}
	c.publish(flagCompleting|flagCompleted, false)
}

// SetError completes the current version with err. An err that is, by
// errors.Is, context.Canceled or context.DeadlineExceeded gives the status
// Canceled; any other, Failed. Like SetResult, it is for the one completer
// of the version, and panics if the version was already completed.
func (c *Core[T]) SetError(err error) {
	if c.state.Load()&flagCompleting != 0 {
		panic("vtask: SetError on an operation that is already completed (the owner completed it twice)")
	}
	c.err = err
	c.publish(doneFlags(err), false)
}

// SetCanceled completes the current version with context.Canceled. It
// panics if the version was already completed.
func (c *Core[T]) SetCanceled() { c.SetError(context.Canceled) }

// TrySetResult completes version with v and reports whether it did. It
// returns false if version is not exactly the current version (see
// Version; no bit of it is ignored), or if another
// completer got there first: one CompareAndSwap settles a race between
// completers, such as an I/O completion and a cancellation.
//
//zerogc:noalloc
func (c *Core[T]) TrySetResult(version uint64, v T) bool { return c.complete(version, true, v, nil) }

// TrySetError is TrySetResult for an error.
//
//zerogc:noalloc
func (c *Core[T]) TrySetError(version uint64, err error) bool {
	var zero T
	return c.complete(version, true, zero, err)
}

// TrySetCanceled is TrySetError with context.Canceled.
//
//zerogc:noalloc
func (c *Core[T]) TrySetCanceled(version uint64) bool {
	return c.TrySetError(version, context.Canceled)
}

// TryClaim claims the completion of version for a completer that has work
// to do between deciding to complete and publishing: a reader that decodes
// a reply into memory the task's holder lent to the operation. It reports
// whether it claimed (false if version is not the current one, or another
// completer claimed first) and whether the holder had already given its
// wait up (an AwaitContext whose context ended): then the completer must
// not touch the holder's memory.
//
// While the claim is held, a waiter in AwaitContext whose context ends does
// not give up: it takes the result that CompleteClaimed publishes. So the
// holder's memory is written only while the holder waits, or before it
// looks. The claimer must call CompleteClaimed promptly, without blocking.
func (c *Core[T]) TryClaim(version uint64) (claimed, abandoned bool) {
	// Claim: exactly one completer per version sets flagCompleting; once
	// it is set, waitOrAbandon refuses to set flagAbandoned.
	for {
		s := c.state.Load()
		if s&flagCompleting != 0 || versionOf(s) != version&versionMask {
			return false, false
		}
		if c.state.CompareAndSwap(s, s|flagCompleting) {
			return true, s&flagAbandoned != 0
		}
	}
}

// CompleteClaimed completes the version that the caller claimed with
// TryClaim, with v and err. An abandoned version's result is consumed here
// and its source released, as for any completion.
func (c *Core[T]) CompleteClaimed(v T, err error) {
	c.value, c.err = v, err
	c.publish(doneFlags(err), true)
}

// complete stores the outcome and publishes it. With checkVersion, it
// completes only the given version.
func (c *Core[T]) complete(version uint64, checkVersion bool, v T, err error) bool {
	// Claim: exactly one completer per version sets flagCompleting, and
	// only with the current version's token. The token is compared whole,
	// as every entry point does (see versionOf): one with bits above the
	// version's width is never current.
	for {
		s := c.state.Load()
		if s&flagCompleting != 0 || (checkVersion && versionOf(s) != version) {
			return false
		}
		if c.state.CompareAndSwap(s, s|flagCompleting) {
			break
		}
	}
	c.value, c.err = v, err
	c.publish(doneFlags(err), true)
	return true
}

// completeOwned completes the current version for an owner that is, by
// construction, its only completer (the operations of RunWith, WhenAll and
// WhenAny): no other completer can race it, so it needs no claim, and
// completion costs one CAS.
func (c *Core[T]) completeOwned(v T, err error) {
	c.value = v
	if err != nil {
		c.err = err // take clears it, so it is nil when err is
	}
	c.publish(doneFlags(err), true)
}

// doneFlags returns the flags that publish sets for an outcome with err.
func doneFlags(err error) uint64 {
	done := uint64(flagCompleting | flagCompleted)
	if err != nil {
		switch statusOf(err) {
		case Failed:
			done |= flagFailed
		case Canceled:
			done |= flagCanceled
		}
	}
	return done
}

// publish sets the flags done (see doneFlags) on the current version, which
// publishes the stored outcome, and wakes the waiter or runs the
// continuation, if one registered before. claimed tells whether the caller
// set flagCompleting (or is, by construction, the only completer); if not,
// finding flagCompleting set means a second completer raced this one, and
// publish panics.
//
// Publishing is one CAS, a release: a reader that sees flagCompleted sees
// value and err. If the CAS observes flagRegistered, the registrar finished
// before completion and left the continuation (or the waiter) to us; if it
// does not, any registrar still at work will see flagCompleted and run the
// continuation itself. Either way it runs exactly once.
func (c *Core[T]) publish(done uint64, claimed bool) {
	for {
		s := c.state.Load()
		if !claimed && s&flagCompleting != 0 {
			panic(errCompletedTwice)
		}
		switch s & (flagRegistered | flagWaiter | flagAbandoned) {
		case 0:
			// Nobody registered (a registrar at work will see
			// flagCompleted and run its continuation itself).
			if c.state.CompareAndSwap(s, s|done) {
				return
			}
		case flagRegistered | flagWaiter:
			if c.handOff(s) {
				return
			}
		case flagRegistered:
			// A continuation registered before completion: what
			// publishSlow does for it, without its call. The
			// continuation's fields are stable (the registrar is
			// done, and no consumer can move the version before
			// flagCompleted); they are taken before the CAS, since
			// once it publishes a consumer may recycle the source,
			// and cleared, so that what the continuation refers to
			// is collectable once it ran. Only a completer changes a
			// registered, uncompleted state: a failed CAS is a
			// racing completer, which claimed completers rule out.
			fn, arg, exec := c.fn, c.arg, c.exec
			c.fn, c.arg = nil, nil
			for !c.state.CompareAndSwap(s, s|done) {
				if s = c.state.Load(); !claimed && s&flagCompleting != 0 {
					panic(errCompletedTwice)
				}
			}
			dispatch(exec, fn, arg)
			return
		default:
			c.publishSlow(done, claimed)
			return
		}
	}
}

// handOff publishes the outcome to the goroutine blocked in await, if the
// state is still s (with flagWaiter and flagRegistered set), and wakes it.
// Moving the version on in the CAS that publishes makes the woken waiter
// the only goroutine that may read value and err, so it consumes them
// without a CAS of its own (see Core.take). The wake is goready for a
// parked waiter (flagParked, see park.go), else one send on the channel the
// waiter made before it registered.
func (c *Core[T]) handOff(s uint64) bool {
	// The parked goroutine is read before the CAS, as every waker does
	// (see abandonParked): s has flagRegistered, so h.g is this version's,
	// and only a later version's commitPark changes it, which would make
	// the CAS fail.
	g := c.g
	if !c.state.CompareAndSwap(s, ((versionOf(s)+1)&versionMask)<<versionShift) {
		return false
	}
	if canPark && s&flagParked != 0 { // only a parking Await sets flagParked
		wakeG(g)
		return true
	}
	*c.wait.ch.Load() <- struct{}{}
	return true
}

// errCompletedTwice is the panic of a completer that raced another.
const errCompletedTwice = "vtask: an operation was completed twice at once (SetResult or SetError raced another completer; racing completers must all use the TrySet methods)"

// publishSlow is publish for a version with a registered continuation, with
// a waiter that abandoned its wait, or with a parking waiter that has claimed
// the slot but is not parked yet (flagWaiter without flagRegistered): that
// one sees flagCompleted in commitPark, does not park, and consumes the
// result itself.
func (c *Core[T]) publishSlow(done uint64, claimed bool) {
	var fn func(any)
	var arg any
	var exec Executor
	var s uint64
	for {
		s = c.state.Load()
		if !claimed && s&flagCompleting != 0 {
			panic(errCompletedTwice)
		}
		if s&(flagRegistered|flagWaiter|flagAbandoned) == flagRegistered|flagWaiter {
			// A parking waiter finished its registration since
			// publish looked (see parkUntilDone): hand it the result.
			if c.handOff(s) {
				return
			}
			continue
		}
		if s&(flagRegistered|flagWaiter) == flagRegistered && fn == nil {
			// The continuation's fields are stable: the registrar
			// is done and no consumer can move the version before
			// flagCompleted. exec is read now because, once the
			// CAS publishes, a consumer may recycle the source.
			fn, arg, exec = c.fn, c.arg, c.exec
			c.fn, c.arg = nil, nil
		}
		if c.state.CompareAndSwap(s, s|done) {
			break
		}
	}
	switch {
	case s&flagAbandoned != 0:
		// The waiter abandoned its wait (AwaitContext): nobody will
		// consume the result, so do it here, and the source returns to
		// its pool. Nobody else writes the state now: every call with
		// the token fails (flagAbandoned makes it stale), the completer
		// was us, and the owner waits for the release. So a store moves
		// the version on.
		c.state.Store(((versionOf(s) + 1) & versionMask) << versionShift)
		c.take() //nolint:errcheck // the result has no reader
	case fn != nil:
		dispatch(exec, fn, arg)
	}
}

// Status reports the status of the operation of version token. It returns
// ErrStale if token is not the current version, or if the wait for it was
// given up (AwaitContext returned the context's error).
func (c *Core[T]) Status(token uint64) (Status, error) {
	s := c.state.Load()
	switch {
	case versionOf(s) != token || s&flagAbandoned != 0:
		return Pending, ErrStale
	case s&flagCompleted == 0:
		return Pending, nil
	case s&flagCanceled != 0:
		return Canceled, nil
	case s&flagFailed != 0:
		return Failed, nil
	}
	return Succeeded, nil
}

// OnCompleted registers fn to be called with arg when the operation of
// version token completes. If it has already completed, fn runs now: on the
// executor if c has one, else on the calling goroutine. Only one
// continuation may be registered per version.
//
//zerogc:noalloc
func (c *Core[T]) OnCompleted(token uint64, fn func(any), arg any) error {
	if fn == nil {
		return ErrNilContinuation
	}
	_, err := c.register(token, fn, arg)
	return err
}

// register claims the continuation slot of version token for fn. It reports
// whether the operation had completed before registration finished; then
// the continuation has already been dispatched.
func (c *Core[T]) register(token uint64, fn func(any), arg any) (completed bool, err error) {
	var s uint64
	// Claim: exactly one registrar per version sets flagClaimed; a
	// second one fails without touching the first's fn and arg.
	for {
		s = c.state.Load()
		if versionOf(s) != token {
			return false, ErrStale
		}
		if s&flagClaimed != 0 {
			return false, registeredErr(s)
		}
		if c.state.CompareAndSwap(s, s|flagClaimed) {
			break
		}
	}
	// Until flagRegistered is set, a consumer waits (see Result), so the
	// version cannot move under us.
	exec := c.exec
	if s&flagCompleted == 0 {
		c.fn, c.arg = fn, arg
		for {
			s = c.state.Load()
			if s&flagCompleted != 0 {
				// The completer published without seeing us: the
				// continuation is ours to run.
				c.fn, c.arg = nil, nil
				break
			}
			if c.state.CompareAndSwap(s, s|flagRegistered) {
				return false, nil
			}
		}
	}
	c.state.Or(flagRegistered)
	dispatch(exec, fn, arg)
	return true, nil
}

// registeredErr is the error for a registration that finds the slot of
// state s taken: by a waiter that gave its wait up, which spent the task;
// by a goroutine blocked in Await; or by a continuation.
func registeredErr(s uint64) error {
	switch {
	case s&flagAbandoned != 0:
		return ErrStale
	case s&flagWaiter != 0:
		return ErrAwaitedTwice
	}
	return ErrAlreadyRegistered
}

// Result consumes the result of the operation of version token: it returns
// the value and error the operation completed with, moves c to the next
// version (every task of this version becomes stale), clears the result and
// continuation so that nothing they reference is kept alive, and calls the
// release function. It returns ErrStale for any other version, or if the
// wait for the result was given up (AwaitContext returned the context's
// error: the completion consumes the result then), and ErrNotCompleted,
// consuming nothing, if the operation is pending.
//
//zerogc:noalloc
func (c *Core[T]) Result(token uint64) (T, error) {
	for {
		s := c.state.Load()
		switch {
		case versionOf(s) != token || s&flagAbandoned != 0:
			var zero T
			return zero, ErrStale
		case s&flagCompleted == 0:
			var zero T
			return zero, ErrNotCompleted
		case s&(flagClaimed|flagRegistered) == flagClaimed:
			// A registrar is between its claim and its last store;
			// it is a few instructions from done.
			runtime.Gosched()
			continue
		}
		// The consumer's claim: moving the version on makes every other
		// call with token fail, so value and err are ours to read.
		if c.state.CompareAndSwap(s, ((token+1)&versionMask)<<versionShift) {
			break
		}
	}
	// Most paths have cleared these already; skip the stores (and their
	// write barriers) then.
	if c.fn != nil || c.arg != nil {
		c.fn, c.arg = nil, nil
	}
	return c.take()
}

// take reads and clears the outcome of a version that the caller has moved
// on (Result) or that was moved on for it (a waiter woken by publish), and
// calls the release function. No other goroutine reads or writes value and
// err then: a completer writes them only before publishing, and every
// other caller with the old token fails with ErrStale.
func (c *Core[T]) take() (T, error) {
	var zero T
	v, err := c.value, c.err
	c.value = zero
	if err != nil {
		c.err = nil
	}
	switch {
	case c.home != nil:
		// c is the Core of a Completion[T], its only field, so the
		// two pointers are the same (an unsafe.Pointer conversion
		// between types of equivalent layout). The executor goes back
		// to nil, as Rent promises.
		if c.exec != nil {
			c.exec = nil
		}
		c.home.Put((*Completion[T])(unsafe.Pointer(c)))
	case c.rec != nil:
		//zerogc:allow returns a vtask operation (runOp, whenAllOp, whenAnyOp) to its pool; pool.Put is marked
		c.rec.recycle()
	case c.relFn != nil:
		//zerogc:allow the release function the source's owner installed
		c.relFn(c.relArg)
	}
	return v, err
}

func (c *Core[T]) core() *Core[T] { return c }

// coreSource is implemented by *Core[T] and by every type that embeds a
// Core[T]; Task uses it to wait through the core's own protocol.
type coreSource[T any] interface{ core() *Core[T] }

// dispatch runs fn(arg) on exec, or inline if exec is nil.
func dispatch(exec Executor, fn func(any), arg any) {
	if exec == nil {
		//zerogc:allow runs the caller's continuation
		fn(arg)
		return
	}
	//zerogc:allow the source's executor runs the continuation (WorkerPool.Execute is marked)
	exec.Execute(fn, arg)
}
