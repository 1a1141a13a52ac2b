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

// freeList is the stack of ops ready for reuse. A mutex-guarded slice:
// one short critical section per rent and per release, and no bound to
// guess (it never holds more than the ops created).
type freeList struct {
	mu  sync.Mutex
	ops []*op
	// n is len(ops), stored under mu, for Reader.held, which reads it
	// without the lock.
	n atomic.Int32
}

func (f *freeList) pop() *op {
	f.mu.Lock()
	n := len(f.ops)
	if n == 0 {
		f.mu.Unlock()
		return nil
	}
	o := f.ops[n-1]
	f.ops[n-1] = nil
	f.ops = f.ops[:n-1]
	f.n.Store(int32(n - 1))
	f.mu.Unlock()
	return o
}

func (f *freeList) push(o *op) {
	f.mu.Lock()
	f.ops = append(f.ops, o)
	f.n.Store(int32(len(f.ops)))
	f.mu.Unlock()
}
