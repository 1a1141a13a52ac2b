package pool

import "sync/atomic"

// ring is a bounded multi-producer multi-consumer queue of *T, the
// overflow of a Pool whose size exceeds its slot array. Each cell carries a
// sequence number that tells producers and consumers whose turn it is, so
// that every operation is a load and one CompareAndSwap on a position
// counter, and no cell is written by two goroutines at once.
type ring[T any] struct {
	enq   atomic.Uint64 // next position to write
	_     [cacheLine - 8]byte
	deq   atomic.Uint64 // next position to read
	_     [cacheLine - 8]byte
	mask  uint64
	cells []cell[T]
}

type cell[T any] struct {
	// seq is pos when the cell at pos is free for the producer of pos,
	// and pos+1 when it holds that producer's value for the consumer of
	// pos. The consumer then sets it to pos+len(cells), freeing it for the
	// producer of the next lap.
	//
	// Invariant: val is written only by the producer that won the CAS of
	// enq from pos, before it stores seq = pos+1 (release); it is read and
	// cleared only by the consumer that won the CAS of deq from pos, after
	// it loaded seq == pos+1 (acquire).
	seq atomic.Uint64
	val *T
}

// pow2AtLeast returns the smallest power of two that is at least n (1 for
// n <= 1).
func pow2AtLeast(n int) int {
	size := 1
	for size < n {
		size <<= 1
	}
	return size
}

func newRing[T any](n int) *ring[T] {
	size := pow2AtLeast(n)
	r := &ring[T]{mask: uint64(size - 1), cells: make([]cell[T], size)}
	for i := range r.cells {
		r.cells[i].seq.Store(uint64(i))
	}
	return r
}

// put adds x and reports whether there was room.
func (r *ring[T]) put(x *T) bool {
	pos := r.enq.Load()
	for {
		c := &r.cells[pos&r.mask]
		seq := c.seq.Load()
		switch diff := int64(seq - pos); {
		case diff == 0:
			if r.enq.CompareAndSwap(pos, pos+1) {
				c.val = x
				c.seq.Store(pos + 1)
				return true
			}
			pos = r.enq.Load()
		case diff < 0:
			return false // the cell still holds a value from the last lap: full
		default:
			pos = r.enq.Load() // another producer took pos
		}
	}
}

// get removes and returns a value, or nil if the ring is empty.
func (r *ring[T]) get() *T {
	pos := r.deq.Load()
	for {
		c := &r.cells[pos&r.mask]
		seq := c.seq.Load()
		switch diff := int64(seq - (pos + 1)); {
		case diff == 0:
			if r.deq.CompareAndSwap(pos, pos+1) {
				x := c.val
				c.val = nil
				c.seq.Store(pos + r.mask + 1)
				return x
			}
			pos = r.deq.Load()
		case diff < 0:
			return nil // nothing written at pos yet: empty
		default:
			pos = r.deq.Load() // another consumer took pos
		}
	}
}

// batchSize is the number of objects a batchRing cell holds: half of the
// largest per-P cache (see PerPCache).
const batchSize = maxPerPCache / 2

// batchRing is ring with a batch of up to batchSize objects in each cell,
// the overflow of a pool with per-P caches (PerPCache): a cache that is full
// moves half of its objects into one cell, and a cache that is empty takes
// a cell's worth, so that the shared path costs one CompareAndSwap and one
// atomic store per batch, not per object. The protocol is ring's; only the
// payload differs.
type batchRing[T any] struct {
	enq   atomic.Uint64
	_     [cacheLine - 8]byte
	deq   atomic.Uint64
	_     [cacheLine - 8]byte
	mask  uint64
	cells []batchCell[T]
}

type batchCell[T any] struct {
	// seq is as in cell; n and vals are written only by the producer that
	// won the CAS of enq from pos, before it stores seq = pos+1, and read
	// and cleared only by the consumer that won the CAS of deq from pos,
	// after it loaded seq == pos+1.
	seq  atomic.Uint64
	n    int
	vals [batchSize]*T
}

func newBatchRing[T any](cells int) *batchRing[T] {
	size := pow2AtLeast(cells)
	r := &batchRing[T]{mask: uint64(size - 1), cells: make([]batchCell[T], size)}
	for i := range r.cells {
		r.cells[i].seq.Store(uint64(i))
	}
	return r
}

// put adds the objects of src (at most batchSize) as one batch and reports
// whether there was room.
func (r *batchRing[T]) put(src []*T) bool {
	pos := r.enq.Load()
	for {
		c := &r.cells[pos&r.mask]
		switch diff := int64(c.seq.Load() - pos); {
		case diff == 0:
			if r.enq.CompareAndSwap(pos, pos+1) {
				c.n = copy(c.vals[:], src)
				c.seq.Store(pos + 1)
				return true
			}
			pos = r.enq.Load()
		case diff < 0:
			return false // full
		default:
			pos = r.enq.Load()
		}
	}
}

// get moves the objects of one batch into dst (which has room for
// batchSize) and returns how many, or 0 if the ring is empty.
func (r *batchRing[T]) get(dst []*T) int {
	pos := r.deq.Load()
	for {
		c := &r.cells[pos&r.mask]
		switch diff := int64(c.seq.Load() - (pos + 1)); {
		case diff == 0:
			if r.deq.CompareAndSwap(pos, pos+1) {
				n := copy(dst, c.vals[:c.n])
				clear(c.vals[:c.n])
				c.seq.Store(pos + r.mask + 1)
				return n
			}
			pos = r.deq.Load()
		case diff < 0:
			return 0 // empty
		default:
			pos = r.deq.Load()
		}
	}
}
