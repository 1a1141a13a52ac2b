//go:build !race && !go1.28

package vtask

import (
	"runtime"
	"strings"
	"unsafe"
)

// canPark reports whether this build may park goroutines directly with the
// runtime's gopark and goready, the primitives under every channel, instead
// of blocking on the Core's channel. Parking skips the channel's lock, its
// queue entry (sudog) and the copy of an element: the wake-up is the
// runtime's own, with no lock around it, because the Core's state word
// already says who wakes whom.
//
// The race detector cannot see that goready orders the completer's writes
// before the woken goroutine's reads (a channel tells it so), and the
// commit function runs on the scheduler's stack, where instrumented code
// must not run; under -race, Await uses the channel. So it does on a Go
// release after 1.27: the build constraint admits only the releases whose
// runtime source was read for gopark's and goready's signatures and for
// the two constants below, and on which the package's tests pass. For
// go1.26.8 and go1.27.3, the lists of wait reasons and of trace block
// reasons, and gopark, goready, ready and park_m, are the same.
const canPark = true

// parking reports whether Await parks directly: canPark, and the probe run
// at init (parkingWorks) found that a goroutine parked with
// waitReasonSyncCondWait shows as [sync.Cond.Wait], so the constant is the
// running runtime's. If the probe fails, Await uses the channel. It is set
// once, before main; only tests change it, between operations.
var parking = parkingWorks()

// parkProbe parks on p as a waiting Await would, with reason, and closes
// resumed once woken. It is not inlined, so that its name is in the
// goroutine dump.
//
//go:noinline
func parkProbe(p *head, reason uint8, resumed chan<- struct{}) {
	gopark(commitPark, unsafe.Pointer(p), reason, traceBlockCondWait, 1)
	close(resumed)
}

// parkingWorks checks waitReasonSyncCondWait against the running runtime.
func parkingWorks() bool { return probeWaitReason(waitReasonSyncCondWait) == "sync.Cond.Wait" }

// probeWaitReason parks a goroutine with reason, reads the reason the
// runtime shows for it in a goroutine dump, then wakes it. It returns "" if
// the probe was not found in the dump.
func probeWaitReason(reason uint8) string {
	p := new(head)
	p.state.Store(flagClaimed | flagWaiter | flagParked) // what commitPark expects
	resumed := make(chan struct{})
	go parkProbe(p, reason, resumed)
	// commitPark sets flagRegistered once the probe is off its CPU with
	// its wait reason set.
	for p.state.Load()&flagRegistered == 0 {
		runtime.Gosched()
	}
	got := dumpedWaitReason("vtask.parkProbe(")
	goready(p.g, 1)
	<-resumed
	return got
}

// dumpedWaitReason returns the wait reason in the header of the goroutine
// that has a frame of fn in a dump of all goroutines, or "" if none has one
// (or the dump does not fit in 1 MiB).
func dumpedWaitReason(fn string) string {
	for size := 1 << 14; size <= 1<<20; size *= 4 {
		buf := make([]byte, size)
		n := runtime.Stack(buf, true)
		if n == len(buf) && size < 1<<20 {
			continue // cut short: try a larger buffer
		}
		for g := range strings.SplitSeq(string(buf[:n]), "\n\n") {
			if !strings.Contains(g, fn) {
				continue
			}
			// "goroutine 7 [sync.Cond.Wait]:", or "[..., 2 minutes]:"
			header, _, _ := strings.Cut(g, "\n")
			_, reason, ok := strings.Cut(header, "[")
			if !ok {
				return ""
			}
			reason, _, _ = strings.Cut(reason, "]")
			reason, _, _ = strings.Cut(reason, ",")
			return reason
		}
		break
	}
	return ""
}

// gopark parks the calling goroutine after unlockf(g, lock) returns true,
// or resumes it at once if unlockf returns false; goready makes a parked
// goroutine runnable. The runtime keeps both linkable on purpose
// (go.dev/issue/67401: "Do not remove or change the type signature"). Their
// *g arguments are declared here as uintptr (a goroutine's g is never
// freed, so the runtime itself keeps such references as integers; no write
// barrier is needed on the scheduler's stack), and their waitReason and
// traceBlockReason arguments as uint8, the types' underlying types.
//
//go:linkname gopark runtime.gopark
func gopark(unlockf func(gp uintptr, lock unsafe.Pointer) bool, lock unsafe.Pointer, reason, traceReason uint8, traceskip int)

//go:linkname goready runtime.goready
func goready(gp uintptr, traceskip int)

// The reasons a goroutine parked in Await gives: the runtime's
// waitReasonSyncCondWait ("sync.Cond.Wait" in a goroutine dump: a Core is a
// one-shot condition variable, and testing/synctest treats a goroutine so
// parked as durably blocked, as it does one in sync.Cond.Wait) and
// traceBlockCondWait. Their values are those of Go 1.26 and 1.27;
// parkingWorks checks the first against a goroutine dump at init, as
// TestSemantic8_AwaitParksWithoutAChannel does for a real Await.
const (
	waitReasonSyncCondWait = 21
	traceBlockCondWait     = 4
)

// park blocks the calling goroutine, which has claimed the waiter slot of
// h's Core (flagClaimed|flagWaiter|flagParked), until the completer wakes
// it. It returns at once if the operation completes before the goroutine is
// parked.
func (h *head) park() {
	gopark(commitPark, unsafe.Pointer(h), waitReasonSyncCondWait, traceBlockCondWait, 1)
}

// wakeG makes goroutine g, parked in Await, runnable. Every waker reads g
// from the Core's head before the CAS that makes it the waker: once that
// CAS succeeds, the Core may be consumed and recycled (for a wait given up,
// at once), and the next version's waiter overwrites h.g when it parks.
func wakeG(g uintptr) { goready(g, 1) }
