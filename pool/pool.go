package pool

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
)

// Pool is a bounded, lock-free pool of *T. The zero value is not usable;
// create one with New.
//
// A Pool holds at most Size objects: one in a fast slot that Get and Put try
// first, the rest in an array scanned in order. Every slot is claimed by one
// compare-and-swap, so an object that is in the pool is handed to at most one
// caller of Get. When every slot is full, Put drops the object and the garbage
// collector reclaims it; when every slot is empty, Get calls the pool's new
// function. The garbage collector never empties a Pool. A pool made with
// PerP also has one private slot per P, which Get and Put try before all
// others (see PerP).
//
// A Pool is safe for use by multiple goroutines simultaneously.
type Pool[T any] struct {
	// fast and items are the slots. A slot holds nil (empty) or an object
	// that no caller of Get holds.
	//
	// Invariant: a non-nil pointer leaves a slot only through a successful
	// CompareAndSwap(x, nil), so exactly one Get receives it. It enters a
	// slot only through CompareAndSwap(nil, x), so a Put never overwrites
	// (and loses track of) another object.
	fast  slot[T]
	items []slot[T]

	// private has one cache per P for a pool made with PerP, else none.
	// Cache i is read and written only by a goroutine pinned to P i (see
	// procPin): one goroutine runs on a P at a time, and a pinned one
	// cannot be preempted, so each cache has one user at a time and needs
	// no atomic operation. Each holds up to perP objects (1 unless
	// PerPCache asked for more).
	private []privateSlot[T]
	perP    int

	// overflow holds what does not fit in the slots when the pool's size
	// exceeds 2 × GOMAXPROCS; nil otherwise. A pool with per-P caches of
	// more than one object (PerPCache) has batches instead, and no
	// overflow.
	overflow *ring[T]
	batches  *batchRing[T]

	newFn func() *T

	// news and drops count the slow paths only; the fast paths touch no
	// shared counter.
	news  atomic.Uint64
	drops atomic.Uint64

	debug *tracker[T] // nil unless the pool was made with Debug()
}

// slot is one place in the pool, padded to its own cache line so that
// goroutines working on neighbouring slots do not invalidate each other's
// caches (false sharing).
type slot[T any] struct {
	p atomic.Pointer[T]
	_ [cacheLine - 8]byte
}

const cacheLine = 64

// privateSlot is one P's private cache: a stack of n objects in xs,
// padded to whole cache lines like slot.
type privateSlot[T any] struct {
	n  int
	xs [maxPerPCache]*T
	_  [cacheLine - 8]byte
}

// maxPerPCache is the largest per-P cache PerPCache accepts.
const maxPerPCache = 16

// Option configures a Pool made by New.
type Option func(*config)

type config struct {
	size  int
	debug bool
	perP  int // objects per P's cache; 0 for none
}

// Size sets the number of objects the pool can hold. n <= 0 selects the
// default, 2 × GOMAXPROCS at the time New is called. The first 2 × GOMAXPROCS
// objects live in the slots; a larger pool keeps the rest in a bounded
// lock-free queue (rounded up to a power of two), which a Get tries when
// the slots are empty and a Put when they are full. A large pool suits
// operations with many objects in flight at once.
func Size(n int) Option { return func(c *config) { c.size = n } }

// Debug makes the pool record every object it hands out, with the stack of
// the Get that rented it. Put then panics on an object that is not rented
// (a double return, or an object from elsewhere), and Outstanding reports
// the objects that were rented and never returned. Debug mode serialises
// Get and Put on a mutex: use it in tests, not in production.
//
// Building with the tag zerogcdebug turns debug mode on for every pool.
func Debug() Option { return func(c *config) { c.debug = true } }

