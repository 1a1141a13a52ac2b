//go:build linux

package fileio

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/zerogc/zerogc/fileio/internal/uring"
	"golang.org/x/sys/unix"
)

// sysState is the per-op scratch of the Linux backends.
type sysState struct {
	stx      unix.Statx_t // io_uring statx result (pinned for the round)
	st       unix.Stat_t  // workers fstat result
	stage    stage        // io_uring: the request in flight
	active   bool         // io_uring: the loop owns this op
	inKernel bool         // io_uring: a request of this op is outstanding
	ud       uint64       // io_uring: user_data of that request
	fdWait   bool         // io_uring: waiting in fdWait for a descriptor

	// Written and read by the io_uring loop only, so that a late cancel
	// can never touch a round that another goroutine owns.
	cancelRound uint32 // round whose cancel was requested
	doneRound   uint32 // last round the loop finished
}

// canceled reports whether a cancel was requested for o's current round.
func (s *sysState) canceled(o *op) bool { return s.cancelRound == o.ver.Load() }

type stage uint8

const (
	stOpen stage = iota
	stStatx
	stRead
)

var stageNames = [...]string{stOpen: "openat", stStatx: "statx", stRead: "read"}

// Request words sent to the loop: kind in the top two bits, then the slot
// index and the slot's round.
const (
	reqStart    = 0
	reqCancel   = 1
	reqShutdown = 2

	// user_data of requests that are not a step of an op. Op steps use
	// idx<<32 | round with idx < 2^16, so these never collide.
	udWake       = 1 << 63
	udCancelBit  = 1 << 62
	udWakeCancel = udWake | udCancelBit
	udCloseBit   = 1 << 61 // a background close; low bits hold the fd
)

// uringStatx makes new io_uring backends size whole files with
// IORING_OP_STATX rather than fstat; tests turn it on to cover that path.
var uringStatx = false

func opUD(idx, ver uint32) uint64 { return uint64(idx)<<32 | uint64(ver) }

// uringBackend runs every read of a Reader on one io_uring, owned by a
// single loop goroutine that both submits and reaps:
//
//	for {
//		drain the request queue (starts, cancels, shutdown) into SQEs
//		io_uring_enter(submit all prepared SQEs, wait for >= 1 completion)
//		reap every CQE; each one advances its op to the next step
//	}
//
// Callers never touch the ring: they push a request word on reqs and, if
// the loop is asleep in io_uring_enter, wake it by writing an eventfd the
// loop keeps a read request on. Under load the loop does not sleep, so
// many reads share one io_uring_enter (batching) and no wakeup is paid.
type uringBackend struct {
	r    *Reader
	ring *uring.Ring
	reqs chan uint64

	// queued counts requests announced but not yet drained; sleeping is
	// true while the loop is (about to be) blocked in io_uring_enter.
	// Caller: queued++, send, then if sleeping CAS true->false, write the
	// eventfd. Loop: sleeping=true, then sleep only if queued==0. With
	// sequentially consistent atomics one side always sees the other:
	// either the loop sees queued>0, or the caller sees sleeping.
	queued   atomic.Int32
	sleeping atomic.Bool

	wakeFd     int
	mem        *loopMem
	memPin     runtime.Pinner
	wakeArmed  bool // an eventfd read is outstanding
	wakeCancel bool // shutting down: its cancel was submitted
	finished   int  // ops completed since the loop last yielded
	closing    int  // background closes outstanding
	statx      bool // size whole files with IORING_OP_STATX instead of fstat
	inKernel   int  // op requests outstanding
	active     int  // ops owned by the loop
	fds        int  // descriptors open for ops (closes not yet submitted)
	// fdWait holds ops whose openat failed with EMFILE or ENFILE while
	// this Reader held descriptors: each close that completes retries one
	// (all, once the Reader holds none), so reads wait for a descriptor
	// instead of failing. Capacity: the in-flight bound.
	fdWait   []*op
	shutting bool
	done     chan struct{}
}

// loopMem is the loop's memory that the kernel reads or writes.
type loopMem struct {
	wakeBuf [8]byte
	empty   [1]byte // "" for statx(fd, "", AT_EMPTY_PATH)
}

var eventOne = [8]byte{1} // little-endian uint64 1, written to wake the loop

