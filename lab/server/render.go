package server

import (
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
