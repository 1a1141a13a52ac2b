//go:build !race && !go1.28

package vtask_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zerogc/zerogc/vtask"
)

// TestIssue14_3_ProbeReadsTheRunningRuntimesWaitReason checks the probe
// that decides at init whether Await parks directly: parked with park.go's
// constant, the probe shows as [sync.Cond.Wait] on this runtime, so Await
// parks; parked with any other reason (as after a renumbering of the
// runtime's wait reasons), it does not, and the probe fails.
func TestIssue14_3_ProbeReadsTheRunningRuntimesWaitReason(t *testing.T) {
	if got := vtask.ProbeWaitReason(vtask.WaitReasonSyncCondWait); got != "sync.Cond.Wait" {
		t.Fatalf("probe parked with park.go's waitReasonSyncCondWait shows %q, want sync.Cond.Wait: "+
			"the runtime (%s) numbers its wait reasons differently", got, runtime.Version())
	}
	if !vtask.Parking() {
		t.Fatal("the probe passes, but Await does not park directly")
	}
	got := vtask.ProbeWaitReason(vtask.WaitReasonSyncCondWait + 1)
	if got == "" || got == "sync.Cond.Wait" {
		t.Fatalf("probe parked with another reason shows %q: the probe cannot tell a wrong constant", got)
	}
}

// TestIssue14_3_ChannelFallbackWhenTheProbeFails turns direct parking off,
// as a failed probe does, and checks that Await then blocks on the Core's
// channel and still gets its result.
func TestIssue14_3_ChannelFallbackWhenTheProbeFails(t *testing.T) {
	was := vtask.SetParking(false)
	defer vtask.SetParking(was)
	for i := range 100 {
		var core vtask.Core[int]
		got := awaitInBackground(t, &core)
		if i == 0 {
			if h := headerOf(t, "awaitInBackground"); !strings.Contains(h, "[chan receive") {
				t.Fatalf("the waiter's header is %q, want chan receive", h)
			}
		}
		core.SetResult(i)
		select {
		case v := <-got:
			if v != i {
				t.Fatalf("Await = %d, want %d", v, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the waiter was never woken")
		}
		if core.WaitChan() == nil {
			t.Fatal("Await did not use the Core's channel with parking off")
		}
	}
}
