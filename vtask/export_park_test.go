//go:build !race && !go1.28

package vtask

// Test hooks of park.go, visible to package vtask_test only.

// ProbeWaitReason parks a goroutine with reason and returns the reason a
// goroutine dump shows for it: the check parkingWorks makes at init.
func ProbeWaitReason(reason uint8) string { return probeWaitReason(reason) }

// WaitReasonSyncCondWait is the wait reason a parked Await gives.
const WaitReasonSyncCondWait = waitReasonSyncCondWait

// SetAbandonHook makes fn run in the context watcher's abandon of a parked
// wait, between the CAS that gives the wait up and the wake, until the
// test ends.
func SetAbandonHook(t interface{ Cleanup(func()) }, fn func()) {
	testHookAbandoned = fn
	t.Cleanup(func() { testHookAbandoned = nil })
}

// WaiterParked reports whether a goroutine is parked on c's current version
// (its commitPark has run and the operation has not completed).
func WaiterParked[T any](c *Core[T]) bool {
	const want = flagClaimed | flagWaiter | flagParked | flagRegistered
	return c.state.Load()&(want|flagCompleted|flagAbandoned) == want
}
