// Package b instantiates g.Twice with int only, as a does.
package b

import "inst/g"

// B calls g.Twice[int].
func B(n int) int {
	x, y := g.Twice(n)
	return x + y
}
