package bench

import (
	"fmt"

	"github.com/zerogc/zerogc/vtask"
)

// vtaskContenders returns the vtask contenders.
func vtaskContenders() []Contender {
	return []Contender{
		{
			Name:         "vtask-Completion",
			Doc:          "vtask.Rent a pooled Completion, a persistent worker completes it, Task.Await; fan-out rents with vtask.RentBatch and joins with vtask.WhenAll (the floor's shape, made safe)",
			NewRoundTrip: newVtaskCompletionRoundTrip,
			NewFanOut:    newVtaskCompletionFanOut,
		},
		{
			Name: "vtask-RunWith",
			Doc:  "vtask.RunWith(workerPool, Work, x).Await() on a vtask.WorkerPool of GOMAXPROCS workers; fan-out joins with vtask.WhenAll",
			NewRoundTrip: func() (RoundTrip, func()) {
				wp := vtask.NewWorkerPool(PoolSize(), 0)
				return runWithRoundTrip(wp), wp.Close
			},
			NewFanOut: func(maxBatch int) (FanOut, func()) {
				wp := vtask.NewWorkerPool(PoolSize(), maxBatch)
				return runWithFanOut(wp, maxBatch), wp.Close
			},
		},
		{
			Name: "vtask-RunWith-ants",
			Doc:  "vtask.RunWith on an ants pool of GOMAXPROCS workers (AntsExecutor, the adapter in this module)",
			NewRoundTrip: func() (RoundTrip, func()) {
				e := mustAntsExecutor()
				return runWithRoundTrip(e), e.Release
			},
			NewFanOut: func(maxBatch int) (FanOut, func()) {
				e := mustAntsExecutor()
				return runWithFanOut(e, maxBatch), e.Release
			},
		},
	}
}

func mustAntsExecutor() *AntsExecutor {
	e, err := NewAntsExecutor(PoolSize())
	if err != nil {
		panic(fmt.Sprintf("bench: %v", err))
	}
	return e
}

// runWithRoundTrip submits Work as a top-level function with its input as
// state, so nothing is captured and nothing is allocated.
func runWithRoundTrip(exec vtask.Executor) RoundTrip {
	return func(x int) (int, error) {
		return vtask.RunWith(exec, Work, x).Await()
	}
}

// runWithFanOut starts a batch with RunWith and joins it with WhenAll; the
// task slice is kept across batches and WhenAll writes into results.
func runWithFanOut(exec vtask.Executor, maxBatch int) FanOut {
	tasks := make([]vtask.Task[int], maxBatch)
	return func(results []int) error {
		ts := tasks[:len(results)]
		for i := range ts {
			ts[i] = vtask.RunWith(exec, Work, i)
		}
		_, err := vtask.WhenAll(ts, results).Await()
		clear(ts)
		return err
	}
}

// completionJob asks a persistent worker to run Work(x) and complete c.
type completionJob struct {
	c *vtask.Completion[int]
	x int
}

// completeJobs is the loop of the persistent workers of the Completion
// contenders. After SetResult or SetError the job's Completion belongs to
// the task's holder: the worker does not touch it again.
func completeJobs(jobs <-chan completionJob) {
	for j := range jobs {
		v, err := Work(j.x)
		if err != nil {
			j.c.SetError(err)
			continue
		}
		j.c.SetResult(v)
	}
}

// newVtaskCompletionRoundTrip is the floor's structure (one persistent
// worker, a channel made once) with a rented vtask Completion carrying the
// result back: the way a library drives vtask from its own event loop.
func newVtaskCompletionRoundTrip() (RoundTrip, func()) {
	jobs := make(chan completionJob, 1)
	go completeJobs(jobs)
	rt := func(x int) (int, error) {
		c := vtask.Rent[int]()
		t := c.Task()
		jobs <- completionJob{c, x}
		return t.Await()
	}
	return rt, func() { close(jobs) }
}

func newVtaskCompletionFanOut(maxBatch int) (FanOut, func()) {
	jobs := make(chan completionJob, maxBatch)
	for range PoolSize() {
		go completeJobs(jobs)
	}
	tasks := make([]vtask.Task[int], maxBatch)
	fo := func(results []int) error {
		ts := tasks[:len(results)]
		// Rent the Completions 64 at a time (one pool look-up and one
		// pin of the P per batch instead of per operation).
		var cs [64]*vtask.Completion[int]
		for i := 0; i < len(ts); {
			batch := cs[:min(len(cs), len(ts)-i)]
			vtask.RentBatch(batch)
			for j, c := range batch {
				batch[j] = nil
				ts[i] = c.Task()
				jobs <- completionJob{c, i}
				i++
			}
		}
		_, err := vtask.WhenAll(ts, results).Await()
		clear(ts)
		return err
	}
	return fo, func() { close(jobs) }
}
