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
	stx      unix.Statx_t // io_uring statx result (pinned with the op, see op.keep)
	st       unix.Stat_t  // workers fstat result
	stage    stage        // io_uring: the request in flight
	active   bool         // io_uring: the loop owns this op
	inKernel bool         // io_uring: a request of this op is outstanding
	ud       uint64       // io_uring: user_data of that request
	fdWait   bool         // io_uring: waiting in fdWait for a descriptor
	asyncd   bool         // io_uring: the read in flight went to io-wq for openInline

	// io_uring, direct descriptors (see startChain): slot of the
	// registered file table reserved for the round (slotHeld) and holding
	// its open file (fixed); the chain's completions still outstanding,
	// which of them came (bit per tag), and their results.
	slot                uint32
	slotHeld, fixed     bool
	typed               bool // the file's type and size came from fstat
	probed              bool // the chain's probe read a byte past len(buf)
	chain, got          uint8
	openRes, r1, probeR int32

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
	stChain   // openat + read + probe, linked, on a direct descriptor
	stInstall // the direct descriptor installed as a plain one, for fstat
)

var stageNames = [...]string{stOpen: "openat", stStatx: "statx", stRead: "read",
	stChain: "openat+read+probe (linked, direct descriptor)", stInstall: "install direct descriptor (for fstat)"}

// Tags of a chain's requests in bits 48-50 of their user_data (0: a
// request of the plain path).
const (
	tagShift = 48
	tagOpen  = 1
	tagRead  = 2
	tagProbe = 3
	tagMask  = 7 << tagShift
)

// Request words sent to the loop: kind in the top two bits, then the slot
// index and the slot's round.
const (
	reqStart    = 0
	reqCancel   = 1
	reqShutdown = 2
	reqRetry    = 3 // another ring closed a descriptor: retry a waiting open

	// user_data of requests that are not a step of an op. Op steps use
	// idx<<32 | round with idx < 2^16, so these never collide.
	udWake       = 1 << 63
	udCancelBit  = 1 << 62
	udWakeCancel = udWake | udCancelBit
	udCloseBit   = 1 << 61 // a background close; low bits hold the fd
	udDirectBit  = 1 << 60 // with udCloseBit: the low bits hold a slot
)

// uringStatx makes new io_uring backends size whole files with
// IORING_OP_STATX rather than fstat; tests turn it on to cover that path.
var uringStatx = false

// uringNoDirect makes new io_uring backends use the plain path (a
// descriptor per open, one request per loop round trip) even where the
// kernel has direct descriptors, as on kernels without them; tests turn
// it on to run the whole table on that path.
var uringNoDirect = false

// uringSetupFlags are the io_uring setup flags of new backends.
var uringSetupFlags uint32 = 0

// uringChainMax bounds the chains in flight; reads beyond it take the
// plain path.
var uringChainMax = 32

// uringAsyncMin: read requests of at least this many bytes, issued while
// other requests are outstanding, go to io-wq threads (IOSQE_ASYNC)
// instead of being tried inline on the loop thread. Off by default: with
// 256 KiB, BenchmarkUringAsyncAB measured 0.67-0.70x the time per warm
// 1 MiB read at 64 and 1,024 in flight and 0.64x cold at 64, but cold
// reads grew the process to 137-186 OS threads (io-wq workers blocked in
// disk reads, despite SetMaxWorkers), against 6 inline: the thread count
// io_uring exists to keep low.
var uringAsyncMin = 1 << 62

// uringLockThread locks the loop goroutine to one OS thread. Off: in
// BenchmarkUringLockAB a locked loop took 2.6x the time per 4 KiB read at
// one in flight (every hand-off to a waiter needs another thread) and
// was even elsewhere.
var uringLockThread = false

// uringDeferTaskrun creates the ring with IORING_SETUP_SINGLE_ISSUER and
// IORING_SETUP_DEFER_TASKRUN (Linux 6.1; without them where the kernel
// refuses them), on the loop goroutine locked to its OS thread, which
// both flags require: completion work then runs only when the loop
// enters the kernel to get events, never by interrupting it. Off: in
// BenchmarkUringDeferAB it took 0.80-0.91x the time per warm 4 KiB read
// at 1,024 in flight (from the locked thread, not the flags), but
// 1.20-1.71x per cold 4 KiB read at one in flight and 1.10-1.34x at 64,
// and was even elsewhere.
var uringDeferTaskrun = false

