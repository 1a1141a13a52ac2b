package fileio

import (
	"context"
	"io/fs"
	"runtime"
	"sync/atomic"
	"syscall"

	"github.com/zerogc/zerogc/vtask"
)

var errNameTooLong error = syscall.ENAMETOOLONG

// maxChunk bounds one read request, so a large read is several requests
// and a cancel or Close is noticed between them.
const maxChunk = 4 << 20

type opKind uint8

const (
	kindInto opKind = iota // ReadInto: caller's buffer, Core[int]
	kindFile               // ReadFile: new slice, Core[[]byte]
)

// op is one pooled read: a slot of the Reader's table. Its two vtask cores
// are the sources of the tasks handed to callers; only the one matching
// kind is used in a given round. The op goes back to the free list from the
// core's release hook, after the caller consumed the result.
//
// Ownership: between acquire and launch the renting goroutine owns the
// fields; from launch to finish the backend does (the io_uring loop or one
// worker); after finish the fields are dead until the next acquire. The
// hand-overs go through channels, which order the accesses.
type op struct {
	r     *Reader
	idx   uint32
	ver   atomic.Uint32 // round counter; with idx it forms the io_uring user_data
	ints  vtask.Core[int]
	bytes vtask.Core[[]byte]

	kind  opKind
	path  string
	cpath []byte // path, NUL-terminated; slot-owned, reused
	buf   []byte // destination: the caller's (kindInto) or ours (kindFile)
	n     int    // bytes read so far
	exact bool   // kindFile: buf is sized from the file's size (a regular file)
	fd    int32  // open descriptor, -1 when none
	err   error  // first failure; the read stops at the next step
	ctx   context.Context

	// ReadInto's end-of-file check: once buf is full, one more byte is
	// read into probe; getting it means the file was larger (ErrTruncated).
	// stream marks a pipe, FIFO or device, which has no end to compare
	// with: there the read ends when buf is full.
	// size is the size of a regular file as fstat gave it, when known
	// and not 0 (which /proc files report): ReadInto then stops there,
	// and knows whether the file fits without the probe.
	probe   [1]byte
	probing bool
	cached  bool // io_uring: openInline found the whole read in the page cache
	stream  bool
	size    int64

	// cacheGen is the cache's generation when this ReadFile started; its
	// contents go into the cache only if no Forget or Purge came since.
	cacheGen uint64

	// pin holds, for one round, every Go object whose address the kernel
	// has and that the op does not own (the destination; on the workers
	// backend the name too); finish unpins.
	pin runtime.Pinner
	// keep pins, on the io_uring backend, the op's own memory the kernel
	// reads or writes: the op itself (its probe byte and statx buffer)
	// and the path buffer kept points to. Only the op's ring loop touches
	// keep and kept: it pins at a read's start when the path buffer is
	// new (it grows rarely), and unpins every op it served when it stops,
	// so no pin outlives the Reader; between those, an op is never
	// garbage (the table holds it). Three pins per read became one.
	keep runtime.Pinner
	kept *byte

	sys sysState // backend scratch (statx buffer, poll fds)

	// Cancellation: a per-slot watcher goroutine, started on first use
	// with a cancelable context, waits for the context or the end of the
	// round. One round at a time passes through it.
	watchCh   chan watchReq
	unwatchCh chan struct{}
	watching  bool
	cancelVer atomic.Uint32 // workers: round whose cancel was requested

	// Workers: the state of the round's openat (see workers.go), as
	// round<<32 | openRunning/openDetached/openAbandoned, and the monitor
	// tick at which it began.
	openWord  atomic.Uint64
	openTick  atomic.Uint32
	streamRef atomic.Pointer[streamRef] // workers: the stream the round waits on
}

func newOp(r *Reader, idx uint32) *op {
	o := &op{r: r, idx: idx, fd: -1}
	o.ints.SetRelease(release, o)
	o.bytes.SetRelease(release, o)
	if r.exec != nil {
		o.ints.SetExecutor(r.exec)
		o.bytes.SetExecutor(r.exec)
	}
	return o
}

