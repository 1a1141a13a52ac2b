package vtask_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zerogc/zerogc/vtask"
)

// waitForWaiter waits until a goroutine is registered as the waiter of c.
func waitForWaiter[T any](t *testing.T, c *vtask.Core[T]) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !c.Waiting() {
		if time.Now().After(deadline) {
			t.Fatal("the awaiting goroutine never registered")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// awaitInBackground awaits c's current task on a new goroutine and returns,
// once that goroutine is registered as the waiter, where its value arrives.
func awaitInBackground(t *testing.T, c *vtask.Core[int]) <-chan int {
	t.Helper()
	task := c.Task()
	got := make(chan int, 1)
	go func() {
		v, _ := task.Await()
		got <- v
	}()
	waitForWaiter(t, c)
	return got
}

// headerOf returns the header line ("goroutine 7 [reason]:") of the one
// goroutine whose stack has a frame containing frame.
func headerOf(t *testing.T, frame string) string {
	t.Helper()
	buf := make([]byte, 1<<20)
	dump := string(buf[:runtime.Stack(buf, true)])
	var found []string
	for g := range strings.SplitSeq(dump, "\n\n") {
		if strings.Contains(g, frame) {
			first, _, _ := strings.Cut(g, "\n")
			found = append(found, first)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d goroutines have a frame %s, want 1:\n%s", len(found), frame, dump)
	}
	return found[0]
}

func TestSemantic8_AwaitParksWithoutAChannel(t *testing.T) {
	if !vtask.Parking() {
		t.Skip("under -race, Await waits on the Core's channel")
	}
	var core vtask.Core[int]
	got := awaitInBackground(t, &core)
	// The goroutine is parked with the reason park.go gives: if a Go
	// release renumbers the runtime's wait reasons, this fails.
	if h := headerOf(t, "parkUntilDone"); !strings.Contains(h, "[sync.Cond.Wait") {
		t.Fatalf("parked goroutine's header is %q, want the reason sync.Cond.Wait", h)
	}
	core.SetResult(42)
	if v := <-got; v != 42 {
		t.Fatalf("Await = %d, want 42", v)
	}
	if core.WaitChan() != nil {
		t.Fatal("a parking Await made a wait channel")
	}
}

// A parking Await claims the waiter slot, then parks; the operation can
// complete in between. The completer must then publish without waking
// anyone, and the waiter, finding the operation completed when it comes to
// park, must not park and must consume the result itself.
func TestSemantic8_CompletionBetweenClaimAndPark(t *testing.T) {
	var core vtask.Core[int]
	released := 0
	core.SetRelease(func(any) { released++ }, nil)
	task := core.Task()
	core.ClaimPark()
	// Every other caller is refused while the slot is claimed.
	if _, err := task.Await(); !errors.Is(err, vtask.ErrAwaitedTwice) {
		t.Fatalf("second Await during the claim: err = %v, want ErrAwaitedTwice", err)
	}
	if err := task.OnCompleted(func(any) {}, nil); !errors.Is(err, vtask.ErrAwaitedTwice) {
		t.Fatalf("OnCompleted during the claim: err = %v, want ErrAwaitedTwice", err)
	}
	core.SetResult(7) // would crash in goready if it tried to wake anyone
	if st, err := task.Status(); st != vtask.Succeeded || err != nil {
		t.Fatalf("Status after completion = %v, %v; want Succeeded", st, err)
	}
	if core.CommitPark() {
		t.Fatal("commitPark would park a goroutine whose operation has completed")
	}
	if released != 0 {
		t.Fatal("the result was consumed before the waiter took it")
	}
	if v, err := task.Result(); v != 7 || err != nil {
		t.Fatalf("the waiter's Result = %v, %v; want 7", v, err)
	}
	if released != 1 {
		t.Fatalf("release ran %d times, want 1", released)
	}
	if _, err := task.Result(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("Result after consumption: err = %v, want ErrStale", err)
	}
}

// TestStressParkRace races completers against Await at every distance:
// before the waiter claims, between its claim and its park, and after it
// has parked. The completer spins on another P (it polls instead of
// blocking, so that it runs beside the waiter) and completes each
// operation after a delay that varies from op to op. Each Await must get
// its own operation's result, and no waiter may sleep forever (the test
// would time out). The two narrow windows are hit a few times per 100,000
// operations on two cores: counters added to commitPark and publishSlow for
// a trial found the operation completed between claim and park 5-9 times,
// and a registration between publish's look and its CAS 1-5 times, per run.
// TestSemantic8_CompletionBetweenClaimAndPark forces the first.
func TestStressParkRace(t *testing.T) {
	ops := 100_000
	if testing.Short() {
		ops = 10_000
	}
	var core vtask.Core[int]
	var next atomic.Int64 // n+1: complete op n; 0: nothing to do; -1: stop
	var wg sync.WaitGroup
	wg.Go(func() {
		for spins := 0; ; spins++ {
			r := next.Load()
			switch {
			case r < 0:
				return
			case r == 0:
				if spins%64 == 63 {
					runtime.Gosched() // lets the waiter run on one P
				}
				continue
			}
			next.Store(0)
			for i := int64(0); i < r%61; i++ {
				spinSink.Add(1)
			}
			core.SetResult(int(r - 1))
		}
	})
	defer wg.Wait()
	defer next.Store(-1)
	for n := range ops {
		task := core.Task()
		next.Store(int64(n) + 1)
		var v int
		var err error
		if n%2 == 0 {
			v, err = task.Await()
		} else {
			v, err = task.AwaitContext(context.Background())
		}
		if v != n || err != nil {
			t.Fatalf("op %d: Await = %v, %v", n, v, err)
		}
	}
}

var spinSink atomic.Int64

// A goroutine in Await counts as durably blocked in a synctest bubble (the
// reason park.go gives it is a condition wait's), so the bubble's clock
// moves on to the completer's timer instead of hanging.
func TestAwaitInASynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var core vtask.Core[int]
		task := core.Task()
		start := time.Now()
		go func() {
			time.Sleep(time.Hour)
			core.SetResult(9)
		}()
		if v, err := task.Await(); v != 9 || err != nil {
			t.Fatalf("Await = %v, %v", v, err)
		}
		if d := time.Since(start); d != time.Hour {
			t.Fatalf("the bubble's clock moved %v, want 1h", d)
		}
	})
}