func newUring(r *Reader, inFlight int) (backend, error) {
	entries := 4
	for entries < 2*inFlight+4 {
		entries <<= 1
	}
	ring, err := uring.New(uint32(entries))
	if err != nil {
		return nil, err
	}
	if int(ring.SQEntries()) < 2*inFlight+4 {
		ring.Close()
		return nil, fmt.Errorf("io_uring: kernel granted %d entries, %d in-flight reads need %d (lower WithMaxInFlight)", ring.SQEntries(), inFlight, 2*inFlight+4)
	}
	// Requests the kernel cannot finish inline (an openat that misses the
	// dentry cache, statx) go to io-wq kernel threads. Cap them; best
	// effort: kernels before 5.15 lack the call and keep their default.
	_ = ring.SetMaxWorkers(uint32(2*runtime.GOMAXPROCS(0)), 0)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		ring.Close()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	b := &uringBackend{
		r:    r,
		ring: ring,
		// Starts are bounded by the in-flight tokens; a late cancel may
		// come from any op's watcher, and waits briefly if the queue is
		// full (the loop drains it without waiting on anyone).
		reqs:   make(chan uint64, 3*inFlight+8),
		wakeFd: efd,
		mem:    new(loopMem),
		done:   make(chan struct{}),
		statx:  uringStatx,
		fdWait: make([]*op, 0, inFlight),
	}
	b.memPin.Pin(b.mem)
	go b.loop()
	return b, nil
}

func (b *uringBackend) send(req uint64) {
	b.queued.Add(1)
	b.reqs <- req
	if b.sleeping.Load() && b.sleeping.CompareAndSwap(true, false) {
		_, _ = unix.Write(b.wakeFd, eventOne[:])
	}
}

func (b *uringBackend) start(o *op) {
	b.send(reqStart<<62 | opUD(o.idx, o.ver.Load()))
}

func (b *uringBackend) cancel(o *op, ver uint32) {
	traceCancel(o, ver, "async-cancel")
	if b.r.closed.Load() {
		// Close cancels every request itself, and the loop may be gone.
		return
	}
	b.send(reqCancel<<62 | opUD(o.idx, ver))
}

func (b *uringBackend) shutdown() {
	b.send(reqShutdown << 62)
	<-b.done
	b.ring.Close()
	_ = unix.Close(b.wakeFd)
	b.memPin.Unpin()
}

func (b *uringBackend) loop() {
	defer close(b.done)
	b.armWake()
	for {
		b.drain()
		if b.shutting && b.active == 0 && b.closing == 0 {
			if !b.wakeArmed {
				return
			}
			if !b.wakeCancel {
				uring.PrepCancel(b.sqe(), udWake, udWakeCancel)
				b.wakeCancel = true
			}
		}
		if b.finished > 0 {
			// Completing ops readied their waiters on this P (runnext).
			// Let them run before this goroutine blocks in the kernel
			// with the P: otherwise they wait for sysmon to retake it
			// (tens of microseconds).
			// Then start over: they may have queued requests, and the
			// drain may bring the shutdown, which changes what to do.
			b.finished = 0
			runtime.Gosched()
			continue
		}
		b.sleeping.Store(true)
		var err error
		if b.queued.Load() > 0 {
			b.sleeping.Store(false)
			if b.ring.Pending() > 0 {
				_, err = b.ring.Enter(0)
			}
		} else {
			_, err = b.ring.Enter(1)
			b.sleeping.Store(false)
		}
		if err != nil && err != unix.EAGAIN && err != unix.EBUSY {
			panic(fmt.Sprintf("fileio: io_uring loop cannot continue: %v", err))
		}
		b.reap()
	}
}

func (b *uringBackend) armWake() {
	uring.PrepRead(b.sqe(), int32(b.wakeFd), &b.mem.wakeBuf[0], 8, ^uint64(0), udWake)
	b.wakeArmed = true
}

// sqe returns a free submission entry, submitting prepared ones first
// when the queue is full. The queue holds at least 2 × the in-flight
// bound + 4 entries, and only reads in flight have requests (at most one
// step and one cancel each) besides the eventfd read and its cancel, so
// one flush always frees room.
func (b *uringBackend) sqe() *uring.SQE {
	for {
		if e := b.ring.NextSQE(); e != nil {
			return e
		}
		if _, err := b.ring.Enter(0); err != nil && err != unix.EAGAIN && err != unix.EBUSY {
			panic(fmt.Sprintf("fileio: io_uring submit failed: %v", err))
		}
	}
}

func (b *uringBackend) drain() {
	for {
		select {
		case req := <-b.reqs:
			b.queued.Add(-1)
			b.handle(req)
		default:
			return
		}
	}
}

