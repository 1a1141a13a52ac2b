package vtask_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/vtask"
)

// completeLater completes c with v from another goroutine after d.
func completeLater[T any](c *vtask.Completion[T], v T, d time.Duration) {
	go func() {
		time.Sleep(d)
		c.SetResult(v)
	}()
}

// --- 1. Version tokens ---------------------------------------------------

func TestSemantic1_StaleTokenIsRejectedAfterConsume(t *testing.T) {
	c := vtask.Rent[int]()
	task := c.Task()
	c.SetResult(7)
	if v, err := task.Await(); v != 7 || err != nil {
		t.Fatalf("first Await = %v, %v; want 7, nil", v, err)
	}
	if _, err := task.Await(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("second Await err = %v, want ErrStale", err)
	}
	if _, err := task.Result(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("Result after consume err = %v, want ErrStale", err)
	}
	if _, err := task.Status(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("Status after consume err = %v, want ErrStale", err)
	}
	if err := task.OnCompleted(func(any) { t.Error("continuation ran on a stale task") }, nil); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("OnCompleted after consume err = %v, want ErrStale", err)
	}
	if !task.IsCompleted() {
		t.Fatal("IsCompleted on a stale task = false; a stale task never blocks")
	}
}

func TestSemantic1_StaleHandleNeverTouchesTheLiveOperation(t *testing.T) {
	var core vtask.Core[string]
	old := core.Task()
	core.SetResult("first")
	if v, _ := old.Result(); v != "first" {
		t.Fatalf("Result = %q", v)
	}
	live := core.Task() // the same core, reused for the next operation
	if live.Token() == old.Token() {
		t.Fatalf("the token did not change after consumption: %d", live.Token())
	}
	if err := old.OnCompleted(func(any) {}, nil); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("stale OnCompleted err = %v, want ErrStale", err)
	}
	if _, err := old.Result(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("stale Result err = %v, want ErrStale", err)
	}
	if core.TrySetResult(old.Token(), "late") {
		t.Fatal("TrySetResult with the old version completed the live operation")
	}
	if st, err := live.Status(); st != vtask.Pending || err != nil {
		t.Fatalf("live status = %v, %v; the stale calls disturbed it", st, err)
	}
	core.SetResult("second")
	if v, err := live.Result(); v != "second" || err != nil {
		t.Fatalf("live Result = %q, %v; want second, nil", v, err)
	}
}

func TestSemantic1_VersionsAreWiderThan32Bits(t *testing.T) {
	var core vtask.Core[int]
	core.SetVersion(1<<40 + 5)
	task := core.Task()
	if task.Token() != 1<<40+5 {
		t.Fatalf("token = %d, want %d", task.Token(), uint64(1<<40+5))
	}
	// A token that agrees in the low 32 bits only is still stale.
	alias := vtask.NewTask[int](&core, 5)
	core.SetResult(1)
	if _, err := alias.Result(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("token equal in its low 32 bits: err = %v, want ErrStale", err)
	}
	if v, err := task.Result(); v != 1 || err != nil {
		t.Fatalf("Result = %v, %v", v, err)
	}
	if core.Version() != 1<<40+6 {
		t.Fatalf("version after consume = %d, want %d", core.Version(), uint64(1<<40+6))
	}
}

// badTokens returns tokens that differ from version only in bits a
// truncating comparison would drop, plus its neighbours.
func badTokens(version uint64) []uint64 {
	return []uint64{
		version + 1<<48,
		version | 1<<63,
		version ^ 0xffff_0000_0000_0000,
		version + 1,
		version - 1,
	}
}

// TestIssue11_1_TokenOtherThanTheVersionIsRefusedEverywhere checks that a
// token other than the current version, even one equal to it in the
// version's 48 bits, fails at every entry point, and that none of them
// touches the live operation.
func TestIssue11_1_TokenOtherThanTheVersionIsRefusedEverywhere(t *testing.T) {
	for _, version := range []uint64{0, 5, 1<<48 - 1} {
		for _, bad := range badTokens(version) {
			where := fmt.Sprintf("version %#x, token %#x", version, bad)
			var core vtask.Core[int]
			core.SetVersion(version)
			live := core.Task()
			if live.Token() != version {
				t.Fatalf("%s: live token = %#x", where, live.Token())
			}
			if core.TrySetResult(bad, 1) {
				t.Errorf("%s: TrySetResult completed the live operation", where)
			}
			if core.TrySetError(bad, errors.New("x")) {
				t.Errorf("%s: TrySetError completed the live operation", where)
			}
			if core.TrySetCanceled(bad) {
				t.Errorf("%s: TrySetCanceled completed the live operation", where)
			}
			stale := vtask.NewTask[int](&core, bad)
			if _, err := stale.Status(); !errors.Is(err, vtask.ErrStale) {
				t.Errorf("%s: Status err = %v, want ErrStale", where, err)
			}
			if err := stale.OnCompleted(func(any) { t.Errorf("%s: continuation of a stale token ran", where) }, nil); !errors.Is(err, vtask.ErrStale) {
				t.Errorf("%s: OnCompleted err = %v, want ErrStale", where, err)
			}
			if _, err := stale.AwaitContext(canceledContext()); !errors.Is(err, vtask.ErrStale) {
				t.Errorf("%s: AwaitContext err = %v, want ErrStale", where, err)
			}
			if st, err := live.Status(); st != vtask.Pending || err != nil {
				t.Fatalf("%s: live Status = %v, %v; a bad token disturbed the live operation", where, st, err)
			}
			// Completed, the live operation still refuses the bad token.
			if !core.TrySetResult(version, 42) {
				t.Fatalf("%s: TrySetResult with the live token failed", where)
			}
			if _, err := stale.Result(); !errors.Is(err, vtask.ErrStale) {
				t.Errorf("%s: Result err = %v, want ErrStale", where, err)
			}
			if _, err := stale.Await(); !errors.Is(err, vtask.ErrStale) {
				t.Errorf("%s: Await err = %v, want ErrStale", where, err)
			}
			if v, err := live.Result(); v != 42 || err != nil {
				t.Fatalf("%s: live Result = %v, %v; want 42, nil", where, v, err)
			}
		}
	}
}

