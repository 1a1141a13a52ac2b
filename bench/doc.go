// Package bench holds zerogc's side-by-side benchmarks: the same workloads run
// by vtask and by the Go libraries a user would pick instead of it.
//
// The benchmarks live in their own module so that the zerogc library never
// depends on a peer. Every contender is a [Contender]: a name plus
// constructors for the two shapes of work the benchmarks measure.
//
//   - Round trip: submit one operation to another goroutine, complete it
//     there, get its result back.
//   - Fan-out: put a batch of operations in flight at once, then wait for all
//     of them.
//
// The operation itself is [Work], a trivial function, so the figures measure
// what each library costs around it. The benchmarks (bench_test.go) run the
// round trip plainly and again while the process holds a 256 MiB live,
// pointer-rich heap ([PressureHeap]), and report GC cycles per million
// operations and p50/p99 latency per operation ([Hist]).
//
// cmd/benchtable runs the benchmarks several times and prints the markdown
// table that the README carries; see README.md.
package bench
