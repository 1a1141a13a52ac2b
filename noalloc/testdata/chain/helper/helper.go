// Package helper is called by the marked function of package hot.
package helper

import "fmt"

// Step does arithmetic only.
//
//go:noinline
func Step(x int) int {
	x = x*3 + 1 // the scratch test adds an allocation after this line
	return x
}

// Describe allocates, but nothing marked calls it.
func Describe(x int) string { return fmt.Sprint(x) }
