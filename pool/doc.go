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
// BENCHMARK-NOTE
package pool
