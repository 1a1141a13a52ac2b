package vtask_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/pool"
	"github.com/zerogc/zerogc/vtask"
)

// stressSource is a pooled source built on Core, like Completion, that also
// counts its holders so the test can see a source held twice.
type stressSource struct {
	vtask.Core[int64]
	held  atomic.Int32 // holders between rent and return; must stay <= 1
	fired atomic.Int32 // continuation runs in the current version
	pool  *pool.Pool[stressSource]
	bad   *atomic.Int64
}

func (s *stressSource) rent() {
	if s.held.Add(1) != 1 {
		s.bad.Add(1) // handed to a second holder
	}
}

func recycleStress(arg any) {
	s := arg.(*stressSource)
	if s.held.Add(-1) != 0 {
		s.bad.Add(1) // returned twice
	}
	s.pool.Put(s)
}

// stressOp is what a continuation learns about its operation.
type stressOp struct {
	src   *stressSource
	task  vtask.Task[int64]
	want  int64
	done  chan struct{}
	stats *stressStats
}

type stressStats struct {
	wrong, twice, errs atomic.Int64
}

// onDone is the continuation: it checks it runs once per version, then
// consumes the result, which returns the source to the pool.
func onDone(arg any) {
	op := arg.(*stressOp)
	if op.src.fired.Add(1) != 1 {
		op.stats.twice.Add(1)
	}
	op.src.fired.Store(0)
	v, err := op.task.Result()
	switch {
	case err != nil:
		op.stats.errs.Add(1)
	case v != op.want:
		op.stats.wrong.Add(1)
	}
	op.done <- struct{}{}
}

// TestStressCoreclr22711 replays the scenario of dotnet/coreclr#22711: many
// goroutines concurrently rent a source, hand it to a completer on another
// goroutine, poll its status, register a continuation, consume the result
// and return the source, 200,000 times in all. Every continuation must run
// exactly once, see its own operation's value, and no source may ever be
// held by two owners.
func TestStressCoreclr22711(t *testing.T) {
	const ops = 200_000
	workers := 4
	var bad atomic.Int64
	var p *pool.Pool[stressSource]
	p = pool.New(func() *stressSource {
		s := &stressSource{pool: p, bad: &bad}
		s.SetRelease(recycleStress, s)
		return s
	}, pool.Size(4)) // a small pool keeps every source busy

	type handoff struct {
		src *stressSource
		v   int64
	}
	completions := make(chan handoff, 64)
	var completers sync.WaitGroup
	for range 2 {
		completers.Go(func() {
			for h := range completions {
				h.src.SetResult(h.v)
			}
		})
	}
	var stats stressStats
	var submitters sync.WaitGroup
	var next atomic.Int64
	for range workers {
		submitters.Go(func() {
			op := &stressOp{done: make(chan struct{}, 1), stats: &stats}
			for {
				n := next.Add(1)
				if n > ops {
					return
				}
				src := p.Get()
				src.rent()
				op.src, op.task, op.want = src, src.Task(), n
				completions <- handoff{src, n}
				// Poll a little, racing the completer.
				for range int(n % 3) {
					if _, err := op.task.Status(); err != nil {
						stats.errs.Add(1)
					}
					runtime.Gosched()
				}
				if err := op.task.OnCompleted(onDone, op); err != nil {
					stats.errs.Add(1)
					continue
				}
				<-op.done
				// The handle is spent: every use must now be refused.
				if _, err := op.task.Result(); !errors.Is(err, vtask.ErrStale) && !errors.Is(err, vtask.ErrNotCompleted) {
					stats.errs.Add(1)
				}
			}
		})
	}
	submitters.Wait()
	close(completions)
	completers.Wait()
	if n := stats.twice.Load(); n != 0 {
		t.Errorf("%d continuations ran twice", n)
	}
	if n := stats.wrong.Load(); n != 0 {
		t.Errorf("%d continuations saw another operation's value", n)
	}
	if n := stats.errs.Load(); n != 0 {
		t.Errorf("%d unexpected errors", n)
	}
	if n := bad.Load(); n != 0 {
		t.Errorf("%d times a source was held twice or returned twice", n)
	}
}

