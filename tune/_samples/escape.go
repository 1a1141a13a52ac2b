package main

import (
	"fmt"
	"strconv"
	"testing"
)

type Point struct {
	X, Y int
}

// Run labels n points. fmt.Sprintf takes its arguments as interfaces, so
// the ints escape to the heap, and the label is a new string every time:
// see the Escapes tab and the Allocations tab.
func Run(input string) string {
	n, _ := strconv.Atoi(input)
	last := ""
	for i := 0; i < n; i++ {
		p := &Point{X: i, Y: 2 * i}
		last = label(p)
	}
	return last
}

func label(p *Point) string {
	return fmt.Sprintf("(%d, %d)", p.X, p.Y)
}

// BenchmarkRun is what the Bench button runs: 1000 labels per operation.
// Keep a run of it as the baseline, open the noalloc sample and bench again
// to compare the two with benchstat's statistics.
func BenchmarkRun(b *testing.B) {
	for b.Loop() {
		Run("1000")
	}
}
