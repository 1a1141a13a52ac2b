//go:build !race

package arena

import "testing"

func TestSteadyStateAllocatesNothing(t *testing.T) {
	a := MustNew[node](Options{FirstChunk: 64})
	build := func() {
		var head *node
		for i := range 500 {
			head = a.Alloc(node{val: i, next: head})
		}
		_ = a.MakeSlice(100)
		a.Reset()
	}
	build() // grow the chunks once
	if n := testing.AllocsPerRun(100, build); n != 0 {
		t.Fatalf("allocations per 500-node build after warm-up = %v, want 0", n)
	}
}