// TestStressAwaitAndAbandon mixes blocking awaits, abandoned awaits and
// completions on the pooled Completion, with its pool in debug mode, which
// panics if it ever hands one object to two holders or takes one back twice.
func TestStressAwaitAndAbandon(t *testing.T) {
	type unique struct{ n int64 }
	p := vtask.DebugCompletions[unique]()
	const ops = 20_000
	var next atomic.Int64
	var wrong atomic.Int64
	var wg sync.WaitGroup
	canceled := canceledContext()
	for range 4 {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > ops {
					return
				}
				c := vtask.Rent[unique]()
				task := c.Task()
				go c.SetResult(unique{n})
				var v unique
				var err error
				switch n % 3 {
				case 0:
					v, err = task.Await()
				case 1:
					v, err = task.AwaitContext(context.Background())
				default:
					v, err = task.AwaitContext(canceled)
					if errors.Is(err, context.Canceled) {
						continue // abandoned: the completer recycles it
					}
				}
				if err != nil || v.n != n {
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if wrong.Load() != 0 {
		t.Fatalf("%d awaits got a wrong result", wrong.Load())
	}
	// The last completers may still be running.
	deadline := time.Now().Add(10 * time.Second)
	for len(p.Outstanding()) != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := p.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
}

// TestStressContinuationRacesClaimedCompleters registers a continuation
// while two claimed completers (TrySetResult and TrySetCanceled, as an I/O
// completion racing a cancellation) race each other and the registration,
// 20,000 times. Whichever order the three take, the continuation runs
// exactly once, after the one winning completion, and sees its outcome; the
// task is consumed once.
func TestStressContinuationRacesClaimedCompleters(t *testing.T) {
	type state struct {
		task vtask.Task[int]
		runs atomic.Int32
		v    int
		err  error
		done chan struct{}
	}
	cont := func(arg any) {
		s := arg.(*state)
		s.runs.Add(1)
		s.v, s.err = s.task.Result()
		close(s.done)
	}
	for i := range 20_000 {
		c := vtask.Rent[int]()
		s := &state{task: c.Task(), done: make(chan struct{})}
		version := c.Version()
		var won atomic.Int32 // 1: the result won, 2: the cancellation
		var wg sync.WaitGroup
		wg.Go(func() {
			if c.TrySetResult(version, i) {
				won.CompareAndSwap(0, 1)
			}
		})
		wg.Go(func() {
			if c.TrySetCanceled(version) {
				won.CompareAndSwap(0, 2)
			}
		})
		if i%2 == 0 {
			runtime.Gosched()
		}
		if err := s.task.OnCompleted(cont, s); err != nil {
			t.Fatalf("iteration %d: OnCompleted: %v", i, err)
		}
		wg.Wait()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("iteration %d: the continuation never ran", i)
		}
		if n := s.runs.Load(); n != 1 {
			t.Fatalf("iteration %d: the continuation ran %d times", i, n)
		}
		switch won.Load() {
		case 1:
			if s.err != nil || s.v != i {
				t.Fatalf("iteration %d: the result won, the continuation saw %v, %v", i, s.v, s.err)
			}
		case 2:
			if !errors.Is(s.err, context.Canceled) {
				t.Fatalf("iteration %d: the cancellation won, the continuation saw %v, %v", i, s.v, s.err)
			}
		default:
			t.Fatalf("iteration %d: no completer won", i)
		}
		if _, err := s.task.Result(); !errors.Is(err, vtask.ErrStale) {
			t.Fatalf("iteration %d: a second Result gave %v, want ErrStale", i, err)
		}
	}
}
