// Package tune is the experiment workbench behind "zerogc tune": it builds a
// Go snippet in a temporary module, runs it as a child process within a
// time and memory limit, and reports, for that one run, the compiler's
// assembly (-S), its escape-analysis and inlining decisions (-m=2), the
// layout of the snippet's structs, the heap allocations of the call and
// their sites, and every garbage collection, sampled live from
// runtime/metrics inside the child; besides, the bounds checks the compiler
// kept, its inlining verdicts with their costs, and the noalloc verdict
// (package noalloc) on every function of the snippet.
//
// A request with Bench runs the snippet's benchmarks instead (go test -bench
// -benchmem in the sandbox) and, given a baseline, compares the two runs
// with benchstat's statistics (CompareBench). Runner.SSA shows one
// function's SSA after each compiler pass (POST /api/ssa), a request's Go
// field builds with another Go release fetched through the module proxy,
// and Alloc.Lines sums the heap profile per snippet line.
//
// A snippet's first exported function that takes one string is called
// with the input (the contract of the .NET Tune this re-does in Go):
//
//	package main
//
//	func Run(input string) int { return len(make([]int, 3000)) }
//
// Runner does the work, each build and run in a sandbox (new user, PID and
// network namespaces, Landlock, a memory limit for the whole process tree
// and a process-count limit; Protections says which are on). Server serves
// it as a web page with a CodeMirror editor and a JSON API (POST /api/run,
// POST /api/ssa, POST /api/stop, GET /api/events, GET /api/info) on the loopback
// interface, behind a random token sent in a header, never in a cookie.
package tune
