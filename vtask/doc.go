// Package vtask provides asynchronous operations that complete without a
// heap allocation on either path: the Go counterpart of .NET's ValueTask<T>,
// IValueTaskSource and ManualResetValueTaskSourceCore<T>.
//
// # The model
//
// A Task[T] is a small struct returned by value. On the synchronous path it
// carries the result itself (FromResult, FromError, or Run on Inline), and
// nothing is allocated. On the asynchronous path it refers to a Source[T],
// a pooled object that represents the operation, together with the version
// token the source had when the task was handed out.
//
// A source built on Core[T] goes through these states in each version:
//
//	Pending ──complete──▶ Completed ──consume──▶ (version+1) Pending ──▶ pool
//	   │                      ▲
//	   └──register──▶ continuation runs once, on whichever side comes second
//
// Ownership moves with the state:
//   - The owner (the code that rented the source and started the operation)
//     holds it until it completes it: SetResult, SetError, SetCanceled, or
//     one of the TrySet methods when several completers race. After
//     completing, the owner must not touch it.
//   - The holder of the task owns the result: it waits (Await,
//     AwaitContext), registers one continuation (OnCompleted), polls
//     (IsCompleted, Status) and consumes the result once (Result, Await).
//     Consuming moves the source to the next version, clears the result
//     and the continuation, and returns the source to its pool.
//   - A holder that stops waiting (AwaitContext whose context ends) gives
//     the result up: the completion consumes it and recycles the source.
//   - When a goroutine is blocked in Await, the completion hands the result
//     to it: the CAS that publishes also moves the version on, so the woken
//     goroutine reads the result without an atomic operation of its own.
//
// Every call that takes a token compares it with the current version in the
// same atomic word that holds the state, so a stale handle can never see or
// disturb another operation. Versions are 48 bits wide and wrap from
// 1<<48-1 to 0; a token is valid only if it equals the current version as a
// whole uint64, at every entry point (Status, Result, OnCompleted, Await and
// the TrySet methods alike), so a token with any of the top 16 bits set is
// never valid.
//
// A task that carries its result (the zero Task, FromResult, FromError, Run
// or RunWith on Inline) has no source and no version: it may be read and
// awaited any number of times.
//
// # Misuse: what returns an error and what panics
//
// Misuse reachable from a task's holder returns an error and changes
// nothing:
//
//	ErrStale             the result was already consumed (a second Await
//	                     or Result after the first), the wait was given up
//	                     (any use after AwaitContext returned ctx.Err()),
//	                     or the source was reused
//	ErrNotCompleted      Result before the operation completed
//	ErrAwaitedTwice      Await while another goroutine awaits the same task
//	ErrAlreadyRegistered a second continuation in the same version, or
//	                     Await on a task that has a continuation
//	ErrNilContinuation   OnCompleted(nil, ...)
//
// Misuse that can only be a bug of the owner panics with a clear message:
// SetResult, SetError or SetCanceled on an operation that is already
// completed (double completion), and RunWith with a nil function. SetResult
// and SetError are for an operation with one completer, as in .NET: they
// write the result before they publish it, with no claim, which saves an
// atomic operation. Where completions race (I/O racing cancellation), every
// completer must use the TrySet methods, which claim the operation first
// and report the loser with false.
//
// Double completion is detected while the completed version is current,
// not after: once the holder has consumed the result (for a goroutine
// blocked in Await, as soon as the completion has handed it over) the
// source is at its next version, and a second SetResult completes that one.
// After completing, the owner must not touch the source.
//
// # Waiting without allocating
//
// Await and AwaitContext park the goroutine until the operation completes,
// and allocate nothing to do so. They park it directly, with the runtime's
// gopark and goready (the primitives every channel operation ends in,
// which the runtime keeps linkable on purpose, go.dev/issue/67401): the
// Core's state word already says who wakes whom, so the channel's lock and
// wait queue are pure cost. This makes a blocking
// round trip about 15 % faster than through the channel, and faster than a
// hand-written worker with a reused channel (see the README). Under the
// race detector, which cannot see the order goready gives, and on Go
// releases after 1.27 until the build constraint of park.go is widened,
// Await and AwaitContext wait on a channel that the source owns and reuses
// instead (a closed channel could not be reused): the completer wakes the
// waiter with one send, and AwaitContext selects on it and ctx.Done(). They
// do too if the check at init fails: the package parks a probe goroutine
// with the wait reason it gives the runtime and reads a goroutine dump (about 0.1-0.3 ms, once per process);
// unless the dump shows [sync.Cond.Wait], the runtime numbers its wait
// reasons differently and Await does not park directly. A goroutine parked
// in Await shows as [sync.Cond.Wait] in a goroutine dump (a channel waiter
// as [chan receive]).
//
// A parking AwaitContext learns that its context ended from one
// context.AfterFunc per context (per Done channel), shared by every wait on
// that context and kept in a table of 64 entries. A context's first 16
// waits select on the Core's channel instead, which allocates nothing, so a
// context made for one request and awaited a few times never pays for a
// watcher; a Done channel waited on more often gets one, made once, and its
// later waits park and allocate nothing (a bare AfterFunc per wait would
// allocate each time). When the context ends, the watcher
// gives each of its waits up and wakes it, unless the operation completed
// first; the completion then consumes the result and recycles the source.
// The table keeps up to 64 Done channels (and so their contexts' cancel
// structures) reachable until other contexts replace them.
//
// # Executors
//
// Continuations run on the goroutine that completes the operation, or on the
// Executor chosen with Core.SetExecutor. When a continuation is registered
// on an operation that has already completed, it runs on that executor if
// there is one, so a chain of continuations does not recurse without bound.
// Run and RunWith run functions on an Executor; WorkerPool is a bounded one.
// A function of Run or RunWith that panics completes its task with a
// *PanicError; one that calls runtime.Goexit (t.FailNow in a test) with
// ErrGoexit, and a WorkerPool replaces the worker it ended. WorkerPool's
// Execute may race Close: a job runs on a worker if it was queued before
// Close began, and on the caller otherwise; none is dropped.
//
// # Pools
//
// Completions (Rent), the operations of RunWith and the combining
// operations of WhenAll and WhenAny are kept in pool.Pools with per-P caches
// of 16 objects (pool.PerPCache), one pool per type, which the garbage
// collector does not empty; renting and returning through the cache of the
// goroutine's own P takes no atomic read-modify-write, and a fan-out, which
// rents on one P and returns on another, moves its sources between the Ps
// eight at a time. See package pool for the measurements behind that
// choice.
//
// WhenAll does not register a continuation on each task: it consumes the
// tasks in order as it finds them completed and waits on one at a time,
// first on the last task, then on the first it finds pending; so tasks
// that complete about in the order they were started cost one atomic
// operation each to collect, and the combined task's waiter is woken once.
// The Completions it collects go back to their pool 16 at a time
// (pool.Pool.PutBatch). A caller that starts many operations at once rents
// their Completions the same way, with RentBatch.
package vtask