// TestIssue11_1_VersionWrapsToZero checks that the version after the
// largest one is 0, and that the token the wrapped Core hands out is the
// one every entry point accepts.
func TestIssue11_1_VersionWrapsToZero(t *testing.T) {
	var core vtask.Core[int]
	core.SetVersion(1<<48 - 1)
	last := core.Task()
	core.SetResult(1)
	if v, err := last.Result(); v != 1 || err != nil {
		t.Fatalf("Result = %v, %v", v, err)
	}
	if core.Version() != 0 {
		t.Fatalf("version after %#x = %#x, want 0", uint64(1<<48-1), core.Version())
	}
	next := core.Task()
	if !core.TrySetResult(next.Token(), 2) {
		t.Fatal("TrySetResult with the wrapped token failed")
	}
	if v, err := next.Result(); v != 2 || err != nil {
		t.Fatalf("wrapped Result = %v, %v", v, err)
	}
	if core.TrySetResult(last.Token(), 3) {
		t.Fatal("the token of the last version before the wrap completed the next one")
	}
}

// --- 2. Status and publication -------------------------------------------

func TestSemantic2_StatusesAreDistinct(t *testing.T) {
	cases := []struct {
		err  error
		want vtask.Status
	}{
		{nil, vtask.Succeeded},
		{errors.New("boom"), vtask.Failed},
		{context.Canceled, vtask.Canceled},
		{context.DeadlineExceeded, vtask.Canceled},
		{fmt.Errorf("read: %w", context.Canceled), vtask.Canceled},
	}
	for _, tc := range cases {
		c := vtask.Rent[int]()
		task := c.Task()
		if st, err := task.Status(); st != vtask.Pending || err != nil {
			t.Fatalf("before completion: %v, %v; want Pending", st, err)
		}
		if tc.err == nil {
			c.SetResult(1)
		} else {
			c.SetError(tc.err)
		}
		if st, err := task.Status(); st != tc.want || err != nil {
			t.Errorf("error %v: status %v, %v; want %v", tc.err, st, err, tc.want)
		}
		if _, err := task.Result(); !errors.Is(err, tc.err) && tc.err != nil {
			t.Errorf("Result err = %v, want %v", err, tc.err)
		}
		if st, _ := vtask.FromError[int](tc.err).Status(); st != tc.want {
			t.Errorf("immediate task with %v: status %v, want %v", tc.err, st, tc.want)
		}
	}
	var core vtask.Core[int]
	task := core.Task()
	core.SetCanceled()
	if st, _ := task.Status(); st != vtask.Canceled {
		t.Fatalf("SetCanceled: status %v, want Canceled", st)
	}
	names := map[string]bool{}
	for _, s := range []vtask.Status{vtask.Pending, vtask.Succeeded, vtask.Failed, vtask.Canceled} {
		names[s.String()] = true
	}
	if len(names) != 4 {
		t.Fatalf("status names are not distinct: %v", names)
	}
}

// TestSemantic2_ReaderThatSeesCompletedSeesResult polls Status from one
// goroutine while another completes; under the race detector a result read
// that is not ordered after its write is reported.
func TestSemantic2_ReaderThatSeesCompletedSeesResult(t *testing.T) {
	type big struct{ a, b, c, d int }
	for i := range 2000 {
		c := vtask.Rent[big]()
		task := c.Task()
		go c.SetResult(big{i, i, i, i})
		for !task.IsCompleted() {
			runtime.Gosched()
		}
		if st, err := task.Status(); st != vtask.Succeeded || err != nil {
			t.Fatalf("status %v, %v", st, err)
		}
		v, err := task.Result()
		if err != nil || v != (big{i, i, i, i}) {
			t.Fatalf("iteration %d: Result = %v, %v", i, v, err)
		}
	}
}

