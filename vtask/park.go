//go:build !race && !go1.27

package vtask

import "unsafe"

// parking reports whether Await parks its goroutine directly with the
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
// release after 1.26 until someone has checked the wait reason below
// against it (TestSemantic8_AwaitParksWithoutAChannel does) and widened
// the build constraint.
const parking = true

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
// traceBlockCondWait. Their values are Go 1.26's;
// TestSemantic8_AwaitParksWithoutAChannel checks the first against a
// goroutine dump.
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

// wake makes the goroutine parked in Await runnable; the caller's CAS has
// handed it the result.
func (h *head) wake() { goready(h.g, 1) }
