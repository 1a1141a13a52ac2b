// Package d instantiates g.Twice with float64, which no other package
// does.
package d

import "inst/g"

// D calls g.Twice[float64].
func D(f float64) float64 {
	x, y := g.Twice(f)
	return x * y
}
