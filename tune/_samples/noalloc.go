package main

import (
	"strconv"
	"testing"
)

type Point struct {
	X, Y int
}

// Run does the work of the escape sample without a heap allocation per
// point: the Point is a value, the label is appended to a buffer on the
// stack, and only the returned string is allocated, once.
func Run(input string) string {
	n, _ := strconv.Atoi(input)
	var buf [64]byte
	var out []byte
	for i := 0; i < n; i++ {
		p := Point{X: i, Y: 2 * i}
		out = appendLabel(buf[:0], p)
	}
	return string(out)
}

func appendLabel(b []byte, p Point) []byte {
	b = append(b, '(')
	b = strconv.AppendInt(b, int64(p.X), 10)
	b = append(b, ", "...)
	b = strconv.AppendInt(b, int64(p.Y), 10)
	return append(b, ')')
}

// BenchmarkRun is what the Bench button runs: 1000 labels per operation.
// Keep a run of it as the baseline, open the escape sample and bench again
// to compare the two with benchstat's statistics.
func BenchmarkRun(b *testing.B) {
	for b.Loop() {
		Run("1000")
	}
}
