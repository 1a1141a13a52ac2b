// Package pool provides Pool, a bounded, lock-free object pool in the
// design of Roslyn's ObjectPool: one fast slot plus an array of slots, each
// claimed by a single compare-and-swap.
//
// Unlike sync.Pool, a Pool
//   - is bounded: it holds at most Cap objects (default 2 × GOMAXPROCS) and
//     drops what does not fit, so it never grows without limit;
//   - is not emptied by the garbage collector, so a program that recycles
//     its objects keeps allocating nothing even while collections run;
//   - behaves the same under the race detector (sync.Pool drops a quarter of
//     its returns there on purpose, which makes allocation counts vary);
//   - has a debug mode (the Debug option, or the zerogcdebug build tag) that
//     panics on a double return and reports objects that were never returned.
//
// The pool never hands one object to two holders: an object leaves a slot
// only through a successful CompareAndSwap(x, nil).
//
// # Which pool vtask uses, and why
//
// vtask keeps its pooled operations in a Pool (of 4096, see vtask.PoolSize),
// not in a sync.Pool. Measured with
//
//	go test -run='^$' -bench='GetPut|RefillAfterGC' -benchmem -count=6 ./pool
//
// on the project's 2-core machine (Go 1.26, medians of 6 runs, 2026-11-26):
//
//	                                    pool.Pool       sync.Pool
//	Get+Put, 1 goroutine                28.5 ns         16.6 ns
//	Get+Put, 2 goroutines contending    88.7 ns          8.1 ns
//	burst of 64 after two GCs           0 allocs        74 allocs (6600 B)
//
// sync.Pool is faster: its per-P caches need no atomic read-modify-write,
// and under contention this pool's shared slots bounce between cores. We
// still choose this pool for vtask because:
//   - it keeps its objects through garbage collections: sync.Pool frees idle
//     objects at every cycle (after one cycle in its victim cache), so a
//     bursty server allocates its completions again after every quiet
//     spell; the whole point of vtask is an allocation count that stays 0;
//   - its bound and overflow queue let a fan-out of 1,000 operations recycle
//     every source (vtask.WhenAll of 1,000 allocates nothing), where
//     sync.Pool's chained per-P queues grow and are dropped by GC;
//   - it behaves the same under the race detector, where sync.Pool drops a
//     quarter of its returns on purpose; and its debug mode lets vtask's
//     tests prove that every source returns exactly once;
//   - the difference is small where vtask uses it: a round trip through
//     vtask costs about 600 ns (two goroutine switches), of which the pool's
//     Get and Put are 2 %; in that round trip the same goroutine rents and
//     consumes, so the contended case does not arise.
//
// Where many goroutines on many cores rent and return at a high rate, the
// contended figure matters; that is the case to measure before changing the
// choice.
package pool
