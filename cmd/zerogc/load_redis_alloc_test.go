//go:build !race

package main

import "testing"

// checkZeroAllocs checks that a zero-flavor run allocated ~0 bytes per
// request on the server (a few kB in all: the runtime's counters move a
// span at a time) and ran no collection. Not under -race: the race
// runtime makes sync.Pool drop objects on purpose, which allocates.
func checkZeroAllocs(t *testing.T, r map[string]any) {
	t.Helper()
	if b := r["bytes_per_request"].(float64); b > 16 || r["gc_cycles"] != 0.0 {
		t.Fatalf("zero flavor on the Redis route: %.1f B/request, %v GC cycles; want ~0 and none", b, r["gc_cycles"])
	}
}
