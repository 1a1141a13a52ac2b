// Package sub holds callees in another package for the corpus.
package sub

// Sink keeps values alive so that the compiler cannot drop them.
var Sink any

// N is a value the compiler cannot see at compile time.
var N = 3

// Alloc allocates a new int and publishes it.
func Alloc() {
	p := new(int)
	*p = N
	Sink = p
}

// Add does arithmetic only.
//
//go:noinline
func Add(a, b int) int { return a*N + b }

// Deep calls Alloc through another level.
//
//go:noinline
func Deep() { level() }

//go:noinline
func level() { Alloc() }
