// Package g holds a marked generic function that g itself never
// instantiates.
package g

// Twice returns x twice.
//
//zerogc:noalloc
//go:noinline
func Twice[T any](x T) (T, T) { return x, x }

// Plain is not generic.
func Plain(x int) int { return x + 1 }
