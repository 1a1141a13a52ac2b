package vtask

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A parking AwaitContext (where Await parks, see park.go) learns that its
// context ended from a ctxWatcher: one context.AfterFunc per context (per
// Done channel), shared by every wait on that context and kept in a small
// table, so that a wait allocates nothing (a bare AfterFunc per wait
// allocates its registration and its stop function). The waiter parks as
// Await does; either the completer hands it the result (handOff), or the
// watcher's AfterFunc gives the wait up for it (abandonParked) and wakes it.
// One CAS on the Core's state word settles which: handOff needs flagAbandoned
// clear, abandonParked needs the version unchanged and flagCompleting clear.
//
// The table holds up to watcherTableSize watchers; a context whose Done
// channel hashes to a taken entry evicts the watcher there, which stops its
// AfterFunc once no wait uses it. A watcher, and so its Done channel, lives
// until it is evicted.

const watcherTableBits = 6

const watcherTableSize = 1 << watcherTableBits

var watcherTable [watcherTableSize]atomic.Pointer[ctxWatcher]

// ctxWatcher delivers the end of the contexts with Done channel done to
// the waits registered in slots.
type ctxWatcher struct {
	done <-chan struct{}
	stop func() bool // the AfterFunc's; set before the watcher is published

	// mu guards everything below. fire holds it while it gives waits up,
	// and a waiter takes it to leave, so that a waiter never returns
	// while the watcher may still touch its Core.
	mu      sync.Mutex
	fired   bool // the context ended: no wait may join
	evicted bool // out of the table: the last wait to leave stops it
	active  int  // slots in use
	slots   []ctxSlot
	free    []int32
}

// ctxSlot is one wait: the Core's head and the token waited for. abandoned
// is set by fire once it has given the wait up; only the waiter clears the
// slot, so (h, token) names one wait for as long as the slot is in use.
type ctxSlot struct {
	h         *head
	token     uint64
	abandoned bool
}

// A context's first waits do not park: they take the channel path, which
// allocates nothing, and only a Done channel that keeps being waited on gets
// a watcher. So a context made for one request and awaited a few times never
// pays for an AfterFunc, while the waits on a long-lived context share one
// (made once, after watchAfter waits). sightings counts, per watcherTable
// entry, the waits seen on the last Done channel found there without a
// watcher: the channel's address shifted right by 3 in the low 44 bits (a
// user-space address is below 1<<47), the count above them. It is a
// heuristic only: a race between two channels of one entry, or an address
// reused after a collection, only makes a watcher sooner or later.
var sightings [watcherTableSize]atomic.Uint64

// watchAfter is the number of waits on one Done channel that take the
// channel path before its watcher is made. Tests set it to 0 to make every
// parking AwaitContext join a watcher; it is not changed while waits run.
var watchAfter uint64 = 16

const sightingAddrBits = 44

// watched reports whether a wait on done should park and join done's
// watcher: it has one, or enough waits on done were seen to make one.
func watched(done <-chan struct{}) bool {
	i := watcherIndex(done)
	if w := watcherTable[i].Load(); w != nil && w.done == done {
		return true
	}
	addr := uint64(*(*uintptr)(unsafe.Pointer(&done))>>3) & (1<<sightingAddrBits - 1)
	e := &sightings[i]
	n := uint64(0) // waits seen on done so far
	if v := e.Load(); v&(1<<sightingAddrBits-1) == addr {
		n = v >> sightingAddrBits
	}
	if n >= watchAfter {
		return true
	}
	e.Store((n+1)<<sightingAddrBits | addr)
	return false
}

// watcherIndex returns done's entry in watcherTable.
func watcherIndex(done <-chan struct{}) int {
	p := *(*uintptr)(unsafe.Pointer(&done)) // a channel is a pointer
	return int((uint64(p>>4) * 0x9e3779b97f4a7c15) >> (64 - watcherTableBits))
}

// join registers the wait of h's version token, whose waiter slot the
// caller has claimed, with the watcher of ctx (whose Done channel is done),
// and returns the watcher and the slot's index. It returns a nil watcher if
// ctx has ended already.
func join(ctx context.Context, done <-chan struct{}, h *head, token uint64) (*ctxWatcher, int32) {
	e := &watcherTable[watcherIndex(done)]
	for {
		w := e.Load()
		if w == nil || w.done != done {
			//zerogc:allow once per context: the watcher and its AfterFunc, shared by every wait on the context
			if w = newWatcher(ctx, done, e, w); w == nil {
				continue // another goroutine replaced it first
			}
		}
		w.mu.Lock()
		if w.evicted {
			// Replaced since we loaded it (evicted is set after the
			// entry changed, so a watcher in the table whose
			// evicted is clear is the entry's): look again.
			w.mu.Unlock()
			continue
		}
		if w.fired {
			w.mu.Unlock()
			return nil, -1
		}
		var i int32
		if n := len(w.free); n > 0 {
			i = w.free[n-1]
			w.free = w.free[:n-1]
		} else {
			//zerogc:allow the slots grow to the largest number of waits on one context at once, then are reused
			w.slots = append(w.slots, ctxSlot{})
			i = int32(len(w.slots) - 1)
		}
		w.slots[i] = ctxSlot{h: h, token: token}
		w.active++
		w.mu.Unlock()
		return w, i
	}
}

