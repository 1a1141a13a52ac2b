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

func newRing[T any](n int) *ring[T] {
	size := 1
	for size < n {
		size <<= 1
	}
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

// getBatch removes up to len(dst) values into dst with one CompareAndSwap
// of deq, and returns how many it removed (0 if the ring is empty). It
// takes the run of written cells that starts at deq, so that a per-P cache
// refills from the ring at the cost of one atomic read-modify-write for
// several objects.
//
// Invariant (as for get): the cells pos..pos+k-1 were seen written for this
// lap (seq == position+1) before the CAS moved deq from pos to pos+k; only
// the consumer that moves deq past a position reads and frees its cell, and
// deq only grows, so after a successful CAS those k cells are ours alone.
func (r *ring[T]) getBatch(dst []*T) int {
	cells, mask := r.cells, r.mask
	pos := r.deq.Load()
	for {
		k := 0
		for k < len(dst) && cells[(pos+uint64(k))&mask].seq.Load() == pos+uint64(k)+1 {
			k++
		}
		if k == 0 {
			if diff := int64(r.cells[pos&r.mask].seq.Load() - (pos + 1)); diff < 0 {
				return 0 // nothing written at pos yet: empty
			}
			pos = r.deq.Load() // another consumer took pos
			continue
		}
		if r.deq.CompareAndSwap(pos, pos+uint64(k)) {
			for i, d := range dst[:k] {
				c := &cells[(pos+uint64(i))&mask]
				d = c.val
				c.val = nil
				c.seq.Store(pos + uint64(i) + mask + 1)
				dst[i] = d
			}
			return k
		}
		pos = r.deq.Load()
	}
}

// putBatch adds the values of src with one CompareAndSwap of enq, as many
// as there are free cells in a run from enq, and returns how many it added
// (the first ones of src; 0 if the ring is full).
//
// Invariant (as for put): the cells pos..pos+k-1 were seen free for this
// lap (seq == position) before the CAS moved enq from pos to pos+k; only
// the producer that moves enq past a position writes its cell.
func (r *ring[T]) putBatch(src []*T) int {
	cells, mask := r.cells, r.mask
	pos := r.enq.Load()
	for {
		k := 0
		for k < len(src) && cells[(pos+uint64(k))&mask].seq.Load() == pos+uint64(k) {
			k++
		}
		if k == 0 {
			if diff := int64(r.cells[pos&r.mask].seq.Load() - pos); diff < 0 {
				return 0 // the cell still holds a value from the last lap: full
			}
			pos = r.enq.Load() // another producer took pos
			continue
		}
		if r.enq.CompareAndSwap(pos, pos+uint64(k)) {
			for i, x := range src[:k] {
				c := &cells[(pos+uint64(i))&mask]
				c.val = x
				c.seq.Store(pos + uint64(i) + 1)
			}
			return k
		}
		pos = r.enq.Load()
	}
}