func (b *uringBackend) handle(req uint64) {
	kind := req >> 62
	if kind == reqShutdown {
		b.shutting = true
		for i := range uint32(b.r.created.Load()) {
			if o := b.r.ops.get(i); o != nil && o.sys.active && o.sys.inKernel {
				uring.PrepCancel(b.sqe(), o.sys.ud, udCancelBit)
			}
		}
		for _, o := range b.fdWait {
			o.sys.fdWait = false
			o.fail("open", ErrClosed)
			b.end(o)
		}
		clear(b.fdWait)
		b.fdWait = b.fdWait[:0]
		return
	}
	idx, ver := uint32(req>>32)&0xffff, uint32(req)
	o := b.r.ops.get(idx)
	switch kind {
	case reqStart:
		o.sys.active = true
		b.active++
		if err := o.stopReason(o.sys.canceled(o)); err != nil {
			o.fail("open", err)
			b.end(o)
			return
		}
		b.submit(o, stOpen, nil)
	case reqCancel:
		// A cancel for a round the loop already finished is stale: the op
		// may be in a caller's hands again. Ignore it. Otherwise the round
		// is running or (the cancel overtook the start) about to run.
		if ver == o.sys.doneRound {
			return
		}
		o.sys.cancelRound = ver
		if o.sys.active && o.sys.inKernel && o.ver.Load() == ver {
			uring.PrepCancel(b.sqe(), o.sys.ud, udCancelBit)
		}
		if o.sys.fdWait && o.ver.Load() == ver {
			i := 0
			for b.fdWait[i] != o {
				i++
			}
			last := len(b.fdWait) - 1
			copy(b.fdWait[i:], b.fdWait[i+1:])
			b.fdWait[last] = nil
			b.fdWait = b.fdWait[:last]
			o.sys.fdWait = false
			o.fail("open", o.stopReason(true))
			b.end(o)
		}
	}
}

// retryOpens resubmits the opens that failed for lack of descriptors: one
// per descriptor just closed, or all of them once the Reader holds no
// descriptor (an open that then fails again has nothing to wait for, and
// fails with EMFILE).
func (b *uringBackend) retryOpens() {
	n := 1
	if b.fds+b.closing == 0 {
		n = len(b.fdWait)
	}
	for ; n > 0 && len(b.fdWait) > 0; n-- {
		o := b.fdWait[0]
		copy(b.fdWait, b.fdWait[1:])
		b.fdWait[len(b.fdWait)-1] = nil
		b.fdWait = b.fdWait[:len(b.fdWait)-1]
		o.sys.fdWait = false
		if err := o.stopReason(o.sys.canceled(o)); err != nil {
			o.fail("open", err)
			b.end(o)
			continue
		}
		b.submit(o, stOpen, nil)
	}
}

// submit prepares the op's next request; chunk is the destination of a
// read.
func (b *uringBackend) submit(o *op, st stage, chunk []byte) {
	e := b.sqe()
	ud := opUD(o.idx, o.ver.Load())
	switch st {
	case stOpen:
		uring.PrepOpenat(e, unix.AT_FDCWD, &o.cpath[0], unix.O_RDONLY|unix.O_CLOEXEC, 0, ud)
	case stStatx:
		o.pin.Pin(&o.sys.stx)
		uring.PrepStatx(e, o.fd, &b.mem.empty[0], unix.AT_EMPTY_PATH, unix.STATX_TYPE|unix.STATX_SIZE, &o.sys.stx, ud)
	case stRead:
		uring.PrepRead(e, o.fd, &chunk[0], uint32(len(chunk)), ^uint64(0), ud)
	}
	o.sys.stage, o.sys.inKernel, o.sys.ud = st, true, ud
	b.inKernel++
	traceStep(EvSubmit, o, stageNames[st], 0)
}

func (b *uringBackend) reap() {
	for {
		c := b.ring.PeekCQE()
		if c == nil {
			return
		}
		ud, res := c.UserData, c.Res
		b.ring.AdvanceCQ()
		switch {
		case ud == udWake:
			b.wakeArmed = false
			if !b.shutting {
				b.armWake()
			}
		case ud&udCloseBit != 0:
			// A background close finished; its result is not reported.
			b.closing--
			b.retryOpens()
		case ud&udCancelBit != 0:
			// The outcome of a cancel shows in the canceled request's own
			// completion; nothing to do here.
		default:
			o := b.r.ops.get(uint32(ud>>32) & 0xffff)
			if o == nil || !o.sys.inKernel || o.sys.ud != ud {
				continue
			}
			o.sys.inKernel = false
			b.inKernel--
			b.step(o, res)
		}
	}
}

