package main

import (
	"strconv"
	"time"
)

// sink keeps the last array reachable, so each one must live on the heap.
var sink []int

// Run allocates an array of 3000 ints (24 KB) on each of n iterations and
// sleeps now and then, so the GC chart shows the heap saw-tooth and one
// line per collection.
func Run(input string) int {
	n, err := strconv.Atoi(input)
	if err != nil {
		n = 5000
	}
	total := 0
	for i := 0; i < n; i++ {
		arr := make([]int, 3000)
		arr[0] = i
		sink = arr
		total += len(arr)
		if i%100 == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return total
}