// PerP gives the pool, besides its Size, one private slot per P (per
// GOMAXPROCS at the time New is called), as sync.Pool has. Get and Put try
// the slot of the P they run on first, with no atomic read-modify-write,
// which halves the cost of a Get and Put pair on one goroutine. An object in
// a private slot is only found by goroutines that run on that P, so a
// goroutine may find the pool empty while another P's slot holds an
// object; Cap counts the private slots. Under the race detector the private
// slots are not used. Debug turns them off.
func PerP() Option { return func(c *config) { c.perP = max(c.perP, 1) } }

// PerPCache is PerP with room for n objects (at most 16) in each P's
// private cache instead of one, for a pool whose objects are rented on one P
// and returned on another many at a time: a fan-out rents a thousand on the
// submitter's P, and the step that combines their results returns them on a
// worker's. The part of the pool beyond its slots then holds batches of n/2
// objects instead of single ones: a Get that finds its P's cache empty
// takes a batch, and a Put that finds it full moves half of it out as one
// batch, each with one CompareAndSwap and one atomic store, so that the
// shared path is paid once per n/2 objects. Cap counts the caches and the
// batches. n <= 3 is PerP with a cache of n (no batches). Under the race
// detector, and in debug mode, the caches are off, as PerP's slots are,
// and the pool keeps single objects.
func PerPCache(n int) Option {
	return func(c *config) { c.perP = max(c.perP, min(max(n, 1), maxPerPCache)) }
}

// New returns a pool whose Get calls newFn when the pool is empty. newFn
// must return a non-nil pointer.
func New[T any](newFn func() *T, opts ...Option) *Pool[T] {
	if newFn == nil {
		panic("pool: New called with a nil new function")
	}
	c := config{debug: debugByTag}
	for _, o := range opts {
		o(&c)
	}
	if c.size <= 0 {
		c.size = 2 * runtime.GOMAXPROCS(0)
	}
	slots := min(c.size, 2*runtime.GOMAXPROCS(0))
	p := &Pool[T]{newFn: newFn, items: make([]slot[T], slots-1)}
	if c.debug {
		p.debug = newTracker[T]()
	} else if c.perP > 0 && pinning {
		p.private = make([]privateSlot[T], runtime.GOMAXPROCS(0))
		p.perP = c.perP
	}
	if rest := c.size - slots; rest > 0 {
		if half := p.perP / 2; half > 1 {
			p.batches = newBatchRing[T]((rest + half - 1) / half)
		} else {
			p.overflow = newRing[T](rest)
		}
	}
	return p
}

// Get returns an object from the pool, or a new one from the pool's new
// function if the pool is empty. The caller owns the object until it passes
// it to Put.
//
//zerogc:noalloc
func (p *Pool[T]) Get() *T {
	if len(p.private) > 0 {
		pid := procPin()
		if pid < len(p.private) {
			m := &p.private[pid]
			if n := m.n - 1; n >= 0 && n < len(m.xs) {
				x := m.xs[n]
				m.xs[n] = nil
				m.n = n
				procUnpin()
				return x
			}
			if p.batches != nil {
				// Refill the cache with a batch, still pinned:
				// no other goroutine uses this P's cache
				// meanwhile.
				if k := p.batches.get(m.xs[:]); k > 0 {
					x := m.xs[k-1]
					m.xs[k-1] = nil
					m.n = k - 1
					procUnpin()
					return x
				}
			}
		}
		procUnpin()
	}
	x := p.take()
	if x == nil {
		p.news.Add(1)
		//zerogc:allow an empty pool makes a new object with the caller's new function; a warm pool hands out pooled ones
		x = p.newFn()
		if x == nil {
			panic("pool: the new function returned nil")
		}
	}
	if p.debug != nil {
		//zerogc:allow debug mode only (pool.Debug): records the stack of the Get
		p.debug.rented(x)
	}
	return x
}