// uringSpin is how many times the idle loop yields (runtime.Gosched),
// looking for a new request or completion, before it sleeps in
// io_uring_enter after finishing a read: a caller woken by that read
// that issues its next read at once finds the loop awake and costs no
// eventfd write and no thread wake-up.
var uringSpin = 20

// uringRings is how many rings (each with its own loop goroutine) new
// io_uring Readers get without WithRings; 0 means one per P (GOMAXPROCS
// at New), at most uringRingsMax. An op always goes to ring
// op.idx % rings, so that everything the loop keeps in o.sys is only ever
// touched by that ring's loop, and a cancel finds the ring holding the op
// without any shared state. See BenchmarkUringRingsAB.
var uringRings = 0

// uringRingsMax bounds the automatic ring count: measured on 2 cores
// only, and each ring takes ring memory for the whole in-flight bound.
const uringRingsMax = 4

// uringRingsLarge: on a Reader with more than one ring, a large ReadInto
// (inlineLargeMin or more) with other reads held goes to its ring unread
// instead of being copied inline on the caller, so that the page-cache
// copies of a deep caller run on the rings' loops, one per core.
var uringRingsLarge = true

func opUD(idx, ver uint32) uint64 { return uint64(idx)<<32 | uint64(ver) }

// uringBackend runs the reads of a Reader (all of them, or with uringMulti
// those of its share of the ops) on one io_uring, owned by a single loop
// goroutine that both submits and reaps:
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
	// id, of: this is ring id of of; it serves the ops with idx%of == id.
	id, of uint32

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
	fdWait []*op
	// waiting is len(fdWait), published for the other rings' closeDone
	// (only this ring's loop writes it); share is shared by the rings.
	waiting atomic.Int32
	// freed counts the descriptors other rings closed since this loop
	// last took them; only the close that brings it from 0 to 1 sends
	// reqRetry, so at most one retry request is queued per ring (another
	// ring's loop never blocks on this ring's full queue).
	freed    atomic.Int32
	share    *fdShare
	shutting bool
	// direct: ReadInto opens into slots of a registered file table and
	// submits openat, read and probe as one linked chain (startChain);
	// slots holds the free slots.
	direct   bool
	slots    []uint32
	chains   int // chains in flight
	chainMax int // uringChainMax when the backend was made
	// asyncMin: reads of at least this many bytes get IOSQE_ASYNC.
	asyncMin   int
	asyncReads int
	asyncOut   int // reads on io-wq for openInline, at most asyncCap
	asyncCap   int
	lockThread bool // the loop runs on one OS thread
	// tid is that thread's id, with lockThread (tests read its page
	// faults in /proc).
	tid      atomic.Int32
	spin     int // uringSpin
	spinLeft int // yields left before the loop sleeps
	starts   int // reads started on this ring (tests read it after Close)
	done     chan struct{}
}

// loopMem is the loop's memory that the kernel reads or writes.
type loopMem struct {
	wakeBuf [8]byte
	empty   [1]byte // "" for statx(fd, "", AT_EMPTY_PATH)
}

var eventOne = [8]byte{1} // little-endian uint64 1, written to wake the loop

// newUring returns the io_uring backend of r: one ring, or, with
// uringRings other than 1, a uringMulti of several.
func newUring(r *Reader, inFlight, rings int) (backend, error) {
	n, auto := rings, rings == 0
	if auto {
		n = uringRings
	}
	if n <= 0 {
		n = min(runtime.GOMAXPROCS(0), uringRingsMax)
	}
	if n == 1 {
		share := new(fdShare)
		b, err := newRing(r, inFlight, 0, 1, share)
		if err != nil {
			return nil, err
		}
		share.rings = []*uringBackend{b}
		return b, nil
	}
	m := &uringMulti{rings: make([]*uringBackend, n)}
	share := new(fdShare)
	for i := range m.rings {
		b, err := newRing(r, inFlight, uint32(i), uint32(n), share)
		if err != nil {
			for _, b := range m.rings[:i] {
				b.shutdownStart()
				b.shutdownWait()
			}
			if auto && i > 0 {
				// Do with as many rings as the kernel gave (ring
				// memory is limited: RLIMIT_MEMLOCK before 5.12).
				return newUring(r, inFlight, i)
			}
			return nil, err
		}
		m.rings[i] = b
	}
	// Published to the loops by the first request each receives (a
	// channel send), after this write; no read happens before.
	share.rings = m.rings
	return m, nil
}

