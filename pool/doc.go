// Package pool provides Pool, a bounded, lock-free object pool in the
// design of Roslyn's ObjectPool: one fast slot plus an array of slots, each
// claimed by a single compare-and-swap.
//
// Unlike sync.Pool, a Pool
//   - is bounded: it holds at most Cap objects (default 2 × GOMAXPROCS) and
//     drops what does not fit, so it never grows without limit;
//   - is not emptied by the garbage collector, so a program that recycles
//     its objects keeps allocating nothing even while collections run;
//   - drops nothing on purpose under the race detector (sync.Pool drops a
//     quarter of its returns there, which makes allocation counts vary);
//   - has a debug mode (the Debug option, or the zerogcdebug build tag) that
//     panics on a double return and reports objects that were never returned.
//
// The pool never hands one object to two holders: an object leaves a shared
// slot only through a successful CompareAndSwap(x, nil), and a private slot
// (see PerP) only through the one goroutine pinned to its P.
//
// # Per-P private slots
//
// With the PerP option a pool also keeps one object per P in a private slot,
// as sync.Pool does: Get and Put pin the goroutine to its P (the runtime's
// procPin, which sync.Pool uses too and which the runtime keeps linkable,
// go.dev/issue/67401) and use that P's slot with plain loads and stores, no
// atomic read-modify-write. Only when it is empty (Get) or full (Put) do they
// fall back to the shared slots. Under the race detector, which cannot see
// that pinning orders those accesses, the private slots are off.
//
// # Per-P caches and batches
//
// PerPCache(n) makes each P's private slot a stack of up to n objects (at
// most 16), and keeps the part of the pool beyond its slots as batches of
// n/2 objects, one per cell of a bounded lock-free queue. A Get whose cache
// is empty takes a whole batch, and a Put whose cache is full moves the
// newer half out as one batch: one CompareAndSwap and one atomic store per
// n/2 objects. This is for objects that are rented on one P and returned on
// another many at a time, as in a fan-out, which rents a thousand operations
// on the submitter's P and returns them on a worker's: with one private
// slot, each of those Gets and Puts went the shared way (a CAS on a shared
// slot or on the queue, and a random scan of the slots before it), which
// took over a third of the fan-out's CPU time.
//
// GetBatch and PutBatch rent and return many objects with one pin of the P,
// copying to and from its cache in bulk and moving whole batches between the
// caller's slice and the queue.
//
// # Which pool vtask uses, and why
//
// vtask keeps its pooled operations in a Pool with per-P caches of 16
// (PerPCache(16), of 4096 objects, see vtask.PoolSize), not in a
// sync.Pool. The comparison with sync.Pool below was measured, with PerP,
// with
//
//	go test -run='^$' -bench='GetPut|RefillAfterGC' -benchmem -count=6 ./pool
//
// on the project's 2-core machine (Go 1.26, medians of 6 runs, 2026-11-27):
//
//	                                    Pool      Pool, PerP   sync.Pool
//	Get+Put, 1 goroutine                29.1 ns   12.2 ns      17.1 ns
//	Get+Put, 2 goroutines contending    81.3 ns    5.4 ns       8.6 ns
//	burst of 64 after two GCs           0 allocs  (as Pool)    74 allocs (6600 B)
//
// Without PerP, sync.Pool is faster: its per-P caches need no atomic
// read-modify-write, and under contention the shared slots bounce between
// cores. With PerP this pool is as fast as sync.Pool or faster (it has no
// victim cache or interface conversion to manage), and it keeps what
// sync.Pool does not:
//   - its objects survive garbage collections: sync.Pool frees idle objects
//     at every cycle (after one cycle in its victim cache), so a bursty
//     server allocates its completions again after every quiet spell; the
//     whole point of vtask is an allocation count that stays 0;
//   - its bound and overflow queue let a fan-out of 1,000 operations recycle
//     every source (vtask.WhenAll of 1,000 allocates nothing), where
//     sync.Pool's chained per-P queues grow and are dropped by GC;
//   - it drops nothing on purpose under the race detector, where sync.Pool
//     drops a quarter of its returns; and its debug mode lets vtask's tests
//     prove that every source returns exactly once.
//
// In vtask's round trip (BenchmarkRoundTrip/vtask-await in package vtask)
// the PerP slots took the pool's two atomic operations off the path; see
// the project's README for that benchmark.
package pool