// TestIssue11_4_StatusStringOfAnyValue checks the names of values outside
// the four statuses.
func TestIssue11_4_StatusStringOfAnyValue(t *testing.T) {
	for s, want := range map[vtask.Status]string{
		vtask.Canceled: "Canceled",
		4:              "Status(4)",
		9:              "Status(9)",
		10:             "Status(10)",
		42:             "Status(42)",
		255:            "Status(255)",
	} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", uint8(s), got, want)
		}
	}
}

// --- 3. Consumed once, then recycled ---------------------------------------

func TestSemantic3_ConsumeResetsAndReturnsToPoolOnce(t *testing.T) {
	type unique3 struct{ n int }
	p := vtask.DebugCompletions[unique3]()
	c := vtask.Rent[unique3]()
	task := c.Task()
	version := c.Version()
	c.SetResult(unique3{3})
	if v, err := task.Result(); v.n != 3 || err != nil {
		t.Fatalf("Result = %v, %v", v, err)
	}
	if c.Version() != version+1 {
		t.Fatalf("version after consume = %d, want %d", c.Version(), version+1)
	}
	if !c.FieldsClear() {
		t.Fatal("consume left the result or the continuation in the source")
	}
	if err := p.CheckLeaks(); err != nil {
		t.Fatalf("the source was not returned to its pool: %v", err)
	}
	// A second consume must not return it again: the debug pool would panic.
	if _, err := task.Result(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("second Result err = %v, want ErrStale", err)
	}
	again := vtask.Rent[unique3]()
	if again != c {
		t.Fatal("the next Rent did not reuse the returned source")
	}
	again.Reset() // give it back: complete and consume a version
	task = again.Task()
	again.SetResult(unique3{})
	task.Result()
	if err := p.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
}

func TestSemantic3_ResultBeforeCompletionRecyclesNothing(t *testing.T) {
	type unique3b struct{}
	p := vtask.DebugCompletions[unique3b]()
	c := vtask.Rent[unique3b]()
	task := c.Task()
	if _, err := task.Result(); !errors.Is(err, vtask.ErrNotCompleted) {
		t.Fatalf("early Result err = %v, want ErrNotCompleted", err)
	}
	if len(p.Outstanding()) != 1 {
		t.Fatal("an early Result returned the source to its pool")
	}
	c.SetResult(unique3b{})
	if _, err := task.Result(); err != nil {
		t.Fatalf("Result after completion err = %v", err)
	}
	if err := p.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
}

// --- 4. Completed once per version ------------------------------------------

func TestSemantic4_DoubleCompletionPanics(t *testing.T) {
	for name, second := range map[string]func(*vtask.Core[int]){
		"SetResult":   func(c *vtask.Core[int]) { c.SetResult(2) },
		"SetError":    func(c *vtask.Core[int]) { c.SetError(errors.New("x")) },
		"SetCanceled": func(c *vtask.Core[int]) { c.SetCanceled() },
	} {
		t.Run(name, func(t *testing.T) {
			var core vtask.Core[int]
			task := core.Task()
			core.SetResult(1)
			func() {
				defer func() {
					r := recover()
					if r == nil || !strings.Contains(fmt.Sprint(r), "already completed") {
						t.Fatalf("second completion: recover() = %v, want a panic about double completion", r)
					}
				}()
				second(&core)
			}()
			if v, err := task.Result(); v != 1 || err != nil {
				t.Fatalf("the failed second completion changed the result: %v, %v", v, err)
			}
		})
	}
}

func TestSemantic4_TrySetSettlesACompletionRace(t *testing.T) {
	for i := range 5000 {
		c := vtask.Rent[int]()
		task := c.Task()
		version := c.Version()
		var wins atomic.Int32
		var wg sync.WaitGroup
		wg.Go(func() {
			if c.TrySetResult(version, i) {
				wins.Add(1)
			}
		})
		wg.Go(func() {
			if c.TrySetCanceled(version) {
				wins.Add(1)
			}
		})
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("iteration %d: %d completers won, want exactly 1", i, wins.Load())
		}
		v, err := task.Result()
		if !(err == nil && v == i) && !errors.Is(err, context.Canceled) {
			t.Fatalf("iteration %d: Result = %v, %v", i, v, err)
		}
	}
}

func TestSemantic4_TrySetOfAnotherVersionFails(t *testing.T) {
	var core vtask.Core[int]
	task := core.Task()
	if core.TrySetResult(task.Token()+1, 1) {
		t.Fatal("TrySetResult with a future version succeeded")
	}
	if !core.TrySetError(task.Token(), errors.New("x")) {
		t.Fatal("TrySetError with the current version failed")
	}
	if core.TrySetResult(task.Token(), 1) {
		t.Fatal("TrySetResult on a completed version succeeded")
	}
}

// --- 5. Completion racing registration ------------------------------------

type counter struct{ n atomic.Int32 }

func bump(arg any) { arg.(*counter).n.Add(1) }

