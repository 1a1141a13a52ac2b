// Package arena provides bump-pointer allocation of values of one type.
//
// An [Arena] hands out pointers to the elements of large typed chunks
// (each one a plain make([]T, n)), so allocating is an index increment
// instead of a trip through the Go allocator, and freeing everything at once
// is [Arena.Reset]. The chunks are ordinary Go slices: the garbage collector
// sees every pointer stored in them and every pointer into them, so nothing
// is hidden from it and nothing is freed while it is still referenced.
//
// # When a pointer must not outlive Reset
//
// Reset makes every element handed out since the previous Reset available
// again: the next allocations return the same addresses, zeroed. A pointer
// kept past Reset therefore does not dangle in the C sense (the memory is
// still valid Go memory), but it aliases whatever value is allocated there
// next: reading it sees another value, writing through it corrupts that
// value. This is the one rule of the package: after Reset, no pointer or
// slice obtained from the arena before it may be used. Typical safe uses are
// per-request or per-frame scratch whose lifetime ends at a known point
// (the end of a request, a parse, a simulation step).
//
// The rule cannot be enforced for raw pointers at no cost, so the package
// offers two checks:
//
//   - [Options.Debug]: Reset does not reuse chunks; it clears them and
//     allocates fresh ones, so a stale pointer never aliases a new value, and
//     [Arena.Check] reports any pointer that was not handed out in the
//     current generation.
//   - [Ref]: a generation-checked handle ([Arena.NewRef]) whose Get panics
//     with a clear message when the arena was Reset after it was made. It
//     works in every mode and costs two extra words per handle.
//
// An Arena is not safe for concurrent use: give each goroutine its own.
package arena

import (
	"errors"
	"fmt"
	"unsafe"
)

// Default growth bounds, in bytes of chunk memory. The element counts are
// derived from the size of T.
const (
	defaultFirstChunkBytes = 8 << 10 // 8 KiB
	defaultMaxChunkBytes   = 1 << 20 // 1 MiB
	minChunkElems          = 16
)

// ErrStale is returned by [Arena.Check] for a pointer that was not handed out
// by the arena in its current generation: it was kept past Reset, or it
// belongs to another arena or to the ordinary heap.
var ErrStale = errors.New("arena: pointer not allocated by this arena since its last Reset")

// Options configures an [Arena]. The zero value gives the defaults.
type Options struct {
	// FirstChunk is the number of elements in the first chunk. Zero means
	// as many as fit in 8 KiB (at least 16).
	FirstChunk int
	// MaxChunk caps chunk growth: each new chunk is twice as long as the
	// previous one until it reaches MaxChunk elements. Zero means as many as
	// fit in 1 MiB (at least FirstChunk). A single MakeSlice larger than
	// MaxChunk gets a chunk of its own, exactly as long as requested.
	MaxChunk int
	// Debug makes Reset retire its chunks instead of reusing them (they are
	// cleared and left to the garbage collector), so a pointer kept past
	// Reset never aliases a newer value, and Check can tell it apart. It
	// costs a fresh allocation of chunk memory after every Reset.
	Debug bool
}

// Arena allocates values of type T by bumping an index into typed chunks.
// The zero value is not usable; create one with [New].
type Arena[T any] struct {
	chunks [][]T // every chunk, in allocation order; chunks[ci] is current
	used   []int // used[i]: elements handed out from chunks[i] (Check, Reset)
	cur    []T   // chunks[ci], cached for the fast path
	ci     int   // index of the current chunk; -1 before the first chunk
	off    int   // next free index in cur
	next   int   // length of the next chunk to allocate
	first  int
	max    int
	n      int    // elements handed out since the last Reset
	gen    uint64 // generation: incremented by every Reset
	debug  bool
}

