package server

import (
	"runtime"

	"github.com/valyala/fasthttp"
	"github.com/zerogc/zerogc/vtask"
)

// render performs the request's one vtask operation: it rents a pooled
// completion, completes it with the rendered body's length, and awaits its
// task, which returns the completion to its pool. The pattern is the one an
// asynchronous I/O layer uses (rent, hand out the task, complete from the
// I/O callback, await); here the work finishes at once, so Await does not
// block. Nothing is allocated once the pool is warm.
func render(ctx *fasthttp.RequestCtx) error {
	c := vtask.Rent[int]()
	t := c.Task()
	if n, err := renderValues(ctx); err != nil {
		c.SetError(err)
	} else {
		c.SetResult(n)
	}
	_, err := t.Await()
	return err
}

// warmCompletions fills the pool that render rents from before the server
// takes requests: a few completions held at once and then consumed go back
// to the pool's shared slots. The pool also keeps one completion per P in a
// private slot (pool.PerP); without this warm-up, the first request that
// runs on a P whose slot is empty, while the others hold the completions,
// would allocate one.
func warmCompletions() {
	held := make([]*vtask.Completion[int], 4*runtime.GOMAXPROCS(0))
	tasks := make([]vtask.Task[int], len(held))
	for i := range held {
		held[i] = vtask.Rent[int]()
		tasks[i] = held[i].Task()
	}
	for i, c := range held {
		c.SetResult(i)
		tasks[i].Await() //nolint:errcheck // completed just above
	}
}
