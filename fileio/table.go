package fileio

import (
	"errors"
	"sync"
	"sync/atomic"
)

// maxOps is the most ops a Reader creates: the index must fit the 16 bits
// the io_uring user_data gives it.
const maxOps = 1 << 16

// ErrTooManyHeld is returned for a read started while 65536 earlier reads
// of the Reader have results nobody consumed yet: each holds its pooled
// op until Await, AwaitContext or Result consumes it.
var ErrTooManyHeld = errors.New("fileio: 65536 reads have results nobody consumed; Await (or Result) earlier tasks before starting more")

const chunkOps = 256

// opTable maps an op index to its op. It grows by chunks as ops are
// created; an entry is written once, before the op is first used, and
// read by the backends (the io_uring loop looks ops up by index).
type opTable struct {
	chunks [maxOps / chunkOps]atomic.Pointer[[chunkOps]atomic.Pointer[op]]
}

func (t *opTable) get(idx uint32) *op {
	c := t.chunks[(idx/chunkOps)%(maxOps/chunkOps)].Load()
	if c == nil {
		return nil
	}
	return c[idx%chunkOps].Load()
}

func (t *opTable) set(idx uint32, o *op) {
	slot := &t.chunks[idx/chunkOps]
	c := slot.Load()
	if c == nil {
		// Whoever installs the chunk first wins; the others use it.
		slot.CompareAndSwap(nil, new([chunkOps]atomic.Pointer[op]))
		c = slot.Load()
	}
	c[idx%chunkOps].Store(o)
}

// freeList holds the ops ready for reuse: one stack per stripe, an op
// in stack idx % stripes (with several io_uring rings and
// uringRoundRobin, the stripe is the op's ring; else there is one). A
// mutex-guarded slice each: one short critical section per rent and per
// release, and no bound to guess (they never hold more than the ops
// created).
type freeList struct {
	mu  sync.Mutex
	ops [][]*op
	// n is the ops held in all stacks, stored under mu, for
	// Reader.held, which reads it without the lock.
	n atomic.Int32
}

// init makes the list empty with the given number of stripes, each with
// room for capacity ops.
func (f *freeList) init(stripes, capacity int) {
	f.ops = make([][]*op, stripes)
	for i := range f.ops {
		f.ops[i] = make([]*op, 0, capacity)
	}
	f.n.Store(0)
}

// pop takes the op last released in stripe want % stripes, or, if that
// stack is empty, in the next stripe that has one; nil when none is free.
func (f *freeList) pop(want uint32) *op {
	f.mu.Lock()
	for i := range uint32(len(f.ops)) {
		st := &f.ops[(want+i)%uint32(len(f.ops))]
		n := len(*st)
		if n == 0 {
			continue
		}
		o := (*st)[n-1]
		(*st)[n-1] = nil
		*st = (*st)[:n-1]
		f.n.Add(-1)
		f.mu.Unlock()
		return o
	}
	f.mu.Unlock()
	return nil
}

func (f *freeList) push(o *op) {
	f.mu.Lock()
	st := &f.ops[o.idx%uint32(len(f.ops))]
	*st = append(*st, o)
	f.n.Add(1)
	f.mu.Unlock()
}