// New returns an empty arena for values of type T. It allocates no chunk
// until the first allocation. Negative sizes in o are an error.
func New[T any](o Options) (*Arena[T], error) {
	if o.FirstChunk < 0 || o.MaxChunk < 0 {
		return nil, fmt.Errorf("arena: negative chunk size (FirstChunk=%d, MaxChunk=%d); use 0 for the default", o.FirstChunk, o.MaxChunk)
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	if size == 0 {
		size = 1
	}
	first := o.FirstChunk
	if first == 0 {
		first = max(defaultFirstChunkBytes/size, minChunkElems)
	}
	maxc := o.MaxChunk
	if maxc == 0 {
		maxc = max(defaultMaxChunkBytes/size, first)
	}
	if maxc < first {
		return nil, fmt.Errorf("arena: MaxChunk (%d) is smaller than FirstChunk (%d)", maxc, first)
	}
	return &Arena[T]{ci: -1, next: first, first: first, max: maxc, debug: o.Debug}, nil
}

// MustNew is like [New] but panics on invalid options. It is meant for
// options written as constants.
func MustNew[T any](o Options) *Arena[T] {
	a, err := New[T](o)
	if err != nil {
		panic(err)
	}
	return a
}

// New returns a pointer to a zeroed T in the arena. The pointer is valid
// until the next Reset (see the package documentation).
func (a *Arena[T]) New() *T {
	if a.off == len(a.cur) {
		a.advance(1)
	}
	p := &a.cur[a.off]
	a.off++
	a.n++
	return p
}

// Alloc returns a pointer to a copy of v in the arena.
func (a *Arena[T]) Alloc(v T) *T {
	p := a.New()
	*p = v
	return p
}

// MakeSlice returns a zeroed slice of n elements in the arena. Its capacity
// is exactly n, so appending to it reallocates on the heap instead of
// overwriting the arena's next elements. It panics if n is negative.
func (a *Arena[T]) MakeSlice(n int) []T {
	if n < 0 {
		panic("arena: MakeSlice with negative length")
	}
	if n == 0 {
		return []T{}
	}
	if len(a.cur)-a.off < n {
		a.advance(n)
	}
	s := a.cur[a.off : a.off+n : a.off+n]
	a.off += n
	a.n += n
	return s
}

// advance makes a chunk with room for n elements current. It reuses the
// following chunks kept by Reset when they are large enough, and otherwise
// allocates a new one.
func (a *Arena[T]) advance(n int) {
	if a.ci >= 0 {
		a.used[a.ci] = a.off
	}
	// Reuse a chunk kept by Reset: the next one large enough.
	for i := a.ci + 1; i < len(a.chunks); i++ {
		if len(a.chunks[i]) >= n {
			// Chunks skipped here stay unused (used[i] == 0) in this generation.
			a.ci, a.cur, a.off = i, a.chunks[i], 0
			return
		}
	}
	size := a.next
	if n > size {
		size = n // a dedicated chunk for one large slice; growth is unchanged
	} else if a.next < a.max {
		a.next = min(a.next*2, a.max)
	}
	c := make([]T, size)
	a.chunks = append(a.chunks, c)
	a.used = append(a.used, 0)
	a.ci, a.cur, a.off = len(a.chunks)-1, c, 0
}

// Reset frees every element at once: the arena keeps its chunks (unless in
// Debug mode) and hands their elements out again, zeroed. Every pointer and
// slice obtained before Reset must no longer be used.
func (a *Arena[T]) Reset() {
	if a.ci >= 0 {
		a.used[a.ci] = a.off
	}
	// Zero what was handed out, so that the values the old elements pointed
	// to can be collected and the next allocations start from zero.
	for i, c := range a.chunks {
		clear(c[:a.used[i]])
		a.used[i] = 0
	}
	if a.debug {
		// Retire the chunks: a stale pointer keeps its chunk alive, so no
		// fresh chunk can overlap it, and Check can tell it is stale.
		clear(a.chunks)
		a.chunks = a.chunks[:0]
		a.used = a.used[:0]
		a.next = a.first
	}
	a.ci, a.cur, a.off = -1, nil, 0
	if !a.debug && len(a.chunks) > 0 {
		a.ci, a.cur = 0, a.chunks[0]
	}
	a.n = 0
	a.gen++
}

// Release drops every chunk, so that the garbage collector can reclaim the
// arena's memory, and starts a new generation as Reset does.
func (a *Arena[T]) Release() {
	clear(a.chunks)
	a.chunks, a.used = nil, nil
	a.ci, a.cur, a.off, a.n = -1, nil, 0, 0
	a.next = a.first
	a.gen++
}

// Len returns the number of elements handed out since the last Reset.
func (a *Arena[T]) Len() int { return a.n }

// Cap returns the number of elements the arena's chunks hold in total.
func (a *Arena[T]) Cap() int {
	c := 0
	for _, ch := range a.chunks {
		c += len(ch)
	}
	return c
}

// Chunks returns the number of chunks the arena holds.
func (a *Arena[T]) Chunks() int { return len(a.chunks) }

// Generation returns the number of times the arena was Reset or Released.
func (a *Arena[T]) Generation() uint64 { return a.gen }

// Check reports whether p points to an element handed out by the arena since
// its last Reset. It returns nil if so and [ErrStale] otherwise. In Debug
// mode a pointer kept past Reset is always reported; without Debug, chunks
// are reused, so a stale pointer into a region handed out again looks live
// and only pointers past the reused region are reported. Check is linear in
// the number of chunks; it is a debugging aid, not a fast path.
func (a *Arena[T]) Check(p *T) error {
	if p == nil {
		return ErrStale
	}
	if a.ci >= 0 {
		a.used[a.ci] = a.off
	}
	var zero T
	size := unsafe.Sizeof(zero)
	addr := uintptr(unsafe.Pointer(p))
	for i, c := range a.chunks {
		if a.used[i] == 0 {
			continue
		}
		base := uintptr(unsafe.Pointer(&c[0]))
		if size == 0 {
			if addr == base {
				return nil
			}
			continue
		}
		if addr >= base && addr < base+uintptr(a.used[i])*size && (addr-base)%size == 0 {
			return nil
		}
	}
	return ErrStale
}

// Ref is a generation-checked handle to an arena element: Get panics if the
// arena was Reset (or Released) after the handle was made, instead of
// returning a pointer that aliases a newer value. The zero Ref is invalid.
type Ref[T any] struct {
	p   *T
	a   *Arena[T]
	gen uint64
}

// NewRef allocates a zeroed element like [Arena.New] and returns a checked
// handle to it.
func (a *Arena[T]) NewRef() Ref[T] {
	return Ref[T]{p: a.New(), a: a, gen: a.gen}
}

// Valid reports whether r was made in its arena's current generation.
func (r Ref[T]) Valid() bool { return r.a != nil && r.a.gen == r.gen }

// Get returns the element's pointer. It panics if the arena was Reset after
// r was made: using the element then would read or corrupt a newer value.
func (r Ref[T]) Get() *T {
	if r.a == nil {
		panic("arena: Get on a zero Ref")
	}
	if r.a.gen != r.gen {
		panic(fmt.Sprintf("arena: Ref used after Reset (made in generation %d, arena is at generation %d)", r.gen, r.a.gen))
	}
	return r.p
}
