package bench

import (
	"sync"
	"sync/atomic"
)

// The floor is what a careful engineer writes by hand for one known
// operation: goroutines that live as long as the program and channels made
// once and reused. It allocates nothing per operation and cannot be beaten by
// much: a round trip costs two goroutine hand-offs. It is not a library: it
// serves exactly one caller shape, cannot be awaited with a context, and has
// no way to detect a stale or reused handle.

// newFloorRoundTrip starts one persistent worker. The request and reply
// channels are made once; a round trip is a send and a receive on each.
func newFloorRoundTrip() (RoundTrip, func()) {
	req := make(chan int, 1)
	reply := make(chan result, 1)
	go func() {
		for x := range req {
			v, err := Work(x)
			reply <- result{v, err}
		}
	}()
	rt := func(x int) (int, error) {
		req <- x
		r := <-reply
		return r.v, r.err
	}
	return rt, func() { close(req) }
}

// floorJob is one operation of a floor fan-out: its input and where its
// result goes.
type floorJob struct {
	x   int
	out *int
}

// floorFanOut runs batches on PoolSize persistent workers fed by one
// buffered channel. The last operation of a batch to finish signals done.
type floorFanOut struct {
	jobs chan floorJob
	done chan struct{}
	// pending counts the operations of the current batch not yet finished.
	// Only the worker whose decrement reaches zero signals done, so done
	// receives exactly one value per batch.
	pending atomic.Int64

	mu  sync.Mutex // guards err; taken only on the error path
	err error
}

func newFloorFanOut(maxBatch int) (FanOut, func()) {
	f := &floorFanOut{
		jobs: make(chan floorJob, maxBatch),
		done: make(chan struct{}, 1),
	}
	for range PoolSize() {
		go f.worker()
	}
	return f.run, func() { close(f.jobs) }
}

func (f *floorFanOut) worker() {
	for j := range f.jobs {
		v, err := Work(j.x)
		*j.out = v
		if err != nil {
			f.mu.Lock()
			if f.err == nil {
				f.err = err
			}
			f.mu.Unlock()
		}
		if f.pending.Add(-1) == 0 {
			f.done <- struct{}{}
		}
	}
}

func (f *floorFanOut) run(results []int) error {
	if len(results) == 0 {
		return nil
	}
	f.pending.Store(int64(len(results)))
	for i := range results {
		f.jobs <- floorJob{x: i, out: &results[i]}
	}
	<-f.done
	f.mu.Lock()
	err := f.err
	f.err = nil
	f.mu.Unlock()
	return err
}
