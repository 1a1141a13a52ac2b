// Package noalloc proves at build time that functions marked
// //zerogc:noalloc cannot allocate on the heap, and says why when they can.
//
// Check compiles the packages with the go command (-gcflags=-m=2 -S, from
// the build cache when nothing changed), reads every call in the compiled
// code of each marked function and, transitively, of every function it
// calls statically (inlined code where it lands, other packages and the
// standard library included). A call of one of the runtime's allocating
// functions is a finding, annotated with the compiler's escape-analysis
// decision and its "flow:" explanation; a call through an interface or a
// function value is a finding too, since its target cannot be verified.
// Generic functions are checked per compiled instantiation.
//
// A //zerogc:allow <reason> comment at the end of a line, or alone on the
// line above it, exempts that line: its allocations and the calls it makes.
//
// Before its first verdict with a toolchain, Check checks a probe package
// whose every function allocates (new(T), &T{...}, a variable moved to the
// heap, make, append, a boxed value, a closure) with that toolchain, and
// returns an error rather than a Report if it finds any of them clean: a
// Go release that allocates through a runtime function the checker does
// not know then stops the check instead of passing allocating code as
// proven.
//
// The command "zerogc check" prints a Report; tools (such as tune) call
// Check and read the Report themselves.
package noalloc
