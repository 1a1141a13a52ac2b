package vtask

import (
	"context"
	"sync/atomic"
)

// waitState lets one goroutine per version block in Await on a channel that
// the Core owns and reuses. The channel is never closed (a closed channel
// cannot be reused): the completer wakes the waiter with one send.
type waitState struct {
	ch chan struct{} // capacity 1; empty whenever no waiter is between wake and receive

	// st is token<<2 | one of the wait constants. The token makes a late
	// wake of an old version unable to touch a newer waiter.
	//
	// Invariant: st moves from waiting to exactly one of woken (by the
	// completer, which then sends on ch) or abandoned (by an AwaitContext
	// whose context ended, which then never receives). So ch gets a send
	// only if a receive will take it, and an abandoned operation's
	// result is consumed by the completer.
	st atomic.Uint64
}

const (
	waitWaiting = 1 + iota
	waitWoken
	waitAbandoned
)

// prepare readies the wait state for a waiter of version token. It is
// called by the one registrar holding flagClaimed.
func (w *waitState) prepare(token uint64) {
	if w.ch == nil {
		w.ch = make(chan struct{}, 1) // once per Core, reused by every version
	}
	w.st.Store(token<<2 | waitWaiting)
}

// wake is called by the completer of version token when a waiter was
// registered.
func (c *Core[T]) wake(token uint64) {
	if c.wait.st.CompareAndSwap(token<<2|waitWaiting, token<<2|waitWoken) {
		c.wait.ch <- struct{}{}
		return
	}
	if c.wait.st.Load() == token<<2|waitAbandoned {
		// Nobody will consume the result: do it here, so the source
		// returns to its pool.
		c.Result(token) //nolint:errcheck // the result has no reader
	}
}

// await blocks until the operation of version token completes, or ctx is
// done, and consumes the result.
func (c *Core[T]) await(token uint64, ctx context.Context) (T, error) {
	s := c.state.Load()
	if versionOf(s) == token && s&flagCompleted != 0 {
		return c.Result(token)
	}
	completed, err := c.register(token, nil, nil, flagWaiter)
	if err != nil {
		var zero T
		return zero, err
	}
	if completed {
		return c.Result(token)
	}
	done := ctx.Done()
	if done == nil {
		<-c.wait.ch
		return c.Result(token)
	}
	select {
	case <-c.wait.ch:
		return c.Result(token)
	case <-done:
		if c.wait.st.CompareAndSwap(token<<2|waitWaiting, token<<2|waitAbandoned) {
			var zero T
			return zero, ctx.Err()
		}
		// The completer won the race and is sending: take the send so
		// the channel is empty for the next version, and return the
		// result that is there.
		<-c.wait.ch
		return c.Result(token)
	}
}

// chanWaiter waits on a Source that does not embed a Core. Waiters are
// pooled, so such waits do not allocate in steady state either.
type chanWaiter struct {
	ch chan struct{}
	st atomic.Uint32 // waitWaiting, then waitWoken or waitAbandoned: the same invariant as waitState.st
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
			return zero, ctx.Err()
		}
		<-w.ch
	}
	wp.Put(w)
	return src.Result(token)
}