func TestSemantic5_CompleteThenRegister(t *testing.T) {
	var core vtask.Core[int]
	task := core.Task()
	core.SetResult(1)
	var cnt counter
	if err := task.OnCompleted(bump, &cnt); err != nil {
		t.Fatal(err)
	}
	if cnt.n.Load() != 1 {
		t.Fatalf("continuation ran %d times, want 1 (at registration)", cnt.n.Load())
	}
}

func TestSemantic5_RegisterThenComplete(t *testing.T) {
	var core vtask.Core[int]
	task := core.Task()
	var cnt counter
	if err := task.OnCompleted(bump, &cnt); err != nil {
		t.Fatal(err)
	}
	if cnt.n.Load() != 0 {
		t.Fatal("continuation ran before completion")
	}
	core.SetResult(1)
	if cnt.n.Load() != 1 {
		t.Fatalf("continuation ran %d times, want 1 (at completion)", cnt.n.Load())
	}
}

func TestSemantic5_ConcurrentRegisterAndCompleteRunOnce(t *testing.T) {
	for i := range 20000 {
		c := vtask.Rent[int]()
		task := c.Task()
		var cnt counter
		var wg sync.WaitGroup
		wg.Go(func() { c.SetResult(i) })
		wg.Go(func() {
			if err := task.OnCompleted(bump, &cnt); err != nil {
				t.Errorf("OnCompleted: %v", err)
			}
		})
		wg.Wait()
		if n := cnt.n.Load(); n != 1 {
			t.Fatalf("iteration %d: continuation ran %d times, want 1", i, n)
		}
		if v, err := task.Result(); v != i || err != nil {
			t.Fatalf("Result = %v, %v", v, err)
		}
	}
}

func TestSemantic5_ErrorAndCancellationReachTheContinuation(t *testing.T) {
	for _, want := range []error{errors.New("disk on fire"), context.Canceled} {
		for _, registerFirst := range []bool{true, false} {
			var core vtask.Core[int]
			task := core.Task()
			var got error
			cont := func(any) { _, got = task.Result() }
			if registerFirst {
				if err := task.OnCompleted(cont, nil); err != nil {
					t.Fatal(err)
				}
				core.SetError(want)
			} else {
				core.SetError(want)
				if err := task.OnCompleted(cont, nil); err != nil {
					t.Fatal(err)
				}
			}
			if !errors.Is(got, want) {
				t.Errorf("registerFirst=%v: continuation saw %v, want %v", registerFirst, got, want)
			}
		}
	}
}

// --- 6. One registration per version ------------------------------------------

func TestSemantic6_SecondRegistrationFailsWithoutDisturbingTheFirst(t *testing.T) {
	var core vtask.Core[int]
	task := core.Task()
	var first, second counter
	if err := task.OnCompleted(bump, &first); err != nil {
		t.Fatal(err)
	}
	if err := task.OnCompleted(bump, &second); !errors.Is(err, vtask.ErrAlreadyRegistered) {
		t.Fatalf("second registration err = %v, want ErrAlreadyRegistered", err)
	}
	core.SetResult(1)
	if first.n.Load() != 1 || second.n.Load() != 0 {
		t.Fatalf("first ran %d times, second %d; want 1 and 0", first.n.Load(), second.n.Load())
	}
}

func TestSemantic6_NilContinuationIsRejected(t *testing.T) {
	var core vtask.Core[int]
	task := core.Task()
	if err := task.OnCompleted(nil, nil); !errors.Is(err, vtask.ErrNilContinuation) {
		t.Fatalf("err = %v, want ErrNilContinuation", err)
	}
	if err := core.OnCompleted(task.Token(), nil, nil); !errors.Is(err, vtask.ErrNilContinuation) {
		t.Fatalf("Core.OnCompleted(nil) err = %v, want ErrNilContinuation", err)
	}
	if err := vtask.FromResult(1).OnCompleted(nil, nil); !errors.Is(err, vtask.ErrNilContinuation) {
		t.Fatalf("immediate task: err = %v, want ErrNilContinuation", err)
	}
	// The nil registration did not take the slot.
	var cnt counter
	if err := task.OnCompleted(bump, &cnt); err != nil {
		t.Fatalf("registration after a rejected nil: %v", err)
	}
}

