package bench

import (
	"fmt"
	"sync"

	"github.com/alitto/pond/v2"
	"github.com/panjf2000/ants/v2"
	"github.com/sourcegraph/conc/pool"
	"github.com/sourcegraph/conc/stream"
	"golang.org/x/sync/errgroup"
)

// Each peer is used the way its own documentation shows, with nothing
// turned off: panic recovery, error propagation and ordering stay as the
// library ships them.

// --- plain go + make(chan T, 1) ---

// The contenders that make a channel per operation (go+chan, ants) send
// the value alone, make(chan int, 1), as a user would for an operation that
// cannot fail. Sending the error as well costs them one more allocation: a
// channel whose element type holds a pointer gets its buffer allocated
// separately from the channel.

func newGoChanRoundTrip() (RoundTrip, func()) {
	rt := func(x int) (int, error) {
		ch := make(chan int, 1)
		go func() {
			v, _ := Work(x) // Work cannot fail
			ch <- v
		}()
		return <-ch, nil
	}
	return rt, func() {}
}

func newGoChanFanOut(maxBatch int) (FanOut, func()) {
	// The slice of channels is kept across batches: only the channels and
	// goroutines themselves are per operation.
	chans := make([]chan int, maxBatch)
	fo := func(results []int) error {
		for i := range results {
			ch := make(chan int, 1)
			chans[i] = ch
			go func() {
				v, _ := Work(i) // Work cannot fail
				ch <- v
			}()
		}
		for i := range results {
			results[i] = <-chans[i]
			chans[i] = nil
		}
		return nil
	}
	return fo, func() {}
}

// --- golang.org/x/sync/errgroup ---

func newErrgroupRoundTrip() (RoundTrip, func()) {
	rt := func(x int) (int, error) {
		var g errgroup.Group
		var v int
		g.Go(func() error {
			var err error
			v, err = Work(x)
			return err
		})
		err := g.Wait()
		return v, err
	}
	return rt, func() {}
}

func newErrgroupFanOut(int) (FanOut, func()) {
	fo := func(results []int) error {
		var g errgroup.Group
		for i := range results {
			g.Go(func() error {
				v, err := Work(i)
				results[i] = v
				return err
			})
		}
		return g.Wait()
	}
	return fo, func() {}
}

// --- github.com/panjf2000/ants/v2 ---

// antsCall is the argument of the ants round trip: the input and the
// channel its result comes back on.
type antsCall struct {
	x     int
	reply chan int
}

func newAntsRoundTrip() (RoundTrip, func()) {
	p, err := ants.NewPoolWithFuncGeneric(PoolSize(), func(c antsCall) {
		v, _ := Work(c.x) // Work cannot fail
		c.reply <- v
	})
	if err != nil {
		panic(fmt.Sprintf("bench: ants.NewPoolWithFuncGeneric: %v", err))
	}
	rt := func(x int) (int, error) {
		reply := make(chan int, 1)
		if err := p.Invoke(antsCall{x: x, reply: reply}); err != nil {
			return 0, err
		}
		return <-reply, nil
	}
	return rt, p.Release
}

// antsJob is the argument of the ants fan-out: the shape of ants' own
// PoolWithFunc example (a WaitGroup the function marks done), plus where the
// result and the error go.
type antsJob struct {
	x   int
	out *int
	err *error
	wg  *sync.WaitGroup
}

func newAntsFanOut(maxBatch int) (FanOut, func()) {
	p, err := ants.NewPoolWithFuncGeneric(PoolSize(), func(j antsJob) {
		*j.out, *j.err = Work(j.x)
		j.wg.Done()
	})
	if err != nil {
		panic(fmt.Sprintf("bench: ants.NewPoolWithFuncGeneric: %v", err))
	}
	var wg sync.WaitGroup
	errs := make([]error, maxBatch)
	fo := func(results []int) error {
		wg.Add(len(results))
		for i := range results {
			if err := p.Invoke(antsJob{x: i, out: &results[i], err: &errs[i], wg: &wg}); err != nil {
				wg.Add(-(len(results) - i))
				wg.Wait()
				return err
			}
		}
		wg.Wait()
		var first error
		for i := range results {
			if errs[i] != nil && first == nil {
				first = errs[i]
			}
			errs[i] = nil
		}
		return first
	}
	return fo, p.Release
}

// --- github.com/alitto/pond/v2 ---

func newPondRoundTrip() (RoundTrip, func()) {
	p := pond.NewResultPool[int](PoolSize())
	rt := func(x int) (int, error) {
		return p.SubmitErr(func() (int, error) { return Work(x) }).Wait()
	}
	return rt, p.StopAndWait
}

func newPondFanOut(int) (FanOut, func()) {
	p := pond.NewResultPool[int](PoolSize())
	fo := func(results []int) error {
		g := p.NewGroup()
		for i := range results {
			g.SubmitErr(func() (int, error) { return Work(i) })
		}
		vs, err := g.Wait()
		copy(results, vs)
		return err
	}
	return fo, p.StopAndWait
}

// --- github.com/sourcegraph/conc ---

// conc's pools are scoped: one is created for a group of tasks and Wait
// ends it, so each round trip and each batch makes its own, as conc's
// documentation does.

func newConcPoolRoundTrip() (RoundTrip, func()) {
	rt := func(x int) (int, error) {
		p := pool.NewWithResults[int]().WithErrors()
		p.Go(func() (int, error) { return Work(x) })
		vs, err := p.Wait()
		if len(vs) == 0 {
			return 0, err
		}
		return vs[0], err
	}
	return rt, func() {}
}

func newConcPoolFanOut(int) (FanOut, func()) {
	fo := func(results []int) error {
		p := pool.NewWithResults[int]().WithErrors()
		for i := range results {
			p.Go(func() (int, error) { return Work(i) })
		}
		vs, err := p.Wait()
		copy(results, vs) // conc does not keep submission order; the sum checks do not need it
		return err
	}
	return fo, func() {}
}

// newConcStreamRoundTrip keeps one stream open for the whole benchmark, the
// way a stream processes an unbounded input: each task's callback hands its
// result to the caller over one reused channel.
func newConcStreamRoundTrip() (RoundTrip, func()) {
	s := stream.New()
	reply := make(chan result, 1)
	rt := func(x int) (int, error) {
		s.Go(func() stream.Callback {
			v, err := Work(x)
			return func() { reply <- result{v, err} }
		})
		r := <-reply
		return r.v, r.err
	}
	return rt, s.Wait
}

func newConcStreamFanOut(int) (FanOut, func()) {
	fo := func(results []int) error {
		s := stream.New()
		var first error
		for i := range results {
			s.Go(func() stream.Callback {
				v, err := Work(i)
				return func() {
					// Callbacks run one at a time, in submission order.
					results[i] = v
					if err != nil && first == nil {
						first = err
					}
				}
			})
		}
		s.Wait()
		return first
	}
	return fo, func() {}
}
