// Package resp is a Redis client on package pipeline: a RESP2 codec
// written here, and a Client whose commands return vtask.Task[Value]s and
// decode values into the caller's buffers, so that a steady stream of
// GetInto and Set calls allocates nothing.
//
//	c, err := resp.Dial(ctx, "127.0.0.1:6379", resp.Options{})
//	...
//	c.Set(ctx, "k", value, resp.SetOptions{EX: time.Minute}).AwaitContext(ctx)
//	v, err := c.GetInto(ctx, "k", buf).AwaitContext(ctx) // v.Str is buf[:n]
//
// Commands: Get and GetInto, Set (EX, PX, NX, XX, KEEPTTL), Del, Incr,
// MGet and MGetInto, Ping, and Do and DoInto for any other command. A
// server's error reply is the call's error, an *Error (errors.As); a
// reply the codec refuses (malformed, or beyond Limits: 512 MiB bulk
// strings, 16 Mi elements, 32 levels by default) fails the connection with
// a *ProtocolError inside a *pipeline.ConnError, and the pool redials.
//
// Calls of all goroutines are pipelined on Options.Conns connections
// (default 1): concurrent requests share one write, the replies of one
// read complete together, a WhenAll over them wakes its waiter once. A
// call given up by AwaitContext returns ctx.Err() at once; its reply is
// read later and discarded without touching the caller's buffer, and its
// source goes back to its pool: no goroutine per abandoned call. See
// package pipeline for the window, the batching and the pick policy.
//
// Value is the decoded reply. Its bytes live in the caller's buffer when
// there is one large enough (GetInto, MGetInto, DoInto), else in memory
// allocated for them (Get, MGet, Do). Common status replies (OK, PONG,
// QUEUED) refer to shared read-only bytes.
//
// Not implemented: RESP3, pub/sub, MULTI/EXEC as a unit (the commands can
// be sent with Do, but another goroutine's calls may interleave on the
// connection), blocking commands on a shared connection (a BLPOP holds up
// every call behind it on its connection), cluster. Subpackage redistest
// starts a real redis-server for tests.
package resp