func TestSemantic6_SecondAwaitWhileAwaitingFails(t *testing.T) {
	c := vtask.Rent[int]()
	task := c.Task()
	got := make(chan error, 1)
	go func() {
		_, err := task.Await()
		got <- err
	}()
	// Wait until the first awaiter has registered.
	deadline := time.Now().Add(10 * time.Second)
	for !c.Waiting() {
		if time.Now().After(deadline) {
			t.Fatal("the first awaiter never registered")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := task.Await(); !errors.Is(err, vtask.ErrAwaitedTwice) {
		t.Fatalf("second Await err = %v, want ErrAwaitedTwice", err)
	}
	if _, err := task.AwaitContext(canceledContext()); !errors.Is(err, vtask.ErrAwaitedTwice) {
		t.Fatalf("second AwaitContext err = %v, want ErrAwaitedTwice", err)
	}
	if err := task.OnCompleted(bump, &counter{}); !errors.Is(err, vtask.ErrAwaitedTwice) {
		t.Fatalf("OnCompleted while awaited: err = %v, want ErrAwaitedTwice", err)
	}
	c.SetResult(1)
	if err := <-got; err != nil {
		t.Fatalf("the first awaiter was disturbed: %v", err)
	}
}

func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestIssue11_5_AwaitAfterAbandonedWaitIsStale gives a wait up with
// AwaitContext, then uses the task again on the same goroutine: with no
// other goroutine waiting, every call must say the task is stale.
func TestIssue11_5_AwaitAfterAbandonedWaitIsStale(t *testing.T) {
	c := vtask.Rent[int]()
	task := c.Task()
	if _, err := task.AwaitContext(canceledContext()); !errors.Is(err, context.Canceled) {
		t.Fatalf("AwaitContext err = %v, want context.Canceled", err)
	}
	if _, err := task.Await(); !errors.Is(err, vtask.ErrStale) {
		t.Errorf("Await after the wait was given up: err = %v, want ErrStale", err)
	}
	if _, err := task.AwaitContext(canceledContext()); !errors.Is(err, vtask.ErrStale) {
		t.Errorf("AwaitContext after the wait was given up: err = %v, want ErrStale", err)
	}
	if err := task.OnCompleted(func(any) { t.Error("continuation of a given-up task ran") }, nil); !errors.Is(err, vtask.ErrStale) {
		t.Errorf("OnCompleted after the wait was given up: err = %v, want ErrStale", err)
	}
	if _, err := task.Result(); !errors.Is(err, vtask.ErrStale) {
		t.Errorf("Result after the wait was given up: err = %v, want ErrStale", err)
	}
	if _, err := task.Status(); !errors.Is(err, vtask.ErrStale) {
		t.Errorf("Status after the wait was given up: err = %v, want ErrStale", err)
	}
	c.SetResult(1) // the completion consumes the given-up result
	if _, err := task.Await(); !errors.Is(err, vtask.ErrStale) {
		t.Errorf("Await after the late completion: err = %v, want ErrStale", err)
	}
}

// TestIssue11_5_DocumentedBehaviours checks what the docs say about
// immediate tasks and about Await with a continuation registered.
func TestIssue11_5_DocumentedBehaviours(t *testing.T) {
	boom := errors.New("boom")
	for name, task := range map[string]vtask.Task[int]{
		"zero":       {},
		"FromResult": vtask.FromResult(3),
		"FromError":  vtask.FromError[int](boom),
		"Run Inline": vtask.Run(vtask.Inline, func() (int, error) { return 3, nil }),
	} {
		want, wantErr := 3, error(nil)
		switch name {
		case "zero":
			want = 0
		case "FromError":
			want, wantErr = 0, boom
		}
		for i := range 3 { // an immediate task may be read any number of times
			if v, err := task.Await(); v != want || err != wantErr {
				t.Fatalf("%s: Await %d = %v, %v", name, i, v, err)
			}
			if v, err := task.Result(); v != want || err != wantErr {
				t.Fatalf("%s: Result %d = %v, %v", name, i, v, err)
			}
		}
	}
	var core vtask.Core[int]
	task := core.Task()
	var cnt counter
	if err := task.OnCompleted(bump, &cnt); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Await(); !errors.Is(err, vtask.ErrAlreadyRegistered) {
		t.Fatalf("Await with a continuation registered: err = %v, want ErrAlreadyRegistered", err)
	}
	core.SetResult(1)
	if cnt.n.Load() != 1 {
		t.Fatalf("the continuation ran %d times, want 1", cnt.n.Load())
	}
}

// --- 7. Executors ------------------------------------------------------------------

// countingExecutor runs functions on a goroutine of its own and counts them.
type countingExecutor struct{ n atomic.Int32 }

func (e *countingExecutor) Execute(fn func(any), arg any) {
	e.n.Add(1)
	go fn(arg)
}

func TestSemantic7_InlineContinuationRunsOnTheCompleter(t *testing.T) {
	var core vtask.Core[int]
	task := core.Task()
	var cnt counter
	if err := task.OnCompleted(bump, &cnt); err != nil {
		t.Fatal(err)
	}
	core.SetResult(1)
	// Inline: it has run by the time SetResult returns.
	if cnt.n.Load() != 1 {
		t.Fatal("inline continuation had not run when SetResult returned")
	}
}

func TestSemantic7_ExecutorRunsContinuationsAndIsKeptAcrossResets(t *testing.T) {
	var exec countingExecutor
	var core vtask.Core[int]
	core.SetExecutor(&exec)
	for round := 1; round <= 3; round++ {
		task := core.Task()
		done := make(chan struct{})
		if err := task.OnCompleted(func(any) { close(done) }, nil); err != nil {
			t.Fatal(err)
		}
		core.SetResult(round)
		<-done
		if v, err := task.Result(); v != round || err != nil {
			t.Fatalf("round %d: Result = %v, %v", round, v, err)
		}
		if exec.n.Load() != int32(round) {
			t.Fatalf("round %d: executor ran %d continuations, want %d", round, exec.n.Load(), round)
		}
	}
}

func TestSemantic7_RegistrationOnCompletedOperationUsesTheExecutor(t *testing.T) {
	var exec countingExecutor
	var core vtask.Core[int]
	core.SetExecutor(&exec)
	task := core.Task()
	core.SetResult(1)
	done := make(chan struct{})
	if err := task.OnCompleted(func(any) { close(done) }, nil); err != nil {
		t.Fatal(err)
	}
	<-done
	if exec.n.Load() != 1 {
		t.Fatalf("executor ran %d continuations, want 1", exec.n.Load())
	}
}

// TestSemantic7_ChainOfCompletedRegistrationsDoesNotRecurse registers, from
// each continuation, the next continuation on an operation that has already
// completed. With an executor every hop starts on a fresh stack; the chain
// of 100,000 hops would otherwise be 100,000 frames deep.
func TestSemantic7_ChainOfCompletedRegistrationsDoesNotRecurse(t *testing.T) {
	wp := vtask.NewWorkerPool(1, 4)
	defer wp.Close()
	const hops = 100_000
	var core vtask.Core[int]
	core.SetExecutor(wp)
	done := make(chan int, 1)
	var maxDepth atomic.Int64
	var hop func(any)
	hop = func(arg any) {
		n := arg.(*int)
		if d := int64(stackDepth()); d > maxDepth.Load() {
			maxDepth.Store(d)
		}
		task := core.Task()
		if _, err := task.Result(); err != nil {
			panic(err)
		}
		*n++
		if *n == hops {
			done <- *n
			return
		}
		next := core.Task()
		core.SetResult(*n)
		if err := next.OnCompleted(hop, n); err != nil {
			panic(err)
		}
	}
	n := new(int)
	first := core.Task()
	core.SetResult(0)
	if err := first.OnCompleted(hop, n); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if got != hops {
			t.Fatalf("chain stopped at %d", got)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("chain did not finish")
	}
	if d := maxDepth.Load(); d > 64 {
		t.Fatalf("stack depth reached %d frames: continuations recursed", d)
	}
}

func stackDepth() int {
	pcs := make([]uintptr, 1024)
	return runtime.Callers(0, pcs)
}

// --- 8. Waiting ------------------------------------------------------------------

func TestSemantic8_AwaitCompletedByAnotherGoroutine(t *testing.T) {
	c := vtask.Rent[string]()
	task := c.Task()
	completeLater(c, "done", time.Millisecond)
	if v, err := task.Await(); v != "done" || err != nil {
		t.Fatalf("Await = %q, %v", v, err)
	}
}

func TestSemantic8_AwaitAlreadyCompleted(t *testing.T) {
	c := vtask.Rent[string]()
	task := c.Task()
	c.SetResult("early")
	if v, err := task.Await(); v != "early" || err != nil {
		t.Fatalf("Await = %q, %v", v, err)
	}
}

func TestSemantic8_AwaitDeliversErrorsAndCancellation(t *testing.T) {
	for _, want := range []error{errors.New("eof"), context.DeadlineExceeded} {
		c := vtask.Rent[int]()
		task := c.Task()
		go c.SetError(want)
		if _, err := task.Await(); !errors.Is(err, want) {
			t.Fatalf("Await err = %v, want %v", err, want)
		}
	}
}

func TestSemantic8_TheWaitChannelIsReused(t *testing.T) {
	// Where goroutines do not park directly (under -race, on a Go
	// release not checked, see park.go), Await and AwaitContext wait on
	// the Core's channel; SetParking(false) makes this build do so.
	defer vtask.SetParking(vtask.SetParking(false))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var core vtask.Core[int]
	var ch chan struct{}
	for i := range 3 {
		task := core.Task()
		go func() { time.Sleep(time.Millisecond); core.SetResult(i) }()
		if v, err := task.AwaitContext(ctx); v != i || err != nil {
			t.Fatalf("AwaitContext = %v, %v", v, err)
		}
		if ch == nil {
			ch = core.WaitChan()
		} else if core.WaitChan() != ch {
			t.Fatal("a new wait channel was made for a later version")
		}
	}
	if ch == nil {
		t.Fatal("no wait channel was used")
	}
}

func TestSemantic8_CompletionHandsTheResultToTheWaiter(t *testing.T) {
	var core vtask.Core[int]
	released := make(chan struct{}, 2)
	core.SetRelease(func(any) { released <- struct{}{} }, nil)
	task := core.Task()
	got := make(chan int, 1)
	go func() {
		v, _ := task.Await()
		got <- v
	}()
	for !core.Waiting() {
		runtime.Gosched()
	}
	core.SetResult(7)
	// Completing moved the version on for the waiter: the result is
	// already its own, and nobody else can consume or see it.
	if _, err := task.Status(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("Status after completion with a waiter: err = %v, want ErrStale", err)
	}
	if _, err := task.Result(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("Result after completion with a waiter: err = %v, want ErrStale", err)
	}
	if v := <-got; v != 7 {
		t.Fatalf("the waiter got %d, want 7", v)
	}
	<-released
	if len(released) != 0 {
		t.Fatal("the release function ran twice")
	}
}

func TestSemantic8_AwaitContextWithANilContextIsAwait(t *testing.T) {
	c := vtask.Rent[int]()
	task := c.Task()
	go c.SetResult(3)
	//lint:ignore SA1012 a nil context is what this test is about
	if v, err := task.AwaitContext(nil); v != 3 || err != nil {
		t.Fatalf("AwaitContext(nil) = %v, %v, want 3, nil", v, err)
	}
}

func TestSemantic8_AwaitOnACompletedOperationMakesNoChannel(t *testing.T) {
	var core vtask.Core[int]
	task := core.Task()
	core.SetResult(1)
	if v, err := task.Await(); v != 1 || err != nil {
		t.Fatalf("Await = %v, %v", v, err)
	}
	if core.WaitChan() != nil {
		t.Fatal("Await made a wait channel for an operation that had completed")
	}
}

func TestSemantic8_AwaitContextReturnsTheContextErrorAndTheSourceReturnsLater(t *testing.T) {
	type unique8 struct{}
	p := vtask.DebugCompletions[unique8]()
	c := vtask.Rent[unique8]()
	task := c.Task()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := task.AwaitContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AwaitContext err = %v, want DeadlineExceeded", err)
	}
	if len(p.Outstanding()) != 1 {
		t.Fatal("the source left its holder before its operation completed")
	}
	c.SetResult(unique8{}) // the late completion consumes the abandoned result
	if err := p.CheckLeaks(); err != nil {
		t.Fatalf("the abandoned source did not return to its pool: %v", err)
	}
}

func TestSemantic8_AwaitContextCompletedFirst(t *testing.T) {
	for _, completeFirst := range []bool{true, false} {
		c := vtask.Rent[int]()
		task := c.Task()
		ctx, cancel := context.WithCancel(context.Background())
		if completeFirst {
			c.SetResult(5)
		} else {
			completeLater(c, 5, time.Millisecond)
		}
		v, err := task.AwaitContext(ctx)
		cancel()
		if v != 5 || err != nil {
			t.Fatalf("completeFirst=%v: AwaitContext = %v, %v", completeFirst, v, err)
		}
	}
}

// TestSemantic8_AbandonedWaitsReturnEverySourceAndLeaveNoGoroutine abandons
// 100,000 waits by cancellation, completes their operations afterwards from
// other goroutines, and checks that every source is back in its pool and
// that no goroutine is left behind.
func TestSemantic8_AbandonedWaitsReturnEverySourceAndLeaveNoGoroutine(t *testing.T) {
	type unique8b struct{ n int }
	p := vtask.DebugCompletions[unique8b]()
	before := runtime.NumGoroutine()
	const waits = 100_000
	ctx := canceledContext()
	pending := make(chan *vtask.Completion[unique8b], 1024)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for c := range pending {
				c.SetResult(unique8b{1})
			}
		})
	}
	abandoned := 0
	for range waits {
		c := vtask.Rent[unique8b]()
		task := c.Task()
		if _, err := task.AwaitContext(ctx); errors.Is(err, context.Canceled) {
			abandoned++
		} else {
			t.Fatalf("AwaitContext err = %v, want context.Canceled", err)
		}
		pending <- c
	}
	close(pending)
	wg.Wait()
	if abandoned != waits {
		t.Fatalf("%d waits abandoned, want %d", abandoned, waits)
	}
	if err := p.CheckLeaks(); err != nil {
		t.Fatalf("sources not returned: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left behind (%d before, %d after)", n-before, before, n)
	}
}

