package fileio

import (
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// workersBackend runs each read as one job on a worker goroutine: the job
// opens, reads and closes the file with blocking system calls and
// completes the op. Regular files are read in chunks of at most maxChunk,
// with a check for a cancel or Close between chunks.
//
// Two kinds of read may wait without bound, and neither may hold a worker
// slot while it does, or a few of them would starve every other read:
//
//   - Streams (FIFOs, pipes, character devices, sockets) are opened with
//     O_NONBLOCK, so their open never waits for a writer. When the read
//     has to wait for data, the worker hands its slot to a new worker and
//     goes on waiting in the runtime's network poller (no OS thread is
//     held), where a cancel or Close interrupts it at once.
//   - An openat that blocks anyway (a hung network mount, where O_NONBLOCK
//     does nothing) is noticed by a monitor goroutine after one to two
//     ticks of openSlow, which then hands its slot to a new worker. A
//     cancel or Close ends such a read at once, without the open: the
//     blocked goroutine is abandoned, and when openat returns at last it
//     closes the descriptor, gives back the in-flight token it kept (so
//     the in-flight bound also bounds abandoned opens) and exits.
//
// A goroutine that gave its slot away finishes its read and exits, so the
// number of goroutines taking new jobs stays the configured count.
type workersBackend struct {
	r    *Reader
	jobs chan *op

	// gor counts the goroutines that Close waits for: the workers (with
	// those that gave their slot away but still own a read) and the
	// monitor. An abandoned goroutine is taken off by the goroutine that
	// abandoned it, since its openat may never return.
	gor sync.WaitGroup

	tick      atomic.Uint32 // the monitor's clock, one step per openSlow
	monitorOn atomic.Bool   // a monitor runs (or is starting)
	stopMon   chan struct{} // closed by shutdown

	replaced  atomic.Int64 // workers started to take over a slot
	abandoned atomic.Int32 // abandoned opens that have not returned yet
}

// States of a round's openat, in the low byte of op.openWord; the round
// is in the high 32 bits, so a late cancel of an older round never matches.
const (
	openIdle      = 0 // no open in progress
	openRunning   = 1 // a worker is in openat and holds its slot
	openDetached  = 2 // slow: a new worker took the slot; this goroutine finishes the read and exits
	openAbandoned = 3 // canceled or closed during openat: the read was completed without it
)

// openSlow is the monitor's tick: an open still running after a whole
// tick gives its slot away. The monitor stops after monitorIdleTicks ticks
// without a read in flight and starts again with the next open.
const (
	openSlow         = 10 * time.Millisecond
	monitorIdleTicks = 100
)

// slotFate tells a worker what became of its slot during a job.
type slotFate uint8

const (
	slotKept      slotFate = iota // take the next job
	slotGiven                     // another worker has the slot: exit
	slotAbandoned                 // exit, and do not count down gor (the abandoner did)
)

// streamRef is the stream a round waits on, for cancel and Close to
// interrupt (by a read deadline in the past).
type streamRef struct {
	f   *os.File
	ver uint32
}

func newWorkers(r *Reader, workers, slots int) backend {
	w := &workersBackend{r: r, jobs: make(chan *op, slots), stopMon: make(chan struct{})}
	w.gor.Add(workers)
	for range workers {
		go w.work()
	}
	return w
}

func (w *workersBackend) work() {
	for o := range w.jobs {
		switch runJob(w, o) {
		case slotGiven:
			w.gor.Done()
			return
		case slotAbandoned:
			return
		}
	}
	w.gor.Done()
}

// replace starts a worker to take over a slot that a goroutine gives
// away. The caller is counted in gor, or holds the count of an abandoned
// goroutine that it has not given up yet, so gor is above zero here.
func (w *workersBackend) replace() {
	if w.r.closed.Load() {
		return // shutdown drains the queue itself
	}
	w.replaced.Add(1)
	w.gor.Add(1)
	go w.work()
}

func (w *workersBackend) start(o *op) {
	w.jobs <- o // never blocks: a job holds an in-flight token, and jobs holds as many
}

func (w *workersBackend) cancel(o *op, ver uint32) {
	traceCancel(o, ver, "flag")
	o.cancelVer.Store(ver)
	w.abandon(o, ver)
	w.interrupt(o, ver, false)
}

// beginOpen marks o's round ver as being in openat. The caller checks for
// a cancel or Close after it: either that check sees it, or the canceller
// sees the open and abandons it.
func (w *workersBackend) beginOpen(o *op, ver uint32) {
	o.openTick.Store(w.tick.Load())
	o.openWord.Store(uint64(ver)<<32 | openRunning)
	if !w.monitorOn.Load() && w.monitorOn.CompareAndSwap(false, true) {
		w.gor.Add(1)
		go w.monitor()
	}
}

// stopping is stopNow for the open of round ver, reading only atomics
// (the round may be abandoned meanwhile).
func (w *workersBackend) stopping(o *op, ver uint32) bool {
	return w.r.closed.Load() || o.cancelVer.Load() == ver
}

// endOpen ends the open of o's round ver and returns how it ran: running
// (the slot is still this goroutine's), detached (the slot was given
// away) or abandoned (the read was completed without this goroutine,
// which must not touch o again).
func (w *workersBackend) endOpen(o *op, ver uint32) uint64 {
	for {
		word := o.openWord.Load()
		st := word & 0xff
		if st == openAbandoned || uint32(word>>32) != ver {
			// Abandoned; maybe o even serves a later round already.
			return openAbandoned
		}
		// Invariant: an open leaves running or detached by one CAS;
		// whoever wins it owns the round (here: this goroutine).
		if o.openWord.CompareAndSwap(word, uint64(ver)<<32|openIdle) {
			return st
		}
	}
}

// abandon ends round ver of o now if it is blocked in openat: it fails
// the read with the cancel's or Close's error and completes it, keeping
// the in-flight token for the blocked goroutine to give back. It reports
// whether it did.
func (w *workersBackend) abandon(o *op, ver uint32) bool {
	for {
		word := o.openWord.Load()
		st := word & 0xff
		if uint32(word>>32) != ver || (st != openRunning && st != openDetached) {
			return false
		}
		// Invariant: as in endOpen, one CAS moves the open out of
		// running or detached; winning it here makes the round ours.
		if !o.openWord.CompareAndSwap(word, uint64(ver)<<32|openAbandoned) {
			continue
		}
		if st == openRunning {
			w.replace() // the blocked goroutine held a slot
		}
		w.abandoned.Add(1)
		// The kernel may still read the name: the next round gets a
		// new buffer. (The blocked call keeps this one alive.)
		o.cpath = nil
		o.fail("open", o.stopReason(true))
		traceStep(EvKernel, o, "open abandoned", -1)
		o.end(false)
		w.gor.Done() // the blocked goroutine's count: Close must not wait for it
		return true
	}
}

// abandonedReturned is called by an abandoned goroutine when its openat
// returns, after closing what it opened.
func (w *workersBackend) abandonedReturned() {
	w.abandoned.Add(-1)
	<-w.r.inFlight
}

// interrupt wakes the stream wait of o's round ver (any round, with all)
// so that it notices a cancel or Close.
func (w *workersBackend) interrupt(o *op, ver uint32, all bool) {
	if s := o.streamRef.Load(); s != nil && (all || s.ver == ver) {
		_ = s.f.SetReadDeadline(time.Unix(1, 0))
	}
}

// monitor gives away the slot of every open that has run for a whole
// tick, so that blocked opens cannot starve the queue.
func (w *workersBackend) monitor() {
	defer w.gor.Done()
	t := time.NewTicker(openSlow)
	defer t.Stop()
	idle := 0
	for {
		select {
		case <-w.stopMon:
			return
		case <-t.C:
		}
		now := w.tick.Add(1)
		if len(w.r.inFlight) == 0 {
			if idle++; idle < monitorIdleTicks {
				continue
			}
			// Stop; an open that began before the store below
			// is seen by the load after it, and one that begins
			// later sees monitorOn false and starts a monitor.
			w.monitorOn.Store(false)
			if len(w.r.inFlight) == 0 || !w.monitorOn.CompareAndSwap(false, true) {
				return
			}
		}
		idle = 0
		for i := range uint32(w.r.created.Load()) {
			o := w.r.ops.get(i)
			if o == nil {
				continue
			}
			word := o.openWord.Load()
			if word&0xff != openRunning || now-o.openTick.Load() < 2 {
				continue
			}
			// Invariant: as in endOpen; winning the CAS here moves
			// the slot, not the round, so the open goes on.
			if o.openWord.CompareAndSwap(word, word&^0xff|openDetached) {
				w.replace()
			}
		}
	}
}

func (w *workersBackend) shutdown() {
	// r.closed is set and no job is being started: end every blocked
	// open and wake every stream wait, then fail what is still queued.
	for i := range uint32(w.r.created.Load()) {
		if o := w.r.ops.get(i); o != nil {
			w.abandon(o, o.ver.Load())
			w.interrupt(o, 0, true)
		}
	}
	close(w.stopMon)
	close(w.jobs)
	for o := range w.jobs { // alongside the workers, if any are left
		o.fail("open", ErrClosed)
		o.finish()
	}
	w.gor.Wait()
}
