package vtask_test

import (
	"context"
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