// --- 9. Panics --------------------------------------------------------------------

func panicky(msg string) (int, error) { panic(msg) }

func TestSemantic9_PanicIsDeliveredAsAnError(t *testing.T) {
	wp := vtask.NewWorkerPool(1, 0)
	defer wp.Close()
	for _, exec := range []vtask.Executor{wp, vtask.Inline} {
		_, err := vtask.RunWith(exec, panicky, "kaboom").Await()
		var pe *vtask.PanicError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v, want a *PanicError", err)
		}
		if pe.Value != "kaboom" {
			t.Fatalf("panic value = %v, want kaboom", pe.Value)
		}
		if !strings.Contains(string(pe.Stack), "panicky") {
			t.Fatalf("panic stack does not name the panicking function:\n%s", pe.Stack)
		}
	}
	sentinel := errors.New("sentinel")
	_, err := vtask.Run(wp, func() (int, error) { panic(sentinel) }).Await()
	if !errors.Is(err, sentinel) {
		t.Fatalf("panic(err): errors.Is does not see the error through the PanicError: %v", err)
	}
}

// --- 10. Many awaits -------------------------------------------------------------

func TestSemantic10_PreservedTaskCanBeAwaitedManyTimes(t *testing.T) {
	c := vtask.Rent[int]()
	p := c.Task().Preserve()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			v, err := p.Await()
			if v != 42 || err != nil {
				errs <- fmt.Errorf("Await = %v, %v", v, err)
			}
		})
	}
	var cnt counter
	if err := p.OnCompleted(bump, &cnt); err != nil {
		t.Fatal(err)
	}
	if err := p.OnCompleted(bump, &cnt); err != nil {
		t.Fatalf("a preserved task refused a second continuation: %v", err)
	}
	time.Sleep(time.Millisecond)
	c.SetResult(42)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for range 3 {
		if v, err := p.Result(); v != 42 || err != nil {
			t.Fatalf("Result = %v, %v", v, err)
		}
	}
	if cnt.n.Load() != 2 {
		t.Fatalf("continuations ran %d times, want 2", cnt.n.Load())
	}
	if st, err := p.Status(); st != vtask.Succeeded || err != nil {
		t.Fatalf("Status = %v, %v", st, err)
	}
	if imm := vtask.FromResult(3).Preserve(); !imm.IsImmediate() {
		t.Fatal("Preserve of an immediate task should return it unchanged")
	}
}