// multiRing reports whether be has more than one ring and large reads
// at depth go to them (uringRingsLarge).
func multiRing(be backend) bool {
	_, ok := be.(*uringMulti)
	return ok && uringRingsLarge
}

// uringMulti spreads a Reader's reads over several rings, each served by
// its own loop goroutine (uringBackend), so that the kernel work done in
// the submitting task's context (inline openat, page-cache copies,
// completion callbacks) runs on more than one core. Op idx goes to ring
// idx % len(rings), always (see uringRings): starts, cancels and the loop
// state of an op never meet two rings. Each ring has its own op
// bookkeeping, direct-descriptor table and ring entries for the Reader's
// whole in-flight bound (the reads in flight may all map to one ring).
type uringMulti struct {
	rings []*uringBackend
}

func (m *uringMulti) ring(o *op) *uringBackend { return m.rings[o.idx%uint32(len(m.rings))] }

func (m *uringMulti) start(o *op) { m.ring(o).start(o) }

func (m *uringMulti) cancel(o *op, ver uint32) { m.ring(o).cancel(o, ver) }

// shutdown tells every ring to shut down, then waits for all of them: the
// rings cancel their reads in parallel.
func (m *uringMulti) shutdown() {
	for _, b := range m.rings {
		b.shutdownStart()
	}
	for _, b := range m.rings {
		b.shutdownWait()
	}
}

// uringFailRing makes the set-up of the ring with this id fail (tests).
var uringFailRing = -1