// rented starts a new round for the renting goroutine.
func (o *op) rented(hit bool, path string) {
	o.ver.Add(1)
	if hit {
		traceRent(EvRentHit, o, path)
	} else {
		traceRent(EvRentNew, o, path)
	}
}

// prepare fills the op for a read. It copies path into the slot-owned,
// pinned, NUL-terminated buffer the kernel reads the name from.
func (o *op) prepare(kind opKind, ctx context.Context, path string, buf []byte) {
	o.kind, o.path, o.buf, o.n, o.exact, o.fd, o.err, o.ctx = kind, path, buf, 0, false, -1, nil, ctx
	o.probing, o.stream, o.size = false, false, -1
	if cap(o.cpath) < len(path)+1 {
		// Grow to the next power of two so long paths settle quickly.
		size := 64
		for size < len(path)+1 {
			size <<= 1
		}
		//zerogc:allow the path buffer grows to the longest path the op has held, then is reused
		o.cpath = make([]byte, size)
	}
	o.cpath = o.cpath[:len(path)+1]
	copy(o.cpath, path)
	o.cpath[len(path)] = 0
	if o.r.kind != Uring {
		// A worker's openat may outlive the round (an open abandoned in
		// the kernel); the io_uring loop keeps the name pinned instead.
		//zerogc:allow the op's Pinner is reused: two pins per round fit its inline slots
		o.pin.Pin(&o.cpath[0])
	}
	if len(buf) > 0 {
		//zerogc:allow the op's Pinner is reused: two pins per round fit its inline slots
		o.pin.Pin(&buf[0])
	}
}

// watch arms the slot's watcher for ctx. Called before the op reaches the
// backend, so the round's unwatch signal always follows its arming.
func (o *op) watch(ctx context.Context) {
	if o.watchCh == nil {
		//zerogc:allow once per op: its watcher's channels and goroutine serve every later round
		o.watchCh = make(chan watchReq, 1)
		// Two rounds can be pending: the watcher may still be draining the
		// previous round's signal when this round ends.
		//zerogc:allow once per op: its watcher's channels and goroutine serve every later round
		o.unwatchCh = make(chan struct{}, 2)
		//zerogc:allow once per op: its watcher's channels and goroutine serve every later round
		go o.watcher()
	}
	o.watching = true
	o.watchCh <- watchReq{ctx, o.ver.Load()}
}

// watchReq is one round handed to the watcher.
type watchReq struct {
	ctx context.Context
	ver uint32
}

// watcher cancels a round whose context is done before the round ends. It
// takes exactly one unwatch signal per round it received, so rounds never
// mix up; a cancel that arrives late carries the old round number and is
// ignored by the backend. It exits when the Reader closes and no round
// is pending.
func (o *op) watcher() {
	for {
		var w watchReq
		select {
		case w = <-o.watchCh:
		case <-o.r.closeCh:
			select {
			case w = <-o.watchCh:
			default:
				return
			}
		}
		select {
		case <-w.ctx.Done():
			o.r.be.cancel(o, w.ver)
			<-o.unwatchCh
		case <-o.unwatchCh:
		}
	}
}

// finish ends the round on the backend's goroutine: it releases the buffer
// pin, ends the watcher's round, gives back the in-flight token and
// completes the task. No field of o may be touched after the core is
// completed: the caller may consume the result and the op may be rented
// again at once.
func (o *op) finish() { o.end(true) }