// --- 11. Combinators ---------------------------------------------------------------

func double(x int) (int, error) {
	if x < 0 {
		return 0, fmt.Errorf("negative: %d", x)
	}
	return 2 * x, nil
}

func TestSemantic11_WhenAllCollectsEveryResult(t *testing.T) {
	wp := vtask.NewWorkerPool(2, 0)
	defer wp.Close()
	tasks := make([]vtask.Task[int], 100)
	for i := range tasks {
		if i%10 == 0 {
			tasks[i] = vtask.FromResult(2 * i) // mixed with immediate tasks
		} else {
			tasks[i] = vtask.RunWith(wp, double, i)
		}
	}
	results := make([]int, len(tasks))
	got, err := vtask.WhenAll(tasks, results).Await()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 2*i {
			t.Fatalf("results[%d] = %d, want %d", i, v, 2*i)
		}
	}
	for i := range tasks {
		if _, err := tasks[i].Result(); !tasks[i].IsImmediate() && !errors.Is(err, vtask.ErrStale) {
			t.Fatalf("task %d was not consumed by WhenAll: %v", i, err)
		}
	}
}

func TestSemantic11_WhenAllReportsTheFirstError(t *testing.T) {
	wp := vtask.NewWorkerPool(2, 0)
	defer wp.Close()
	tasks := []vtask.Task[int]{vtask.RunWith(wp, double, 1), vtask.RunWith(wp, double, -2), vtask.RunWith(wp, double, -3)}
	got, err := vtask.WhenAll(tasks, nil).Await()
	if err == nil || !strings.Contains(err.Error(), "negative: -2") {
		t.Fatalf("err = %v, want the error of task 1", err)
	}
	if got[0] != 2 {
		t.Fatalf("results[0] = %d, want 2", got[0])
	}
	if v, err := vtask.WhenAll[int](nil, nil).Await(); len(v) != 0 || err != nil {
		t.Fatalf("WhenAll of nothing = %v, %v", v, err)
	}
}

