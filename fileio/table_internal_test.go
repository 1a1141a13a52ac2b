package fileio

import "testing"

// TestFreeListStripes checks the striped free list: pop takes the last op
// released in the stripe it is asked for, else one from the next stripe
// that has any, and n counts the ops held in all stripes.
func TestFreeListStripes(t *testing.T) {
	var f freeList
	f.init(2, 4)
	ops := make([]*op, 5)
	for i := range ops {
		ops[i] = &op{idx: uint32(i)}
		f.push(ops[i])
	}
	if n := f.n.Load(); n != 5 {
		t.Fatalf("n = %d after 5 pushes, want 5", n)
	}
	want := []struct {
		stripe uint32
		idx    uint32
	}{
		{0, 4}, {1, 3}, {2, 2}, {3, 1}, // the last released of the stripe asked for
		{1, 0}, // stripe 1 is empty: the next stripe's
	}
	for _, w := range want {
		o := f.pop(w.stripe)
		if o == nil || o.idx != w.idx {
			t.Fatalf("pop(%d) = %v, want op %d", w.stripe, o, w.idx)
		}
	}
	if o := f.pop(0); o != nil {
		t.Fatalf("pop on an empty list = op %d, want nil", o.idx)
	}
	if n := f.n.Load(); n != 0 {
		t.Fatalf("n = %d when empty, want 0", n)
	}
}
