package vtask

import (
	"context"
	"sync/atomic"
	"unsafe"
)

// waitState lets one goroutine per version block in AwaitContext (and in
// Await where goroutines do not park directly, see park.go) on a channel
// that the Core owns and reuses. The channel is never closed (a closed
// channel cannot be reused): the completer wakes the waiter with one send.
//
// The waiter's protocol lives in the Core's state word:
//
//   - registering sets flagClaimed|flagWaiter|flagRegistered in one CAS
//     (there is no continuation to write, only the channel, made before);
//     a parking Await sets flagClaimed|flagWaiter|flagParked, then
//     flagRegistered once its goroutine is known (see parkUntilDone);
//   - the completer's publishing CAS sees flagWaiter|flagRegistered and,
//     unless flagAbandoned is set, moves the version on in that same CAS,
//     which hands the result to the waiter, and then sends once on the
//     channel, or readies the parked goroutine; the woken waiter reads the
//     result with no CAS of its own;
//   - AwaitContext whose context ends sets flagAbandoned by CAS, which
//     succeeds only while the version is pending and no completer has
//     claimed it (flagCompleting, see TryClaim); the completer then
//     consumes the result instead of sending.
//
// Invariant: exactly one of "send" and "abandon" happens per version, so
// the channel holds a value only between a wake and its receive, and is
// empty for the next version.
type waitState struct {
	ch atomic.Pointer[chan struct{}] // made once per Core, on its first wait
}

// make makes the channel on first use and returns it; the caller has
// loaded w.ch and found it nil.
func (w *waitState) make() *chan struct{} {
	//zerogc:allow a Core's first wait makes its channel; every later version reuses it
	ch := make(chan struct{}, 1)
	if !w.ch.CompareAndSwap(nil, &ch) {
		return w.ch.Load() // a concurrent first Await made it
	}
	return &ch
}

// Results of registerWaiter.
const (
	waiterRegistered = iota // the caller is the waiter; wait on the channel
	waiterCompleted         // the operation has completed: consume it
	waiterStale             // token is not the current version
	waiterRefused           // another registrar holds the slot (state in s)
)

// registerWaiter registers the caller as the waiter of version token by
// setting flags (which include flagClaimed|flagWaiter) in one CAS: with
// flagRegistered for a channel waiter (there is no continuation to write,
// only the channel, made before), with flagParked for a parking one, whose
// registration ends in commitPark.
func (c *Core[T]) registerWaiter(token, flags uint64) (s uint64, outcome int) {
	for {
		s = c.state.Load()
		switch {
		case versionOf(s) != token:
			return s, waiterStale
		case s&flagCompleted != 0:
			return s, waiterCompleted
		case s&flagClaimed != 0:
			return s, waiterRefused
		}
		if c.state.CompareAndSwap(s, s|flags) {
			return s, waiterRegistered
		}
	}
}

// parkUntilDone is Await on c for version token where goroutines park
// directly (see park.go). It claims the waiter slot with
// flagClaimed|flagWaiter|flagParked, then parks; commitPark, on the
// scheduler's stack, publishes the goroutine and sets flagRegistered, unless
// the operation completed meanwhile. A completer that sees flagRegistered
// hands the result over by moving the version on, and wakes the goroutine.
//
// It takes one CAS more than the channel's registration (claim, then
// register: the goroutine is known only once it is parking, and it must be
// stored before a completer can see flagRegistered), and saves the
// channel's lock, queue and unlock on both sides.
func (c *Core[T]) parkUntilDone(token uint64) (T, error) {
	if s, outcome := c.registerWaiter(token, flagClaimed|flagWaiter|flagParked); outcome != waiterRegistered {
		return c.notWaiting(token, s, outcome)
	}
	c.park()
	return c.parked(token)
}

// parked returns the result of the wait of version token once c.park has
// returned without the wait being given up.
func (c *Core[T]) parked(token uint64) (T, error) {
	if versionOf(c.state.Load()) == token {
		// commitPark found the operation completed and did not park:
		// the result is still there to consume.
		return c.Result(token)
	}
	// The completer moved the version on for us: the result is ours.
	return c.take()
}