func TestSemantic11_WhenAnyTakesTheFirstAndRecyclesTheRest(t *testing.T) {
	type unique11 struct{ n int }
	p := vtask.DebugCompletions[unique11]()
	cs := []*vtask.Completion[unique11]{vtask.Rent[unique11](), vtask.Rent[unique11](), vtask.Rent[unique11]()}
	tasks := []vtask.Task[unique11]{cs[0].Task(), cs[1].Task(), cs[2].Task()}
	any := vtask.WhenAny(tasks)
	cs[1].SetResult(unique11{11})
	got, err := any.Await()
	if err != nil || got.Index != 1 || got.Value.n != 11 {
		t.Fatalf("WhenAny = %+v, %v; want index 1, value 11", got, err)
	}
	cs[2].SetError(errors.New("late"))
	cs[0].SetResult(unique11{0})
	if err := p.CheckLeaks(); err != nil {
		t.Fatalf("the losers' sources were not recycled: %v", err)
	}
	if _, err := vtask.WhenAny[int](nil).Await(); !errors.Is(err, vtask.ErrNoTasks) {
		t.Fatalf("WhenAny of nothing: err = %v, want ErrNoTasks", err)
	}
	imm, err := vtask.WhenAny([]vtask.Task[int]{vtask.FromResult(9)}).Await()
	if err != nil || imm.Index != 0 || imm.Value != 9 {
		t.Fatalf("WhenAny of an immediate task = %+v, %v", imm, err)
	}
}
