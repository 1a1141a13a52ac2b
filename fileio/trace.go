package fileio

import "sync/atomic"

// EventKind names a step of a read, as reported to a trace hook.
type EventKind uint8

// The steps of a read.
const (
	EvRentHit   EventKind = iota + 1 // a pooled op was reused
	EvRentNew                        // the pool was empty: a new op was created
	EvSyncCache                      // answered synchronously from the cache
	EvSyncError                      // failed synchronously before any I/O
	EvStart                          // handed to the backend (Detail: backend)
	EvSubmit                         // one kernel request or syscall issued (Detail: which)
	EvKernel                         // a kernel request completed (Detail: which, N: result)
	EvCancel                         // a cancel was requested for the op
	EvComplete                       // the task's source was completed (N bytes, Err)
	EvRelease                        // the result was consumed; the op went back to the pool
	EvSyncRead                       // read synchronously from the page cache on the caller (io_uring, WithInlineReads)
)

var kindNames = [...]string{
	EvRentHit: "rent-hit", EvRentNew: "rent-new", EvSyncCache: "sync-cache",
	EvSyncError: "sync-error", EvStart: "start", EvSubmit: "submit", EvKernel: "kernel",
	EvCancel: "cancel", EvComplete: "complete", EvRelease: "release", EvSyncRead: "sync-read",
}

// String returns the short name of the step.
func (k EventKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "event?"
}

// Event is one traced step of a read.
type Event struct {
	Kind   EventKind
	Slot   int    // slot index in the Reader's table, -1 for synchronous paths
	Round  uint32 // the slot's round counter (part of the io_uring user_data)
	Token  uint64 // the vtask version of the op's source at this step
	Path   string
	Detail string
	N      int
	Err    error
}

var traceHook atomic.Pointer[func(Event)]

// SetTrace installs fn to be called, synchronously, at every step of every
// read of every Reader in the process; nil removes it. It is meant for
// demonstrations and debugging: with no hook a step costs one atomic load.
// fn runs on the goroutine doing the step (a caller, the io_uring loop or
// a worker) and must not block.
func SetTrace(fn func(Event)) {
	if fn == nil {
		traceHook.Store(nil)
		return
	}
	traceHook.Store(&fn)
}

func (o *op) token() uint64 {
	if o.kind == kindFile {
		return o.bytes.Version()
	}
	return o.ints.Version()
}

func traceSync(k EventKind, path string, n int, err error) {
	if f := traceHook.Load(); f != nil {
		//zerogc:allow the trace hook, installed only by tests and the walkthrough
		(*f)(Event{Kind: k, Slot: -1, Path: path, N: n, Err: err})
	}
}

func traceRent(k EventKind, o *op, path string) {
	if f := traceHook.Load(); f != nil {
		//zerogc:allow the trace hook, installed only by tests and the walkthrough
		(*f)(Event{Kind: k, Slot: int(o.idx), Round: o.ver.Load(), Path: path})
	}
}

func traceOp(k EventKind, o *op, detail string) {
	if f := traceHook.Load(); f != nil {
		//zerogc:allow the trace hook, installed only by tests and the walkthrough
		(*f)(Event{Kind: k, Slot: int(o.idx), Round: o.ver.Load(), Token: o.token(), Path: o.path, Detail: detail})
	}
}

func traceStep(k EventKind, o *op, detail string, n int) {
	if f := traceHook.Load(); f != nil {
		//zerogc:allow the trace hook, installed only by tests and the walkthrough
		(*f)(Event{Kind: k, Slot: int(o.idx), Round: o.ver.Load(), Token: o.token(), Path: o.path, Detail: detail, N: n})
	}
}

func traceDone(o *op, n int, err error) {
	if f := traceHook.Load(); f != nil {
		//zerogc:allow the trace hook, installed only by tests and the walkthrough
		(*f)(Event{Kind: EvComplete, Slot: int(o.idx), Round: o.ver.Load(), Token: o.token(), Path: o.path, N: n, Err: err})
	}
}

// traceCancel reads no field of o but its index: a cancel may come late,
// while another goroutine owns o for a new round.
func traceCancel(o *op, ver uint32, detail string) {
	if f := traceHook.Load(); f != nil {
		(*f)(Event{Kind: EvCancel, Slot: int(o.idx), Round: ver, Detail: detail})
	}
}
