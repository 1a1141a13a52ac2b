package bench

import "runtime"

// Work is the operation every contender runs: a trivial, non-failing
// function, so that the benchmarks measure what a library costs around it.
// It has the shape vtask.RunWith expects, and its error result makes every
// contender carry an error back the way its library does.
func Work(x int) (int, error) {
	return 2*x + 1, nil
}

// result is what channel-based contenders send back: a value and its error.
type result struct {
	v   int
	err error
}

// RoundTrip performs one operation on another goroutine and returns its
// result. It is called by one goroutine at a time.
type RoundTrip func(x int) (int, error)

// FanOut runs Work(i) for every index i of results concurrently, stores each
// value in results[i], waits for all of them and returns the first error. It
// is called by one goroutine at a time.
type FanOut func(results []int) error

// Contender is one way of running asynchronous operations: a peer library,
// plain goroutines, the hand-written floor, or vtask.
type Contender struct {
	// Name is the sub-benchmark name: short, with no spaces.
	Name string
	// Doc says in a few words how the contender is used.
	Doc string
	// NewRoundTrip starts whatever the contender keeps running (workers,
	// pools) and returns its round trip and a function that releases it.
	// Nil if the contender has no round-trip form.
	NewRoundTrip func() (RoundTrip, func())
	// NewFanOut does the same for the fan-out workload, sized for batches of
	// up to maxBatch operations. Nil if the contender has no fan-out form.
	NewFanOut func(maxBatch int) (FanOut, func())
}

// PoolSize is the number of workers given to every contender whose API
// takes one (the floor, ants, pond, vtask.WorkerPool): GOMAXPROCS, since
// Work is CPU-bound. Contenders whose library has its own default (errgroup,
// conc: unlimited) keep that default.
func PoolSize() int { return runtime.GOMAXPROCS(0) }

// Contenders returns every contender, the floor first. The vtask contenders
// come from vtaskContenders (vtask.go).
func Contenders() []Contender {
	cs := []Contender{
		{
			Name:         "floor",
			Doc:          "hand-written: persistent worker goroutines and reused channels",
			NewRoundTrip: newFloorRoundTrip,
			NewFanOut:    newFloorFanOut,
		},
		{
			Name:         "sync-call",
			Doc:          "baseline: Work called directly, no goroutine hop",
			NewRoundTrip: func() (RoundTrip, func()) { return Work, func() {} },
		},
		{
			Name:         "go+chan",
			Doc:          "plain go statement and make(chan T, 1) per operation",
			NewRoundTrip: newGoChanRoundTrip,
			NewFanOut:    newGoChanFanOut,
		},
		{
			Name:         "errgroup",
			Doc:          "golang.org/x/sync/errgroup: Group.Go then Wait",
			NewRoundTrip: newErrgroupRoundTrip,
			NewFanOut:    newErrgroupFanOut,
		},
		{
			Name:         "ants",
			Doc:          "ants PoolWithFuncGeneric: Invoke plus a result channel (round trip) or a WaitGroup (fan-out)",
			NewRoundTrip: newAntsRoundTrip,
			NewFanOut:    newAntsFanOut,
		},
		{
			Name:         "pond",
			Doc:          "pond/v2 ResultPool: SubmitErr(...).Wait(); fan-out with a ResultTaskGroup",
			NewRoundTrip: newPondRoundTrip,
			NewFanOut:    newPondFanOut,
		},
		{
			Name:         "conc-pool",
			Doc:          "conc pool.NewWithResults().WithErrors(): Go then Wait",
			NewRoundTrip: newConcPoolRoundTrip,
			NewFanOut:    newConcPoolFanOut,
		},
		{
			Name:         "conc-stream",
			Doc:          "conc stream.Stream: tasks whose callbacks deliver the result in order",
			NewRoundTrip: newConcStreamRoundTrip,
			NewFanOut:    newConcStreamFanOut,
		},
	}
	return append(cs, vtaskContenders()...)
}
