package vtask

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/zerogc/zerogc/pool"
)

// Completion is a pooled, reusable asynchronous operation for library
// authors: Rent one, hand out its Task, and complete it from any goroutine,
// for example an I/O callback, with SetResult, SetError or a TrySet method.
// When the task's holder consumes the result, the Completion returns to its
// pool by itself; its owner must not touch it after completing it.
type Completion[T any] struct {
	// Core is the only field: a *Core[T] whose home is set is the start of
	// a Completion[T] (see Core.take).
	Core[T]
}

// Rent returns a Completion from the pool of Completion[T], or a new one if
// the pool is empty. Its executor is nil (continuations run inline).
//
//zerogc:noalloc
func Rent[T any]() *Completion[T] {
	if p := lookupPool[Completion[T]](); p != nil {
		return p.Get()
	}
	return completionPool[T]().Get()
}

// RentBatch fills dst with Completions from the pool of Completion[T], as
// len(dst) calls of Rent would, for a caller that starts many operations at
// once (a fan-out): it looks the pool up once and takes the Completions in
// bulk (see pool.Pool.GetBatch). Each one is then used as one from Rent.
//
//zerogc:noalloc
func RentBatch[T any](dst []*Completion[T]) {
	p := lookupPool[Completion[T]]()
	if p == nil {
		p = completionPool[T]()
	}
	p.GetBatch(dst)
}

// PoolStats returns the counters of the pool that Rent[T] draws from, which
// tell how many Rents found it empty.
func PoolStats[T any]() pool.Stats { return completionPool[T]().Stats() }

func completionPool[T any]() *pool.Pool[Completion[T]] {
	if p := lookupPool[Completion[T]](); p != nil {
		return p
	}
	//zerogc:allow the pool of a T is created once, by its first Rent
	return createPool(func(p *pool.Pool[Completion[T]]) *Completion[T] {
		c := newCompletion[T]()
		c.home = p
		return c
	})
}

// newCompletion allocates a Completion that starts on a cache line: it pads
// the allocation up to a multiple of 64 bytes, and the allocator's size
// classes for such sizes are multiples of 64 as well, so their objects are
// 64-aligned. The fields that a completer writes and a sweep reads (state,
// value; see Core) then share a line, instead of straddling two for three
// Completions in four (a Completion[int] is 136 bytes, class 144: its
// objects start 16 bytes further into a line each time).
func newCompletion[T any]() *Completion[T] {
	// The pad is a multiple of 8 below 64 (sizes of structs with pointers
	// are multiples of 8). The Completion is the first field, so the
	// pointer to it is the pointer to the allocation and keeps it alive.
	// Above 512 bytes, an object with pointers starts with the runtime's
	// 8-byte header, so padding cannot align it: those are left as they
	// are (their T is large; its value spans lines anyway).
	size := unsafe.Sizeof(Completion[T]{})
	if size > 512-cacheLine {
		return new(Completion[T])
	}
	switch (cacheLine - size%cacheLine) % cacheLine {
	case 8:
		return &new(paddedCompletion[T, [8]byte]).c
	case 16:
		return &new(paddedCompletion[T, [16]byte]).c
	case 24:
		return &new(paddedCompletion[T, [24]byte]).c
	case 32:
		return &new(paddedCompletion[T, [32]byte]).c
	case 40:
		return &new(paddedCompletion[T, [40]byte]).c
	case 48:
		return &new(paddedCompletion[T, [48]byte]).c
	case 56:
		return &new(paddedCompletion[T, [56]byte]).c
	}
	return new(Completion[T])
}

// paddedCompletion is a Completion followed by P, a byte array.
type paddedCompletion[T, P any] struct {
	c Completion[T]
	_ P
}

// cacheLine is the size of a cache line on the machines vtask is tuned on.
const cacheLine = 64

// recycler is implemented by the pooled sources of this package other than
// Completion (which returns through Core.home); a Core whose rec is set
// calls it after each consumption.
type recycler interface{ recycle() }

// PoolSize is the capacity of each of the package's pools: enough for a few
// thousand operations of one type in flight at once (a fan-out) to recycle
// their sources without allocating. The first 2 × GOMAXPROCS live in the
// pool's slots, the rest in its overflow queue; see package pool.
const PoolSize = 4096

// poolCache is a copy-on-write list of the first pools created (each a
// *pool.Pool[X] in an interface), searched before the sync.Map: a type
// assertion per entry is cheaper than hashing a key, and a program uses few
// pooled types.
var poolCache atomic.Pointer[[]any]

const poolCacheMax = 16

// pools maps a pooled type, keyed by a nil *X, to its *pool.Pool[X]. Go has
// no per-instantiation variables, so the pools of generic types live here.
var pools sync.Map

// debugKeys holds the keys of the pools to create in debug mode (tests).
var debugKeys sync.Map

// lookupPool returns the pool of X, or nil if it was not created yet. The
// callers look up before they build the function for createPool: a func
// literal in generic code is a closure that would be allocated per call.
func lookupPool[X any]() *pool.Pool[X] {
	if cache := poolCache.Load(); cache != nil {
		for _, e := range *cache {
			if p, ok := e.(*pool.Pool[X]); ok {
				return p
			}
		}
	}
	//zerogc:allow sync.Map.Load hashes the key through the map's hash func value: no allocation
	if p, ok := pools.Load((*X)(nil)); ok {
		return p.(*pool.Pool[X])
	}
	return nil
}

// createPool creates the pool of X, whose objects newFn makes, unless
// another goroutine created it first.
func createPool[X any](newFn func(*pool.Pool[X]) *X) *pool.Pool[X] {
	key := (*X)(nil)
	var p *pool.Pool[X]
	mk := func() *X { return newFn(p) }
	if _, debug := debugKeys.Load(key); debug {
		p = pool.New(mk, pool.Size(PoolSize), pool.Debug())
	} else {
		p = pool.New(mk, pool.Size(PoolSize), pool.PerPCache(16))
	}
	actual, loaded := pools.LoadOrStore(key, p)
	if !loaded {
		// Add it to the cache: copy, append, publish. A lost CAS means
		// another pool was added meanwhile; retry with the new list.
		for {
			old := poolCache.Load()
			var list []any
			if old != nil {
				if len(*old) >= poolCacheMax {
					break
				}
				list = append(list, *old...)
			}
			list = append(list, actual)
			if poolCache.CompareAndSwap(old, &list) {
				break
			}
		}
	}
	return actual.(*pool.Pool[X])
}

var chanWaiterPool = pool.New(func() *chanWaiter { return &chanWaiter{ch: make(chan struct{}, 1)} })

func chanWaiters() *pool.Pool[chanWaiter] { return chanWaiterPool }