// commitPark runs on the scheduler's stack once the waiter's goroutine gp is
// off its CPU, with h the head of the Core it waits on. It publishes gp and
// sets flagRegistered; a completer that then sees flagRegistered wakes gp
// with goready. If the operation has completed already, the completer did
// not see flagRegistered and will not wake anyone: commitPark still sets
// flagRegistered (the claim is over) and returns false, and the waiter
// runs on and consumes the result itself.
//
// It must not grow the stack, and does not: two stores and a CAS loop.
//
//go:nosplit
func commitPark(gp uintptr, p unsafe.Pointer) bool {
	h := (*head)(p)
	h.g = gp
	for {
		s := h.state.Load()
		if s&flagCompleted != 0 {
			h.state.Or(flagRegistered)
			return false
		}
		if h.state.CompareAndSwap(s, s|flagRegistered) {
			return true
		}
	}
}

// firstWaitChan makes c's wait channel for a waiter of version token, or
// returns nil, making none, if that version has already completed.
func (c *Core[T]) firstWaitChan(token uint64) *chan struct{} {
	if s := c.state.Load(); versionOf(s) == token && s&flagCompleted != 0 {
		return nil
	}
	return c.wait.make()
}

// notWaiting is the result of a wait whose registration found state s and
// did not register (outcome is not waiterRegistered).
func (c *Core[T]) notWaiting(token uint64, s uint64, outcome int) (T, error) {
	var zero T
	switch outcome {
	case waiterCompleted:
		return c.Result(token)
	case waiterStale:
		return zero, ErrStale
	}
	return zero, registeredErr(s)
}

// waitOrAbandon waits on ch, where the caller is the registered waiter of
// version token, until the operation completes or done (ctx's) is closed;
// then it gives the wait up, and the completer consumes the result.
func (c *Core[T]) waitOrAbandon(token uint64, ch *chan struct{}, ctx context.Context, done <-chan struct{}) (T, error) {
	select {
	case <-*ch:
		return c.take()
	case <-done:
		for {
			s := c.state.Load()
			if versionOf(s) != token {
				// The completer won the race, handed the result
				// over and is sending: take the send so the
				// channel is empty for the next version, and
				// return the result.
				<-*ch
				return c.take()
			}
			if s&flagCompleting != 0 {
				// A completer has claimed the version (TryClaim)
				// and may be writing memory the holder lent the
				// operation: giving up now would hand that memory
				// back while it is written. Its publication
				// follows at once and hands the result to us.
				<-*ch
				return c.take()
			}
			if c.state.CompareAndSwap(s, s|flagAbandoned) {
				var zero T
				//zerogc:allow the caller's context, after it ended
				return zero, ctx.Err()
			}
		}
	}
}

// States of a chanWaiter.
const (
	waitWaiting = 1 + iota
	waitWoken
	waitAbandoned
)

// chanWaiter waits on a Source that does not embed a Core. Waiters are
// pooled, so such waits do not allocate in steady state either.
type chanWaiter struct {
	ch chan struct{}
	// st moves from waitWaiting to exactly one of waitWoken (by the
	// continuation, which then sends on ch) or waitAbandoned (by the
	// waiter, which then never receives; the continuation recycles w).
	st atomic.Uint32
}

// wakeChanWaiter is the continuation a chanWaiter registers.
func wakeChanWaiter(arg any) {
	w := arg.(*chanWaiter)
	if w.st.CompareAndSwap(waitWaiting, waitWoken) {
		w.ch <- struct{}{}
		return
	}
	// Abandoned: the waiter has gone, and nobody else holds w.
	chanWaiters().Put(w)
}

// awaitSource waits on any Source through its OnCompleted. When ctx ends
// first, the waiter is abandoned; the source's result stays unconsumed,
// since only a Core knows how to consume it without a reader.
func awaitSource[T any](src Source[T], token uint64, ctx context.Context) (T, error) {
	var zero T
	st, err := src.Status(token)
	if err != nil {
		return zero, err
	}
	if st != Pending {
		return src.Result(token)
	}
	wp := chanWaiters()
	w := wp.Get()
	w.st.Store(waitWaiting)
	if err := src.OnCompleted(token, wakeChanWaiter, w); err != nil {
		wp.Put(w)
		return zero, err
	}
	select {
	case <-w.ch:
	case <-ctx.Done():
		if w.st.CompareAndSwap(waitWaiting, waitAbandoned) {
			//zerogc:allow the caller's context, after it ended
			return zero, ctx.Err()
		}
		<-w.ch
	}
	wp.Put(w)
	return src.Result(token)
}
