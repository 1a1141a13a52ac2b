package vtask_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/vtask"
)

// Tests of WorkerPool and of Run and RunWith on it.

func plusOne(x int) (int, error) { return x + 1, nil }

// TestIssue11_2_ExecuteRacingCloseIsNotARace runs producers that call
// Execute while the pool is closed. Under -race it must report nothing;
// every job must run exactly once, and a job submitted after Close returned
// runs before Execute returns.
func TestIssue11_2_ExecuteRacingCloseIsNotARace(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	const producers = 4
	for round := range rounds {
		wp := vtask.NewWorkerPool(2, 8)
		var submitted, ran atomic.Int64
		job := func(any) { ran.Add(1) }
		var start, stop sync.WaitGroup
		var lost atomic.Int64
		start.Add(producers + 1)
		for range producers {
			stop.Go(func() {
				start.Done()
				for i := 0; i < 200; i++ {
					submitted.Add(1)
					wp.Execute(job, nil)
				}
			})
		}
		// One more producer runs tasks: each must complete, whichever
		// side of Close its job lands on.
		stop.Go(func() {
			start.Done()
			for i := 0; i < 50; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if v, err := vtask.RunWith(wp, plusOne, i).AwaitContext(ctx); v != i+1 || err != nil {
					lost.Add(1)
				}
				cancel()
			}
		})
		start.Wait()
		if round%2 == 0 {
			runtime.Gosched()
		}
		wp.Close()
		stop.Wait()
		wp.Close() // idempotent
		if s, r := submitted.Load(), ran.Load(); s != r {
			t.Fatalf("round %d: %d jobs submitted, %d ran", round, s, r)
		}
		if n := lost.Load(); n != 0 {
			t.Fatalf("round %d: %d tasks of RunWith racing Close did not complete with their result", round, n)
		}
		before := ran.Load()
		wp.Execute(job, nil)
		if ran.Load() != before+1 {
			t.Fatalf("round %d: a job submitted after Close did not run on the caller", round)
		}
	}
}

// goexitNow is a RunWith function that ends its goroutine, as t.FailNow
// does.
func goexitNow(int) (int, error) {
	runtime.Goexit()
	return 0, nil
}

// TestIssue11_3_GoexitCompletesTheTaskAndKeepsTheWorkers runs functions that
// call runtime.Goexit on a pool, more of them than it has workers. Each task
// must complete with ErrGoexit, and the pool must still run as many jobs at
// once as it has workers.
func TestIssue11_3_GoexitCompletesTheTaskAndKeepsTheWorkers(t *testing.T) {
	const workers = 3
	wp := vtask.NewWorkerPool(workers, 64)
	defer wp.Close()
	for i := range 3 * workers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := vtask.RunWith(wp, goexitNow, i).AwaitContext(ctx)
		cancel()
		if !errors.Is(err, vtask.ErrGoexit) {
			t.Fatalf("task %d: err = %v, want ErrGoexit", i, err)
		}
	}
	_, err := vtask.Run(wp, func() (int, error) { runtime.Goexit(); return 0, nil }).AwaitContext(timeoutContext(t, 5*time.Second))
	if !errors.Is(err, vtask.ErrGoexit) {
		t.Fatalf("Run: err = %v, want ErrGoexit", err)
	}
	// workers jobs that each wait until all of them run: only a pool with
	// all its workers runs them (none runs on this goroutine: the queue
	// has room).
	var running sync.WaitGroup
	running.Add(workers)
	release := make(chan struct{})
	tasks := make([]vtask.Task[int], workers)
	for i := range tasks {
		tasks[i] = vtask.RunWith(wp, func(i int) (int, error) {
			running.Done()
			<-release
			return i, nil
		}, i)
	}
	all := make(chan struct{})
	go func() { running.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatalf("the pool did not run %d jobs at once after Goexits: it lost workers", workers)
	}
	close(release)
	for i, task := range tasks {
		if v, err := task.Await(); v != i || err != nil {
			t.Fatalf("job %d = %v, %v", i, v, err)
		}
	}
}

// TestIssue11_3_GoexitOnAnyExecutor checks that the task of a function that
// calls runtime.Goexit completes on an executor that is not a WorkerPool.
func TestIssue11_3_GoexitOnAnyExecutor(t *testing.T) {
	var e countingExecutor
	_, err := vtask.RunWith(&e, goexitNow, 0).AwaitContext(timeoutContext(t, 5*time.Second))
	if !errors.Is(err, vtask.ErrGoexit) {
		t.Fatalf("err = %v, want ErrGoexit", err)
	}
	if e.n.Load() != 1 {
		t.Fatalf("the executor ran %d functions, want 1", e.n.Load())
	}
}

func timeoutContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestIssue11_3_StressGoexitRacingClose runs functions that call
// runtime.Goexit, mixed with ordinary ones, from several goroutines while
// the pool is closed. Every task must complete with its outcome, and once
// Close has returned no worker may be left. (A job that runs on its
// submitter, the queue being full or the pool closed, ends the submitter:
// that producer stops there.)
func TestIssue11_3_StressGoexitRacingClose(t *testing.T) {
	before := runtime.NumGoroutine()
	for round := range 50 {
		wp := vtask.NewWorkerPool(2, 4)
		var wrong, roundGoexits atomic.Int64
		var producers sync.WaitGroup
		for p := range 4 {
			producers.Go(func() {
				for i := range 100 {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					if (p+i)%2 == 0 {
						if _, err := vtask.RunWith(wp, goexitNow, i).AwaitContext(ctx); !errors.Is(err, vtask.ErrGoexit) {
							wrong.Add(1)
						} else {
							roundGoexits.Add(1)
						}
					} else if v, err := vtask.RunWith(wp, plusOne, i).AwaitContext(ctx); v != i+1 || err != nil {
						wrong.Add(1)
					}
					cancel()
				}
			})
		}
		// Close races the producers, but only once a Goexit has run on a
		// worker in this round: four producers with one task each never
		// fill the queue of four, so until Close every job runs on a worker.
		waitUntil := time.Now().Add(5 * time.Second)
		for roundGoexits.Load() == 0 && time.Now().Before(waitUntil) {
			runtime.Gosched()
		}
		if roundGoexits.Load() == 0 {
			t.Fatalf("round %d: no Goexit task completed on a worker within 5s", round)
		}
		wp.Close()
		producers.Wait()
		if n := wrong.Load(); n != 0 {
			t.Fatalf("round %d: %d tasks did not complete with their outcome", round, n)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left after Close (%d before)", n-before, before)
	}
}
