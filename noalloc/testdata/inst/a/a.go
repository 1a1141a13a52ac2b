// Package a instantiates g.Twice with int and string.
package a

import "inst/g"

// A calls both instantiations.
func A(n int, s string) (int, string) {
	x, _ := g.Twice(n)
	y, _ := g.Twice(s)
	return x, y
}