func (p *Pool[T]) take() *T {
	if x := p.fast.p.Load(); x != nil && p.fast.p.CompareAndSwap(x, nil) {
		return x
	}
	n := len(p.items)
	if n == 0 {
		if p.overflow != nil {
			return p.overflow.get()
		}
		return nil
	}
	// Start the scan at a random slot so that goroutines on different
	// threads rarely contend for the same one.
	//zerogc:allow math/rand/v2's global generator reaches runtime.rand through its Source interface: no allocation
	start := int(rand.Uint32N(uint32(n)))
	for i := start; i < n; i++ {
		if x := p.items[i].p.Load(); x != nil && p.items[i].p.CompareAndSwap(x, nil) {
			return x
		}
	}
	for i := 0; i < start; i++ {
		if x := p.items[i].p.Load(); x != nil && p.items[i].p.CompareAndSwap(x, nil) {
			return x
		}
	}
	if p.overflow != nil {
		return p.overflow.get()
	}
	return nil
}

// Put returns x to the pool. The caller must not use x afterwards. If the
// pool is full, x is dropped. Put(nil) is a no-op.
//
//zerogc:noalloc
func (p *Pool[T]) Put(x *T) {
	if len(p.private) > 0 && x != nil {
		pid := procPin()
		if pid < len(p.private) {
			m := &p.private[pid]
			n := m.n
			if n < p.perP && n < len(m.xs) {
				m.xs[n] = x
				m.n = n + 1
				procUnpin()
				return
			}
			if h := n - p.perP/2; p.batches != nil && h >= 0 && h < n && n <= len(m.xs) {
				// Move the newer half of the full cache to the
				// batches as one, and keep x.
				if p.batches.put(m.xs[h:n]) {
					for i := h + 1; i < n; i++ {
						m.xs[i] = nil
					}
					m.xs[h] = x
					m.n = h + 1
					procUnpin()
					return
				}
			}
		}
		procUnpin()
	}
	if x == nil {
		return
	}
	if p.debug != nil {
		//zerogc:allow debug mode only (pool.Debug): detects a double return
		p.debug.returned(x)
	}
	if p.fast.p.Load() == nil && p.fast.p.CompareAndSwap(nil, x) {
		return
	}
	if n := len(p.items); n > 0 {
		//zerogc:allow math/rand/v2's global generator reaches runtime.rand through its Source interface: no allocation
		start := int(rand.Uint32N(uint32(n)))
		for i := start; i < n; i++ {
			if p.items[i].p.Load() == nil && p.items[i].p.CompareAndSwap(nil, x) {
				return
			}
		}
		for i := 0; i < start; i++ {
			if p.items[i].p.Load() == nil && p.items[i].p.CompareAndSwap(nil, x) {
				return
			}
		}
	}
	if p.overflow != nil && p.overflow.put(x) {
		return
	}
	p.drops.Add(1)
}

// GetBatch fills dst with objects from the pool, or new ones from its new
// function where the pool runs out, as len(dst) calls of Get would. It is
// for a caller that rents many objects at once (the start of a fan-out): on
// a pool with per-P caches it pins its P once for the whole batch, copies
// out of the cache in bulk, and takes whole batches from the shared queue
// straight into dst. The caller owns every object of dst until it passes it
// to Put or PutBatch.
//
//zerogc:noalloc
func (p *Pool[T]) GetBatch(dst []*T) {
	i := 0
	if len(p.private) > 0 {
		pid := procPin()
		if pid < len(p.private) {
			m := &p.private[pid]
			for i < len(dst) {
				if n := min(m.n, len(m.xs)); n > 0 {
					k := min(n, len(dst)-i)
					copy(dst[i:i+k], m.xs[n-k:n])
					clear(m.xs[n-k : n])
					m.n = n - k
					i += k
					continue
				}
				if p.batches == nil {
					break
				}
				if len(dst)-i >= batchSize {
					// A whole batch straight into dst.
					k := p.batches.get(dst[i : i+batchSize])
					if k == 0 {
						break
					}
					i += k
					continue
				}
				k := p.batches.get(m.xs[:])
				if k == 0 {
					break
				}
				m.n = k
			}
		}
		procUnpin()
	}
	for ; i < len(dst); i++ {
		dst[i] = p.Get()
	}
}