// step advances o after the completion of its request with result res.
func (b *uringBackend) step(o *op, res int32) {
	st := o.sys.stage
	traceStep(EvKernel, o, stageNames[st], int(res))
	stop := o.stopReason(o.sys.canceled(o))
	switch st {
	case stOpen:
		if (res == -int32(unix.EMFILE) || res == -int32(unix.ENFILE)) && stop == nil && b.fds+b.closing > 0 {
			// Out of descriptors while this Reader holds some: wait
			// for one of them to close (retryOpens).
			o.sys.fdWait = true
			b.fdWait = append(b.fdWait, o)
			return
		}
		if res < 0 {
			if stop != nil {
				o.fail("open", stop)
			} else {
				o.fail("open", uring.Errno(res))
			}
			b.end(o)
			return
		}
		o.fd = res
		b.fds++
		switch {
		case stop != nil:
			o.fail("read", stop)
			b.closeAndEnd(o)
		case o.kind == kindFile && b.statx:
			b.submit(o, stStatx, nil)
		default:
			// fstat on the loop: IORING_OP_STATX is always handed to an
			// io-wq kernel thread (it may block on a lookup), a hand-off
			// per read and over a dozen more threads in BenchmarkReadFileSizing;
			// fstat of an open descriptor does not block. ReadInto needs
			// it too: the size says whether the file fits the buffer,
			// and the type whether it is a stream, without a probe read
			// (one more loop round trip).
			err := unix.Fstat(int(o.fd), &o.sys.st)
			traceStep(EvKernel, o, "fstat (a plain syscall on the loop)", int(o.sys.st.Size))
			if err != nil {
				o.fail("stat", err)
				b.closeAndEnd(o)
				return
			}
			if o.kind == kindFile {
				b.sizeBuffer(o, o.sys.st.Mode, o.sys.st.Size)
			} else {
				o.sized(o.sys.st.Mode&unix.S_IFMT, o.sys.st.Size)
			}
			b.next(o)
		}
	case stStatx:
		if res < 0 {
			o.fail("stat", uring.Errno(res))
			b.closeAndEnd(o)
			return
		}
		if stop != nil {
			o.fail("read", stop)
			b.closeAndEnd(o)
			return
		}
		b.sizeBuffer(o, uint32(o.sys.stx.Mode), int64(o.sys.stx.Size))
		b.next(o)
	case stRead:
		switch {
		case res == -int32(unix.EINTR) || res == -int32(unix.EAGAIN) || res == -int32(unix.ECANCELED):
			if stop != nil {
				o.fail("read", stop)
				b.closeAndEnd(o)
				return
			}
			if res == -int32(unix.ECANCELED) {
				o.fail("read", uring.Errno(res))
				b.closeAndEnd(o)
				return
			}
			b.next(o)
		case res < 0:
			o.fail("read", uring.Errno(res))
			b.closeAndEnd(o)
		case res == 0: // end of file
			b.closeAndEnd(o)
		default:
			if o.advance(int(res)) {
				b.closeAndEnd(o)
				return
			}
			if stop != nil {
				o.fail("read", stop)
				b.closeAndEnd(o)
				return
			}
			b.next(o)
		}
	}
}

// sizeBuffer allocates the whole-file buffer: the file's size for a
// regular file, else 512 bytes that grow until end of file.
func (b *uringBackend) sizeBuffer(o *op, mode uint32, size int64) {
	if mode&unix.S_IFMT == unix.S_IFREG && size > 0 {
		o.buf, o.exact = make([]byte, size), true
		o.pin.Pin(&o.buf[0])
	}
	// Otherwise chunk allocates 512 bytes and grows them until end of file.
}

// next issues the next read of o, or its close when the read is done.
func (b *uringBackend) next(o *op) {
	c := o.chunk(true)
	if c == nil {
		b.closeAndEnd(o)
		return
	}
	b.submit(o, stRead, c)
}

// closeAndEnd ends o's round and closes its descriptor in the
// background: close touches no memory of ours, so the result need not wait
// for it (one loop round trip less per read). The close is tracked by a
// counter, not by the op, which may already serve another read; Close of
// the Reader waits for these closes too. A failing close of a descriptor
// opened read-only loses no data, and is not reported.
func (b *uringBackend) closeAndEnd(o *op) {
	if o.fd >= 0 {
		uring.PrepClose(b.sqe(), o.fd, udCloseBit|uint64(uint32(o.fd)))
		traceStep(EvSubmit, o, "close (in the background)", 0)
		b.closing++
		b.fds--
		o.fd = -1
	}
	b.end(o)
}

// end finishes o's round; the loop no longer owns it.
func (b *uringBackend) end(o *op) {
	o.sys.active = false
	o.sys.doneRound = o.ver.Load()
	b.active--
	b.finished++
	o.finish()
}