// newRing starts ring id of of for r.
func newRing(r *Reader, inFlight int, id, of uint32, share *fdShare) (*uringBackend, error) {
	if int(id) == uringFailRing {
		return nil, fmt.Errorf("io_uring: ring %d refused (test)", id)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	b := &uringBackend{
		r:     r,
		id:    id,
		of:    of,
		share: share,
		// Starts are bounded by the in-flight tokens; a late cancel may
		// come from any op's watcher, and waits briefly if the queue is
		// full (the loop drains it without waiting on anyone).
		reqs:       make(chan uint64, 3*inFlight+8),
		wakeFd:     efd,
		mem:        new(loopMem),
		done:       make(chan struct{}),
		statx:      uringStatx,
		asyncMin:   uringAsyncMin,
		lockThread: uringLockThread,
		spin:       uringSpin,
		chainMax:   uringChainMax,
		asyncCap:   2 * runtime.GOMAXPROCS(0),
		fdWait:     make([]*op, 0, inFlight),
	}
	flags := uringSetupFlags
	if uringDeferTaskrun {
		// The ring belongs to the thread that creates it: create it on
		// the loop's locked thread.
		flags |= uring.SetupSingleIssuer | uring.SetupDeferTaskrun
		b.lockThread = true
	}
	b.memPin.Pin(b.mem)
	ready := make(chan error, 1)
	go b.loop(func() error { return b.setupRing(inFlight, flags) }, ready)
	if err := <-ready; err != nil {
		b.memPin.Unpin()
		_ = unix.Close(efd)
		return nil, err
	}
	return b, nil
}

// setupRing creates b's ring with the setup flags (without them where
// the kernel refuses them) and registers what it needs. It runs on the
// loop goroutine, before the loop starts.
func (b *uringBackend) setupRing(inFlight int, flags uint32) error {
	entries := 4
	for entries < 2*inFlight+4 {
		entries <<= 1
	}
	ring, err := uring.NewFlags(uint32(entries), flags)
	if err != nil {
		return err
	}
	if int(ring.SQEntries()) < 2*inFlight+4 {
		ring.Close()
		return fmt.Errorf("io_uring: kernel granted %d entries, %d in-flight reads need %d (lower WithMaxInFlight)", ring.SQEntries(), inFlight, 2*inFlight+4)
	}
	// Requests the kernel cannot finish inline (an openat that misses the
	// dentry cache, statx) go to io-wq kernel threads. Cap them; best
	// effort: kernels before 5.15 lack the call and keep their default.
	_ = ring.SetMaxWorkers(uint32(2*runtime.GOMAXPROCS(0)), 0)
	b.ring = ring
	if !uringNoDirect {
		b.direct, b.slots = setupDirect(ring, min(inFlight, b.chainMax))
	}
	return nil
}

// setupDirect registers a file table for direct descriptors when the
// kernel has everything the chain needs: the opcodes (IORING_REGISTER_PROBE
// says), openat and close on slots (Linux 5.15; tried once with "/"), and
// IORING_OP_FIXED_FD_INSTALL (6.8) for the rare reads that must fstat.
// The table has 2 slots per chain in flight (a slot is free again only when
// its close completes), at most RLIMIT_NOFILE (the kernel's bound on the
// table); a read that finds no free slot takes the plain path.
func setupDirect(ring *uring.Ring, chains int) (bool, []uint32) {
	if !ring.Supports(uring.OpOpenat, uring.OpRead, uring.OpClose, uring.OpAsyncCancel, uring.OpFixedFdInstall) {
		return false, nil
	}
	n := uint64(2*chains + 4)
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur < n {
		n = lim.Cur
	}
	if n < 1 || ring.RegisterSparseFiles(uint32(n)) != nil || ring.CheckDirect() != nil {
		return false, nil
	}
	slots := make([]uint32, n)
	for i := range slots {
		slots[i] = uint32(n) - 1 - uint32(i)
	}
	return true, slots
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
	b.shutdownStart()
	b.shutdownWait()
}

// shutdownStart asks the loop to fail its reads and stop.
func (b *uringBackend) shutdownStart() { b.send(reqShutdown << 62) }

// shutdownWait waits for the loop to stop and releases the ring.
func (b *uringBackend) shutdownWait() {
	<-b.done
	b.ring.Close()
	_ = unix.Close(b.wakeFd)
	b.memPin.Unpin()
}

// loop runs setup (reporting its error on ready, and returning if it
// failed) and then serves the ring until shutdown.
func (b *uringBackend) loop(setup func() error, ready chan<- error) {
	defer close(b.done)
	if b.lockThread {
		// One submitting thread: the kernel keeps io-wq workers per
		// submitting task, each pool bounded by SetMaxWorkers, so a loop
		// that wandered over the runtime's threads would gather a pool on
		// each of them.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b.tid.Store(int32(unix.Gettid()))
	}
	err := setup()
	ready <- err
	if err != nil {
		return
	}
	// Before done closes: Close returns only once no op is pinned.
	defer b.releaseKept()
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
			b.spinLeft = b.spin
			runtime.Gosched()
			continue
		}
		if b.spinLeft > 0 && b.queued.Load() == 0 && b.ring.Pending() == 0 && !b.shutting {
			b.spinLeft--
			runtime.Gosched()
			b.reap()
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

// keepPinned pins o itself and its path buffer for as long as this loop
// serves it (see op.keep), unless they already are: the buffer is new
// only when a longer path than any before made it grow.
func (b *uringBackend) keepPinned(o *op) {
	if o.kept == &o.cpath[0] {
		return
	}
	o.keep.Unpin() // the previous, smaller path buffer, if any
	//zerogc:allow once per op and path-buffer size: its Pinner is reused, and two pins fit its inline slots
	o.keep.Pin(o)
	//zerogc:allow once per op and path-buffer size: its Pinner is reused, and two pins fit its inline slots
	o.keep.Pin(&o.cpath[0])
	o.kept = &o.cpath[0]
}

// releaseKept unpins what keepPinned pinned, for every op of this ring,
// when the loop stops: the kernel holds none of their memory by then.
func (b *uringBackend) releaseKept() {
	for i := b.id; i < uint32(b.r.created.Load()); i += b.of {
		if o := b.r.ops.get(i); o != nil {
			o.keep.Unpin()
			o.kept = nil
		}
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
		for i := b.id; i < uint32(b.r.created.Load()); i += b.of {
			if o := b.r.ops.get(i); o != nil && o.sys.active && o.sys.inKernel {
				b.cancelKernel(o)
			}
		}
		for _, o := range b.fdWait {
			o.sys.fdWait = false
			o.fail("open", ErrClosed)
			b.end(o)
		}
		clear(b.fdWait)
		b.fdWait = b.fdWait[:0]
		b.waiting.Store(0)
		return
	}
	if kind == reqRetry {
		b.retryOpens(int(b.freed.Swap(0)))
		return
	}
	idx, ver := uint32(req>>32)&0xffff, uint32(req)
	o := b.r.ops.get(idx)
	switch kind {
	case reqStart:
		b.starts++
		b.keepPinned(o)
		o.sys.active = true
		b.active++
		if o.fd >= 0 {
			b.fds++ // opened by readInline on the caller's goroutine
			b.share.held.Add(1)
		}
		if err := o.stopReason(o.sys.canceled(o)); err != nil {
			o.fail("open", err)
			b.closeAndEnd(o)
			return
		}
		b.begin(o)
	case reqCancel:
		// A cancel for a round the loop already finished is stale: the op
		// may be in a caller's hands again. Ignore it. Otherwise the round
		// is running or (the cancel overtook the start) about to run.
		if ver == o.sys.doneRound {
			return
		}
		o.sys.cancelRound = ver
		if o.sys.active && o.sys.inKernel && o.ver.Load() == ver {
			b.cancelKernel(o)
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
			b.waiting.Store(int32(last))
			o.sys.fdWait = false
			o.fail("open", o.stopReason(true))
			b.end(o)
		}
	}
}

// fdShare is what the rings of one Reader share about descriptors: an
// open that fails with EMFILE or ENFILE waits while any ring holds one,
// and any ring's close retries it.
type fdShare struct {
	// held counts the descriptors (plain or direct) that the Reader's
	// rings may hold: +1 when an openat is submitted (the kernel may
	// open the file before the loop reaps the completion: another
	// ring's EMFILE must count it) or a descriptor opened inline comes
	// to a ring, -1 when an openat fails or the close of its
	// descriptor completes.
	held  atomic.Int32
	rings []*uringBackend
}

// openFailed counts an openat of b that opened nothing.
func (b *uringBackend) openFailed() { b.share.held.Add(-1) }

// closeDone counts a completed background close, retries one of b's
// waiting opens, and tells every other ring with an open waiting that a
// descriptor was freed. Lost wake-ups cannot happen: waitFd publishes
// waiting before it loads held, and this decrements held before it
// loads waiting (sequentially consistent atomics), so either the waiter
// sees the descriptor gone or this close sees the waiter.
func (b *uringBackend) closeDone() {
	b.closing--
	b.share.held.Add(-1)
	b.retryOpens(1)
	for _, r := range b.share.rings {
		if r != b && r.waiting.Load() > 0 && r.freed.Add(1) == 1 {
			r.send(reqRetry << 62)
		}
	}
}

// waitFd parks o, whose open failed for lack of descriptors, until a
// close of this Reader frees one (closeDone), or retries at once if the
// Reader's last descriptor closed meanwhile (on another ring).
func (b *uringBackend) waitFd(o *op) {
	o.sys.fdWait = true
	b.fdWait = append(b.fdWait, o)
	b.waiting.Store(int32(len(b.fdWait)))
	if b.share.held.Load() == 0 {
		b.retryOpens(1)
	}
}

// retryOpens resubmits the opens that failed for lack of descriptors: n,
// one per descriptor just closed, or all of them once the Reader holds no
// descriptor (an open that then fails again has nothing to wait for, and
// fails with EMFILE).
func (b *uringBackend) retryOpens(n int) {
	if b.share.held.Load() == 0 {
		n = len(b.fdWait)
	}
	for ; n > 0 && len(b.fdWait) > 0; n-- {
		o := b.fdWait[0]
		copy(b.fdWait, b.fdWait[1:])
		b.fdWait[len(b.fdWait)-1] = nil
		b.fdWait = b.fdWait[:len(b.fdWait)-1]
		b.waiting.Store(int32(len(b.fdWait)))
		o.sys.fdWait = false
		if err := o.stopReason(o.sys.canceled(o)); err != nil {
			o.fail("open", err)
			b.end(o)
			continue
		}
		b.begin(o)
	}
}

// cancelKernel asks the kernel to cancel o's outstanding requests: the
// one request of a plain step, or each request of a chain whose completion
// has not come. A cancel finds only requests the kernel has started, so a
// chain's next request may start after the cancel missed it: chainStep
// cancels again at each completion of a canceled chain.
func (b *uringBackend) cancelKernel(o *op) {
	if o.sys.stage != stChain {
		uring.PrepCancel(b.sqe(), o.sys.ud, udCancelBit)
		return
	}
	for tag := uint64(tagOpen); tag <= tagProbe; tag++ {
		if o.sys.got&(1<<tag) == 0 {
			uring.PrepCancel(b.sqe(), o.sys.ud|tag<<tagShift, udCancelBit)
		}
	}
}

// begin starts o's I/O: as one chain on a direct descriptor where it can,
// else with the plain openat.
func (b *uringBackend) begin(o *op) {
	if o.fd >= 0 {
		// readInline opened the file (and maybe read its cached
		// prefix): go on as after the plain path's openat.
		traceStep(EvKernel, o, "openat (inline, on the caller)", int(o.fd))
		b.opened(o, nil)
		return
	}
	// A large read that will go to io-wq takes the plain path: io-wq
	// counts a request as bounded work (capped by SetMaxWorkers) only if
	// its file is known to be regular when it is queued, which a chain's
	// read on a slot its openat has not filled yet is not; as unbounded
	// work, cold 1 MiB reads grew the process to 166 threads.
	large := len(o.buf) >= b.asyncMin && b.inKernel > 0
	if b.direct && o.kind == kindInto && len(o.buf) > 0 && len(b.slots) > 0 && b.chains < b.chainMax && !large {
		b.startChain(o)
		return
	}
	b.submit(o, stOpen, nil)
}

// startChain submits a ReadInto as one linked chain, so the whole read
// usually costs one loop round trip instead of two (openat, then read):
//
//	openat(path) into a free slot of the file table       IOSQE_IO_LINK
//	read(slot, buf[:L], offset 0)                         IOSQE_FIXED_FILE | IOSQE_IO_LINK
//	read(slot, probe, 1 byte, offset L, RWF_NOWAIT)       IOSQE_FIXED_FILE
//
// with L = len(buf) (at most maxChunk; a larger buffer has no probe in
// the chain). A failed openat fails the reads with ECANCELED, and a short
// read (the file is smaller than buf) skips the probe. The probe says
// without fstat whether a file that filled buf has more (truncated) or
// not (end of file); RWF_NOWAIT keeps it from waiting on a pipe or FIFO
// that happens to fill buf exactly. The slot is a direct descriptor: it
// takes no entry of the process's descriptor table (RLIMIT_NOFILE), and
// no fstat runs on the loop. chainDone sorts out what the chain cannot
// know (the file's type when the probe got a byte or failed, and whether a
// short read was the end of the file).
func (b *uringBackend) startChain(o *op) {
	for b.ring.SQFree() < 3 {
		// The chain's entries must reach the kernel in one submission.
		if _, err := b.ring.Enter(0); err != nil && err != unix.EAGAIN && err != unix.EBUSY {
			panic(fmt.Sprintf("fileio: io_uring submit failed: %v", err))
		}
	}
	slot := b.slots[len(b.slots)-1]
	b.slots = b.slots[:len(b.slots)-1]
	ud := opUD(o.idx, o.ver.Load())
	l := min(len(o.buf), maxChunk)
	probe := l == len(o.buf)

	e := b.sqe()
	uring.PrepOpenatDirect(e, unix.AT_FDCWD, &o.cpath[0], unix.O_RDONLY, 0, slot, ud|tagOpen<<tagShift)
	b.share.held.Add(1)
	e.Flags |= uring.FlagLink
	e = b.sqe()
	uring.PrepRead(e, int32(slot), &o.buf[0], uint32(l), 0, ud|tagRead<<tagShift)
	e.Flags |= uring.FlagFixedFile
	o.sys.chain, o.sys.got = 2, 1<<tagProbe
	if probe {
		e.Flags |= uring.FlagLink
		e = b.sqe()
		uring.PrepRead(e, int32(slot), &o.probe[0], 1, uint64(l), ud|tagProbe<<tagShift)
		e.Flags |= uring.FlagFixedFile
		e.OpFlags = uring.RWFNoWait
		o.sys.chain, o.sys.got = 3, 0
	}
	o.sys.slot, o.sys.slotHeld, o.sys.fixed, o.sys.typed, o.sys.probed = slot, true, false, false, false
	o.sys.openRes, o.sys.r1, o.sys.probeR = 0, 0, 0
	o.sys.stage, o.sys.inKernel, o.sys.ud = stChain, true, ud
	b.inKernel++
	b.chains++
	traceStep(EvSubmit, o, stageNames[stChain], 0)
}

// chainStep records one completion of o's chain; the last one ends it.
func (b *uringBackend) chainStep(o *op, tag uint64, res int32) {
	o.sys.got |= 1 << tag
	o.sys.chain--
	switch tag {
	case tagOpen:
		o.sys.openRes = res
		if res == 0 {
			o.sys.fixed = true
			b.fds++
		}
		traceStep(EvKernel, o, "openat (direct)", int(res))
	case tagRead:
		o.sys.r1 = res
		traceStep(EvKernel, o, "read (linked)", int(res))
	case tagProbe:
		o.sys.probeR = res
		traceStep(EvKernel, o, "probe (linked)", int(res))
	}
	if o.sys.chain > 0 {
		if o.sys.canceled(o) || b.shutting {
			b.cancelKernel(o)
		}
		return
	}
	o.sys.inKernel = false
	b.inKernel--
	b.chains--
	b.chainDone(o)
}

// chainDone goes on from a finished chain.
func (b *uringBackend) chainDone(o *op) {
	stop := o.stopReason(o.sys.canceled(o))
	if !o.sys.fixed {
		// The openat failed: the slot holds nothing.
		b.openFailed()
		b.slots = append(b.slots, o.sys.slot)
		o.sys.slotHeld = false
		res := o.sys.openRes
		if res == -int32(unix.ENFILE) && stop == nil && b.share.held.Load() > 0 {
			// The system is out of files (a direct descriptor takes no
			// entry of this process's table, so EMFILE does not happen
			// here): wait for one of ours to close, as openat does.
			b.waitFd(o)
			return
		}
		b.failOpen(o, stop, res)
		return
	}
	r1, l := o.sys.r1, min(len(o.buf), maxChunk)
	switch {
	case stop != nil:
		o.fail("read", stop)
		b.closeAndEnd(o)
	case r1 == -int32(unix.EINTR) || r1 == -int32(unix.EAGAIN):
		b.next(o)
	case r1 < 0:
		o.fail("read", uring.Errno(r1))
		b.closeAndEnd(o)
	case r1 == 0: // end of file
		b.closeAndEnd(o)
	case int(r1) < l || l < len(o.buf):
		// A short read, or a buffer larger than one request: read on.
		// A regular file's next read returns 0 (end of file); a /proc
		// file or a pipe may have more.
		o.n = int(r1)
		b.next(o)
	case o.sys.probeR == 0: // buf holds the whole file
		o.n = int(r1)
		b.closeAndEnd(o)
	default:
		// The probe got a byte (the file is larger than buf, unless it
		// is a pipe or device, which has no end to compare with) or
		// could not tell without waiting: fstat decides.
		o.n = int(r1)
		o.sys.probed = o.sys.probeR == 1
		b.submit(o, stInstall, nil)
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
		b.share.held.Add(1)
	case stStatx:
		uring.PrepStatx(e, o.fd, &b.mem.empty[0], unix.AT_EMPTY_PATH, unix.STATX_TYPE|unix.STATX_SIZE, &o.sys.stx, ud)
	case stRead:
		if o.sys.fixed {
			// A direct descriptor read at explicit offsets (the chain read
			// at offset 0, which moves no file position); pipes and FIFOs
			// ignore the offset.
			uring.PrepRead(e, int32(o.sys.slot), &chunk[0], uint32(len(chunk)), uint64(o.n), ud)
			e.Flags |= uring.FlagFixedFile
		} else {
			uring.PrepRead(e, o.fd, &chunk[0], uint32(len(chunk)), ^uint64(0), ud)
		}
		if o.cached && b.asyncOut < b.asyncCap {
			// In the page cache (openInline): a copy for an io-wq
			// thread, beside the loop's. At most asyncCap at once:
			// the kernel keeps an io-wq pool per submitting thread,
			// and the loop moves between threads, so SetMaxWorkers
			// alone does not bound them, and a page evicted after
			// cachestat leaves a worker blocked on the disk.
			e.Flags |= uring.FlagAsync
			b.asyncOut++
			o.sys.asyncd = true
		} else if b.async(len(chunk)) {
			e.Flags |= uring.FlagAsync
		}
	case stInstall:
		uring.PrepInstallDirect(e, o.sys.slot, ud)
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
			if ud&udDirectBit != 0 {
				b.slots = append(b.slots, uint32(ud))
			}
			b.closeDone()
		case ud&udCancelBit != 0:
			// The outcome of a cancel shows in the canceled request's own
			// completion; nothing to do here.
		case ud&tagMask != 0:
			o := b.r.ops.get(uint32(ud>>32) & 0xffff)
			tag := (ud & tagMask) >> tagShift
			if o == nil || !o.sys.inKernel || o.sys.stage != stChain || o.sys.ud != ud&^tagMask || o.sys.got&(1<<tag) != 0 {
				continue
			}
			b.chainStep(o, tag, res)
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
		if res < 0 {
			b.openFailed()
		}
		if (res == -int32(unix.EMFILE) || res == -int32(unix.ENFILE)) && stop == nil && b.share.held.Load() > 0 {
			// Out of descriptors while this Reader (on any of its
			// rings) holds some: wait for one of them to close
			// (retryOpens).
			b.waitFd(o)
			return
		}
		if res < 0 {
			b.failOpen(o, stop, res)
			return
		}
		o.fd = res
		b.fds++
		b.opened(o, stop)
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
	case stInstall:
		if res < 0 || stop != nil {
			if stop == nil {
				stop = uring.Errno(res)
			}
			o.fail("stat", stop)
			b.closeAndEnd(o)
			return
		}
		// A plain descriptor of the same open file: fstat it and close
		// it at once (the slot keeps the file, so this close frees
		// nothing and cannot block).
		err := unix.Fstat(int(res), &o.sys.st)
		_ = unix.Close(int(res))
		traceStep(EvKernel, o, "fstat (a plain syscall on the loop)", int(o.sys.st.Size))
		if err != nil {
			o.fail("stat", err)
			b.closeAndEnd(o)
			return
		}
		o.sys.typed = true
		o.sized(o.sys.st.Mode&unix.S_IFMT, o.sys.st.Size)
		if o.sys.probed && !o.stream {
			o.fail("read", ErrTruncated)
			b.closeAndEnd(o)
			return
		}
		b.next(o)
	case stRead:
		if o.sys.asyncd {
			o.sys.asyncd = false
			b.asyncOut--
		}
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
	if o.sys.fixed && !o.sys.typed && o.kind == kindInto && o.n == len(o.buf) {
		// Reading on would probe a file whose type is not known (it may
		// be a pipe, which must not be probed): fstat first.
		b.submit(o, stInstall, nil)
		return
	}
	c := o.chunk(true)
	if c == nil {
		b.closeAndEnd(o)
		return
	}
	b.submit(o, stRead, c)
}

// async reports whether a read request of n bytes goes to an io-wq thread
// (IOSQE_ASYNC): a large one while other requests are outstanding, so
// that their page-cache copies run on several cores instead of one after
// the other on the loop thread. A lone read stays inline: the hand-off
// costs more than it spreads.
// It counts the requests it hands over in asyncReads (tests read it).
func (b *uringBackend) async(n int) bool {
	if n >= b.asyncMin && b.inKernel > 0 {
		b.asyncReads++
		return true
	}
	return false
}

// closeAndEnd ends o's round and closes its descriptor in the
// background: close touches no memory of ours, so the result need not wait
// for it (one loop round trip less per read). The close is tracked by a
// counter, not by the op, which may already serve another read; Close of
// the Reader waits for these closes too. A failing close of a descriptor
// opened read-only loses no data, and is not reported.
func (b *uringBackend) closeAndEnd(o *op) {
	if o.sys.slotHeld {
		uring.PrepCloseDirect(b.sqe(), o.sys.slot, udCloseBit|udDirectBit|uint64(o.sys.slot))
		traceStep(EvSubmit, o, "close of the direct descriptor (in the background)", 0)
		b.closing++
		b.fds--
		o.sys.slotHeld, o.sys.fixed = false, false
	}
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
// failOpen ends o, whose open failed with result res: with stop, the
// reason its read was stopped (a cancel or Close), if there is one, else
// with the open's own error.
func (b *uringBackend) failOpen(o *op, stop error, res int32) {
	if stop != nil {
		o.fail("open", stop)
	} else {
		o.fail("open", uring.Errno(res))
	}
	b.end(o)
}

func (b *uringBackend) end(o *op) {
	o.sys.active = false
	o.sys.doneRound = o.ver.Load()
	b.active--
	b.finished++
	o.finish()
}

// opened goes on with o's file open in o.fd: by the plain path's openat,
// or by readInline; stop is the reason the read must end now, if any.
func (b *uringBackend) opened(o *op, stop error) {
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
}