// PutBatch returns every object of xs to the pool, as Put would one at a
// time, and sets each element of xs to nil. It is for a caller that has many
// objects to return at once (the combining step of a fan-out): on a pool
// with per-P caches it pins its P once for the whole batch, copies into the
// cache in bulk, and moves whole batches from xs to the shared queue. nil
// elements are skipped.
//
//zerogc:noalloc
func (p *Pool[T]) PutBatch(xs []*T) {
	rest := xs
	if len(p.private) > 0 && !hasNil(xs) {
		pid := procPin()
		if pid < len(p.private) {
			m := &p.private[pid]
			perP := min(p.perP, len(m.xs))
			half := perP / 2
			for len(rest) > 0 {
				n := m.n
				if n > perP {
					break
				}
				if len(rest) <= perP-n {
					// What is left fits in the cache.
					m.n = n + copy(m.xs[n:perP], rest)
					rest = rest[:0]
					break
				}
				if p.batches == nil || half < 2 {
					if n < perP {
						k := copy(m.xs[n:perP], rest)
						m.n = n + k
						rest = rest[k:]
					}
					break // the shared path below, unpinned
				}
				if len(rest) >= half {
					// A whole batch straight from xs.
					if !p.batches.put(rest[:half]) {
						break
					}
					rest = rest[half:]
					continue
				}
				// Fewer than half are left, more than fit (so the
				// cache holds more than half): make room by moving
				// the newer half of the cache as one batch.
				if !p.batches.put(m.xs[n-half : n]) {
					break
				}
				clear(m.xs[n-half : n])
				m.n = n - half
			}
		}
		procUnpin()
	}
	clear(xs[:len(xs)-len(rest)])
	for i, x := range rest {
		if x != nil {
			rest[i] = nil
			p.Put(x)
		}
	}
}

// hasNil reports whether xs holds a nil.
func hasNil[T any](xs []*T) bool {
	for _, x := range xs {
		if x == nil {
			return true
		}
	}
	return false
}

// Cap returns the number of objects the pool can hold.
func (p *Pool[T]) Cap() int {
	n := len(p.items) + 1 + len(p.private)*p.perP
	if p.overflow != nil {
		n += len(p.overflow.cells)
	}
	if p.batches != nil {
		n += len(p.batches.cells) * (p.perP / 2)
	}
	return n
}

// Stats describes the slow paths a pool has taken since it was made.
type Stats struct {
	New     uint64 // Get found the pool empty and called the new function
	Dropped uint64 // Put found the pool full and dropped the object
}

// Stats returns the pool's counters. A Get that is not counted in New was
// served from the pool.
func (p *Pool[T]) Stats() Stats {
	return Stats{New: p.news.Load(), Dropped: p.drops.Load()}
}

// Leak describes an object that was rented from a debug-mode pool and not
// returned.
type Leak struct {
	Object any    // the *T that was rented
	Stack  string // the stack of the Get that rented it
}

// Outstanding returns the objects rented from a debug-mode pool and not yet
// returned. It returns nil for a pool not in debug mode.
func (p *Pool[T]) Outstanding() []Leak {
	if p.debug == nil {
		return nil
	}
	return p.debug.outstanding()
}

// CheckLeaks returns an error that lists every object rented from a
// debug-mode pool and not returned, or nil if there is none. Call it when
// every holder should have returned its object, for example at the end of a
// test.
func (p *Pool[T]) CheckLeaks() error {
	leaks := p.Outstanding()
	if len(leaks) == 0 {
		return nil
	}
	msg := fmt.Sprintf("pool: %d object(s) rented and never returned; first rented at:\n%s", len(leaks), leaks[0].Stack)
	return fmt.Errorf("%s", msg)
}