// newWatcher makes the watcher of ctx and puts it in table entry e in place
// of old (which may be nil), and returns it; it returns nil if another
// goroutine replaced old first. This is the allocation that the waits on
// one context share.
//
//go:noinline
func newWatcher(ctx context.Context, done <-chan struct{}, e *atomic.Pointer[ctxWatcher], old *ctxWatcher) *ctxWatcher {
	w := &ctxWatcher{done: done}
	w.stop = context.AfterFunc(ctx, w.fire)
	// Invariant of the CAS: an entry changes only from the watcher that
	// the replacer saw, so that of two replacers one wins and the other
	// stops its own.
	if !e.CompareAndSwap(old, w) {
		w.stop()
		return nil
	}
	if old != nil {
		old.mu.Lock()
		old.evicted = true
		idle := old.active == 0
		old.mu.Unlock()
		if idle {
			old.stop()
		}
	}
	return w
}

// leave ends the wait in slot i, of h's version token, and reports whether
// fire gave it up (then the completion consumes the result, and the waiter
// must not touch the Core again).
func (w *ctxWatcher) leave(i int32, h *head, token uint64) (abandoned bool) {
	w.mu.Lock()
	s := &w.slots[i]
	if s.h != h || s.token != token {
		w.mu.Unlock()
		panic("vtask: context wait slot reused while in use")
	}
	abandoned = s.abandoned
	*s = ctxSlot{}
	//zerogc:allow the free list grows with the slots, then is reused
	w.free = append(w.free, i)
	w.active--
	stop := w.evicted && w.active == 0
	w.mu.Unlock()
	if stop {
		//zerogc:allow the AfterFunc's stop function, once per evicted watcher
		w.stop()
	}
	return abandoned
}

// fire is the AfterFunc of w's context: it gives up every wait registered,
// unless its operation is completing or completed.
func (w *ctxWatcher) fire() {
	w.mu.Lock()
	w.fired = true
	for i := range w.slots {
		s := &w.slots[i]
		if s.h != nil && !s.abandoned {
			s.abandoned = s.h.abandonParked(s.token)
		}
	}
	w.mu.Unlock()
}

// abandonParked gives up the parking wait of version token, whose waiter
// has joined a watcher, and wakes the waiter. It reports false, changing
// nothing, if the operation is completing or was completed (the completer
// wakes the waiter then).
//
// It waits until the waiter's commitPark has set flagRegistered: only then
// is the goroutine parked (or sure not to park), so that the waiter never
// runs commitPark on a version the completion has already consumed.
func (h *head) abandonParked(token uint64) bool {
	for {
		s := h.state.Load()
		if versionOf(s) != token || s&(flagCompleting|flagAbandoned) != 0 {
			return false
		}
		if s&flagRegistered == 0 {
			runtime.Gosched() // the waiter is a few instructions from parking
			continue
		}
		// The goroutine to wake is read before the CAS: once it
		// succeeds, the completion may consume the abandoned result and
		// recycle the Core at once, and the next version's waiter
		// overwrites h.g when it parks. Before it, h.g is this
		// version's (commitPark wrote it before setting the
		// flagRegistered seen in s), and only a later version's
		// commitPark changes it, which would make the CAS fail.
		g := h.g
		// Invariant of the CAS: exactly one of handOff (which needs
		// flagAbandoned clear) and this (which needs the version
		// unchanged and flagCompleting clear) succeeds, and it alone
		// wakes the waiter.
		if h.state.CompareAndSwap(s, s|flagAbandoned) {
			if testHookAbandoned != nil {
				testHookAbandoned()
			}
			wakeG(g)
			return true
		}
	}
}

// testHookAbandoned, if set, runs in abandonParked between its CAS and the
// wake. Only tests set it, before the waits it concerns.
var testHookAbandoned func()

// parkOrCancel is AwaitContext on c for version token, for a context whose
// Done channel done is not nil, where goroutines park directly.
func (c *Core[T]) parkOrCancel(token uint64, ctx context.Context, done <-chan struct{}) (T, error) {
	var zero T
	if s, outcome := c.registerWaiter(token, flagClaimed|flagWaiter|flagParked); outcome != waiterRegistered {
		return c.notWaiting(token, s, outcome)
	}
	w, i := join(ctx, done, &c.head, token)
	if w == nil {
		// ctx has ended: give the wait up ourselves, unless the
		// operation is completing (or completed): then take its result.
		for {
			s := c.state.Load()
			if s&flagCompleting != 0 {
				break
			}
			if c.state.CompareAndSwap(s, s|flagAbandoned) {
				//zerogc:allow the caller's context, after it ended
				return zero, ctx.Err()
			}
		}
		c.park()
		return c.parked(token)
	}
	c.park()
	if w.leave(i, &c.head, token) {
		//zerogc:allow the caller's context, after it ended
		return zero, ctx.Err()
	}
	return c.parked(token)
}
