//go:build !race && !go1.28

package vtask

// Test hooks of park.go, visible to package vtask_test only.

// ProbeWaitReason parks a goroutine with reason and returns the reason a
// goroutine dump shows for it: the check parkingWorks makes at init.
func ProbeWaitReason(reason uint8) string { return probeWaitReason(reason) }

// WaitReasonSyncCondWait is the wait reason a parked Await gives.
const WaitReasonSyncCondWait = waitReasonSyncCondWait
