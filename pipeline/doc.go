// Package pipeline multiplexes the request/response calls of many
// goroutines over few connections, each call a vtask.Task, with no
// allocation per call in steady state and no goroutine per call, ever.
//
// It is generic over a Codec that finds and decodes replies; requests are
// encoded by the caller, in concrete code, straight into the connection's
// write buffer. Package resp builds a Redis client on it.
//
// # A call
//
//	req, err := conn.Begin(ctx)            // a place in the window
//	if err != nil { ... }                  // ctx ended, or the connection failed
//	req.Buf = appendMyRequest(req.Buf, req.Tag, ...)
//	task := conn.Commit(req, dst)          // dst holds the caller's buffers
//	v, err := task.AwaitContext(ctx)       // or Await, or vtask.WhenAll
//
// Each call's completion is a pooled source built on vtask.Core: Commit
// rents it, consuming the task's result returns it. With the caller's
// buffers in dst (Decode writes into them), a call allocates nothing.
//
// # Batching (auto-pipelining)
//
// Submitters append their requests to one buffer under a mutex held from
// Begin to Commit (a few appends). The first submitter that finds the
// buffer empty wakes the writer goroutine, which swaps the buffer for its
// spare one and sends everything in one write; meanwhile the next
// submitters fill the spare. So concurrent calls share write system calls
// with no timer and no flush delay: a lone call is written at once, and
// under load a batch is whatever arrived during the previous write.
//
// # Replies
//
// The reader goroutine reads as much as the socket has, then completes
// every complete reply in the buffer before reading again. FIFO protocols
// (Options.Tagged false: Redis, memcached) answer the calls in the order
// of a ring; tagged protocols return the Request.Tag, the call's place in
// the window, and are answered through a table. A reply split across
// reads waits in the buffer (Scan reports it incomplete); a reply larger
// than Options.MaxReadBuffer fails the connection.
//
// Completions run inline on the reader: a WhenAll over calls whose replies
// arrive in one read is completed by the last of them, and its waiter is
// woken once, not once per call. When every call in flight has its reply,
// the reader yields its processor before it reads again: the goroutine it
// has just woken runs at once, instead of after a read that can only find
// nothing (a sequential caller's next call starts that much sooner). A continuation registered with
// OnCompleted runs on the reader too, so it must not block; it may submit
// calls (their places are freed before completion runs), but should give
// Begin a context, as the window may be full.
//
// # The window
//
// Each connection has Options.Window places (default 1024), a buffered
// channel of free indexes: Begin takes one, the reader gives it back when
// the reply arrives. A submitter waiting for room honours its context's
// deadline and cancellation, and a failure of the connection.
//
// # Cancellation
//
// A call whose context ends while its holder waits in AwaitContext returns
// ctx.Err() at once; nobody is started to wait for it. Its request stays
// on the wire: when its reply arrives, the reader reads it, discards it
// without touching dst (the caller owns its buffers again as soon as
// AwaitContext returns), frees its window place and returns its source to
// the pool. The reader decides under a claim on the completion
// (vtask.Core.TryClaim), which AwaitContext respects, so a reply being
// decoded into dst is never abandoned halfway: the waiter takes it instead.
//
// # Failure
//
// When a read, a write or the codec fails, the connection closes, and every
// call in flight, every call waiting for room and every later Begin fails
// with one *ConnError wrapping the cause (errors.Is and errors.As see
// through it). A failed connection is not reused: Pool replaces it.
//
// # Pool and pick policy
//
// A Pool holds N connections and picks by round robin, skipping failed
// ones; a failed connection is redialed in the background by one goroutine
// per connection (not per call), with a backoff from 10 ms to 1 s. While
// all are down, Pick fails at once with an error wrapping the last
// failure. One connection usually suffices: pipelining, not parallel
// connections, is what carries many calls; more connections help when one
// reader goroutine becomes the bottleneck.
//
// Outstanding (on a Conn or a Pool) counts the sources rented and not yet
// returned, so a test can prove that abandoned calls are recycled.
package pipeline
