package vtask

import (
	"unsafe"

	"github.com/zerogc/zerogc/pool"
)

// Test hooks, visible to package vtask_test only.

// DebugPool makes the pool of X, which must not exist yet, a debug-mode pool.
func debugPool[X any]() { debugKeys.Store((*X)(nil), true) }

// DebugCompletions makes the pool of Completion[T] a debug-mode pool and
// returns it. Call it before the first Rent[T].
func DebugCompletions[T any]() *pool.Pool[Completion[T]] {
	if _, debug := debugKeys.Load((*Completion[T])(nil)); !debug && lookupPool[Completion[T]]() != nil {
		panic("DebugCompletions after the pool was created")
	}
	debugPool[Completion[T]]()
	return completionPool[T]()
}

// DebugRunOps, DebugWhenAll and DebugWhenAny do the same for RunWith's and
// the combinators' pools.
func DebugRunOps[T, S any]() *pool.Pool[runOp[T, S]] {
	debugPool[runOp[T, S]]()
	return runPool[T, S]()
}
func DebugWhenAll[T any]() *pool.Pool[whenAllOp[T]] {
	debugPool[whenAllOp[T]]()
	return whenAllPool[T]()
}
func DebugWhenAny[T any]() *pool.Pool[whenAnyOp[T]] {
	debugPool[whenAnyOp[T]]()
	return whenAnyPool[T]()
}

// WaitChan returns the channel a Core's awaiters are woken on.
func (c *Core[T]) WaitChan() chan struct{} {
	if p := c.wait.ch.Load(); p != nil {
		return *p
	}
	return nil
}

// FieldsClear reports whether the result and continuation fields are clear.
func (c *Core[T]) FieldsClear() bool {
	return c.err == nil && c.fn == nil && c.arg == nil
}

// SetVersion moves a fresh Core to version v, which must be below 1<<48.
func (c *Core[T]) SetVersion(v uint64) {
	if v > versionMask {
		panic("SetVersion: versions are below 1<<48")
	}
	c.state.Store(v << versionShift)
}

// Waiting reports whether a goroutine is registered as the waiter of c's
// current version (for a parking Await: it is parked, or about to be).
func (c *Core[T]) Waiting() bool {
	return c.state.Load()&(flagWaiter|flagRegistered) == flagWaiter|flagRegistered
}

// Parking tells whether Await parks goroutines directly (not under -race,
// and only if the probe at init passed).
func Parking() bool { return parking }

// CanPark tells whether this build parks goroutines directly when the probe
// at init passes.
const CanPark = canPark

// SetParking turns direct parking on or off (on only where the build can
// park), for tests of the fallback; call it only when no Await is in
// flight. It returns the previous setting.
func SetParking(on bool) bool {
	was := parking
	parking = on && canPark
	return was
}

// ClaimPark does what a parking Await does before it parks: it claims the
// waiter slot of the current version.
func (c *Core[T]) ClaimPark() {
	s := c.state.Load()
	if !c.state.CompareAndSwap(s, s|flagClaimed|flagWaiter|flagParked) {
		panic("ClaimPark: the state changed")
	}
}

// CommitPark runs what the scheduler runs once a parking Await's goroutine
// is off its CPU, for a goroutine that is not really parked: it must be
// called only after the operation has completed, when it reports false
// (do not park) and nobody is woken.
func (c *Core[T]) CommitPark() bool { return commitPark(0, unsafe.Pointer(&c.head)) }

// WatchEveryContext makes every parking AwaitContext join its context's
// watcher from the first wait on (instead of after a few waits on the same
// context) until the test ends, so that tests of the watcher need no warm-up.
func WatchEveryContext(t interface{ Cleanup(func()) }) {
	old := watchAfter
	watchAfter = 0
	t.Cleanup(func() { watchAfter = old })
}