// end is finish; with releaseToken false the in-flight token stays taken,
// for whoever still runs a system call of the round (an abandoned open)
// to give back when that call returns.
func (o *op) end(releaseToken bool) {
	o.pin.Unpin()
	if o.err == nil && o.r.closed.Load() {
		// Close was called while the read was in flight: every such read
		// fails, whether or not its I/O finished.
		o.fail("read", ErrClosed)
	}
	if o.watching {
		o.watching = false
		o.unwatchCh <- struct{}{}
	}
	err, n, kind, buf, path, exact, gen := o.err, o.n, o.kind, o.buf, o.path, o.exact, o.cacheGen
	o.buf, o.ctx, o.err = nil, nil, nil
	if releaseToken {
		<-o.r.inFlight // the I/O is over: let the next read start
	}
	traceDone(o, n, err)
	if kind == kindInto {
		if err != nil {
			o.ints.SetError(err)
		} else {
			o.ints.SetResult(n)
		}
		return
	}
	if err != nil {
		o.bytes.SetError(err)
		return
	}
	// Only a regular file that held exactly the size it reported is
	// cached: /proc files report 0 and sysfs files 4096 whatever they
	// hold, and FIFOs and devices are never exact.
	if c := o.r.cache; c != nil && exact && n == len(buf) {
		//zerogc:allow ReadFile with a cache only: keeps a copy of a file the first time it is read
		c.put(path, buf, gen)
	}
	buf = buf[:n]
	o.bytes.SetResult(buf)
}

// chunk returns the destination of the round's next read request, or nil
// when the read is complete. A whole-file read of unknown size grows its
// buffer as append does; a full ReadInto buffer gets the probe byte,
// unless the file is a stream. With pin, a new buffer is pinned for the
// kernel (io_uring; the probe byte is part of the op, pinned by keep).
func (o *op) chunk(pin bool) []byte {
	if o.kind == kindInto && o.size >= 0 {
		end := int(min(o.size, int64(len(o.buf))))
		if o.n >= end {
			if o.n == len(o.buf) && o.size > int64(len(o.buf)) {
				o.fail("read", ErrTruncated)
			}
			return nil
		}
		c := o.buf[o.n:end]
		if len(c) > maxChunk {
			c = c[:maxChunk]
		}
		return c
	}
	if o.n == len(o.buf) {
		switch {
		case o.kind == kindInto && (o.stream || o.probing):
			return nil
		case o.kind == kindInto:
			o.probing = true
			// The probe byte is part of the op, which the io_uring loop
			// keeps pinned (keep).
			return o.probe[:]
		case o.exact:
			return nil
		}
		nb := make([]byte, max(512, 2*len(o.buf)))
		copy(nb, o.buf)
		o.buf = nb
		if pin {
			o.pin.Pin(&o.buf[0])
		}
	}
	c := o.buf[o.n:]
	if len(c) > maxChunk {
		c = c[:maxChunk]
	}
	return c
}

// sized records what fstat said of a ReadInto's file: its type (S_IFMT
// bits) and size.
func (o *op) sized(typ uint32, size int64) {
	switch typ {
	case syscall.S_IFREG:
		if size > 0 {
			o.size = size
		}
	case syscall.S_IFIFO, syscall.S_IFCHR, syscall.S_IFSOCK:
		o.stream = true
	}
}

// advance accounts m > 0 bytes read into the last chunk. It reports
// whether the read is over: a byte read into the probe means the file does
// not fit the caller's buffer.
func (o *op) advance(m int) bool {
	if o.probing {
		o.fail("read", ErrTruncated)
		return true
	}
	o.n += m
	return false
}

// fail records the first error of the round as a *fs.PathError.
func (o *op) fail(opName string, err error) {
	if o.err == nil {
		//zerogc:allow an I/O error: the error path
		o.err = &fs.PathError{Op: opName, Path: o.path, Err: err}
	}
}

// stopReason returns the error that must end the round now (reader
// closed, or context canceled), or nil.
func (o *op) stopReason(canceled bool) error {
	if o.r.closed.Load() {
		return ErrClosed
	}
	if canceled && o.ctx != nil {
		if err := o.ctx.Err(); err != nil {
			return err
		}
		return context.Canceled
	}
	return nil
}
