package bench

import (
	"fmt"

	"github.com/panjf2000/ants/v2"
	"github.com/zerogc/zerogc/vtask"
)

// AntsExecutor is a vtask.Executor that runs functions on an ants goroutine
// pool, to show that vtask composes with the pool a program already has:
// vtask.RunWith(exec, fn, state) on an AntsExecutor runs fn on an ants
// worker and completes a pooled vtask Completion there.
//
// Execute passes the function and its argument to ants by value
// (PoolWithFuncGeneric), so it allocates nothing in steady state. When ants
// refuses the job (the pool is released, or it is non-blocking and full),
// Execute runs fn on the calling goroutine, as vtask.WorkerPool does, so no
// function is ever dropped.
//
// With ants's default blocking mode, Execute waits for a free worker while
// all are busy: a job that calls Execute on its own pool can then deadlock
// once every worker does so. Pass ants.WithNonblocking(true) to make such
// calls run on the caller instead.
type AntsExecutor struct {
	pool *ants.PoolWithFuncGeneric[antsTask]
}

var _ vtask.Executor = (*AntsExecutor)(nil)

// antsTask is one function handed to an ants worker.
type antsTask struct {
	fn  func(any)
	arg any
}

func runAntsTask(t antsTask) { t.fn(t.arg) }

// NewAntsExecutor starts an ants pool of size workers with the given ants
// options. It fails when ants rejects the size or the options.
func NewAntsExecutor(size int, opts ...ants.Option) (*AntsExecutor, error) {
	p, err := ants.NewPoolWithFuncGeneric(size, runAntsTask, opts...)
	if err != nil {
		return nil, fmt.Errorf("bench: starting the ants pool for AntsExecutor: %w", err)
	}
	return &AntsExecutor{pool: p}, nil
}

// Execute runs fn(arg) on an ants worker, or on the caller when ants
// refuses the job.
func (e *AntsExecutor) Execute(fn func(any), arg any) {
	if err := e.pool.Invoke(antsTask{fn, arg}); err != nil {
		fn(arg)
	}
}

// Release stops the ants pool. Functions executed afterwards run on the
// caller.
func (e *AntsExecutor) Release() { e.pool.Release() }
