// Package c imports g and instantiates nothing.
package c

import "inst/g"

// C calls a function that is not generic.
func C(n int) int { return g.Plain(n) }
