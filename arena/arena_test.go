package arena

import (
	"errors"
	"strings"
	"testing"
)

type node struct {
	val  int
	next *node
	name string
}

func TestNewZeroedAndDistinct(t *testing.T) {
	a := MustNew[node](Options{FirstChunk: 4, MaxChunk: 16})
	seen := map[*node]bool{}
	for i := range 100 {
		p := a.New()
		if p.val != 0 || p.next != nil || p.name != "" {
			t.Fatalf("allocation %d not zeroed: %+v", i, *p)
		}
		if seen[p] {
			t.Fatalf("allocation %d returned a pointer handed out before", i)
		}
		seen[p] = true
		p.val = i
	}
	if a.Len() != 100 {
		t.Fatalf("Len = %d, want 100", a.Len())
	}
	// Growth: 4, 8, 16, 16, 16, 16, 16, 16 = 108 >= 100 in 8 chunks.
	if a.Chunks() != 8 || a.Cap() != 108 {
		t.Fatalf("Chunks/Cap = %d/%d, want 8/108 (doubling from 4, capped at 16)", a.Chunks(), a.Cap())
	}
}

func TestValuesSurviveGrowth(t *testing.T) {
	a := MustNew[node](Options{FirstChunk: 2})
	var head *node
	for i := range 1000 {
		head = a.Alloc(node{val: i, next: head})
	}
	for i := 999; i >= 0; i-- {
		if head.val != i {
			t.Fatalf("list corrupted at %d: got %d", i, head.val)
		}
		head = head.next
	}
}

func TestResetReusesAndZeroes(t *testing.T) {
	a := MustNew[node](Options{FirstChunk: 8, MaxChunk: 8})
	first := make([]*node, 20)
	for i := range first {
		first[i] = a.New()
		first[i].val = i + 1
		first[i].name = "x"
	}
	chunks := a.Chunks()
	a.Reset()
	if a.Len() != 0 || a.Generation() != 1 {
		t.Fatalf("after Reset Len=%d Generation=%d, want 0 and 1", a.Len(), a.Generation())
	}
	for i := range first {
		p := a.New()
		if p != first[i] {
			t.Fatalf("allocation %d after Reset did not reuse the same element", i)
		}
		if p.val != 0 || p.name != "" {
			t.Fatalf("reused element %d not zeroed: %+v", i, *p)
		}
	}
	if a.Chunks() != chunks {
		t.Fatalf("Reset then same allocations grew chunks from %d to %d", chunks, a.Chunks())
	}
}

func TestMakeSlice(t *testing.T) {
	a := MustNew[int](Options{FirstChunk: 16, MaxChunk: 32})
	s1 := a.MakeSlice(10)
	s2 := a.MakeSlice(10) // does not fit in the 6 left: moves to the next chunk
	if len(s1) != 10 || cap(s1) != 10 || len(s2) != 10 || cap(s2) != 10 {
		t.Fatalf("len/cap = %d/%d and %d/%d, want 10/10", len(s1), cap(s1), len(s2), cap(s2))
	}
	for i := range s1 {
		s1[i] = 1
	}
	grown := append(s1, 7) // must reallocate, not write into the arena
	if &grown[0] == &s1[0] {
		t.Fatal("append to a full arena slice did not reallocate")
	}
	for _, v := range s2 {
		if v != 0 {
			t.Fatal("append to an arena slice overwrote the next allocation")
		}
	}
	big := a.MakeSlice(100) // larger than MaxChunk: dedicated chunk
	if len(big) != 100 {
		t.Fatalf("large slice len = %d", len(big))
	}
	if got := a.MakeSlice(0); got == nil || len(got) != 0 {
		t.Fatal("MakeSlice(0) should return an empty non-nil slice")
	}
	if a.Len() != 120 {
		t.Fatalf("Len = %d, want 120", a.Len())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MakeSlice(-1) did not panic")
		}
	}()
	a.MakeSlice(-1)
}

func TestBadOptions(t *testing.T) {
	if _, err := New[int](Options{FirstChunk: -1}); err == nil {
		t.Fatal("negative FirstChunk accepted")
	}
	if _, err := New[int](Options{FirstChunk: 64, MaxChunk: 8}); err == nil || !strings.Contains(err.Error(), "MaxChunk") {
		t.Fatalf("MaxChunk < FirstChunk: err = %v", err)
	}
}

func TestCheckDebugCatchesStale(t *testing.T) {
	a := MustNew[node](Options{FirstChunk: 4, Debug: true})
	p := a.New()
	if err := a.Check(p); err != nil {
		t.Fatalf("live pointer reported: %v", err)
	}
	if err := a.Check(&node{}); !errors.Is(err, ErrStale) {
		t.Fatalf("heap pointer: err = %v, want ErrStale", err)
	}
	p.val = 42
	a.Reset()
	if p.val != 0 {
		t.Fatal("debug Reset did not clear the retired element")
	}
	q := a.New()
	if q == p {
		t.Fatal("debug Reset reused an element: a stale pointer aliases a new value")
	}
	if err := a.Check(p); !errors.Is(err, ErrStale) {
		t.Fatalf("stale pointer after debug Reset: err = %v, want ErrStale", err)
	}
	if err := a.Check(q); err != nil {
		t.Fatalf("new pointer reported: %v", err)
	}
	if err := a.Check(nil); !errors.Is(err, ErrStale) {
		t.Fatal("nil pointer not reported")
	}
}

func TestCheckWithoutDebugSeesOnlyUnusedRegion(t *testing.T) {
	a := MustNew[int](Options{FirstChunk: 8})
	p1, p2 := a.New(), a.New()
	a.Reset()
	_ = a.New()
	// p1's element was handed out again: without Debug it looks live.
	if err := a.Check(p1); err != nil {
		t.Fatalf("reused element: err = %v, want nil (documented limitation)", err)
	}
	if err := a.Check(p2); !errors.Is(err, ErrStale) {
		t.Fatalf("element not handed out since Reset: err = %v, want ErrStale", err)
	}
}

func TestRef(t *testing.T) {
	a := MustNew[node](Options{})
	r := a.NewRef()
	r.Get().val = 5
	if !r.Valid() || r.Get().val != 5 {
		t.Fatal("fresh Ref not usable")
	}
	a.Reset()
	if r.Valid() {
		t.Fatal("Ref valid after Reset")
	}
	func() {
		defer func() {
			msg, _ := recover().(string)
			if !strings.Contains(msg, "after Reset") {
				t.Fatalf("Get after Reset: panic %q, want a message about Reset", msg)
			}
		}()
		r.Get()
	}()
	var zero Ref[node]
	if zero.Valid() {
		t.Fatal("zero Ref valid")
	}
}

func TestRelease(t *testing.T) {
	a := MustNew[int](Options{FirstChunk: 4})
	for range 50 {
		a.New()
	}
	a.Release()
	if a.Chunks() != 0 || a.Cap() != 0 || a.Len() != 0 {
		t.Fatalf("after Release: chunks=%d cap=%d len=%d", a.Chunks(), a.Cap(), a.Len())
	}
	*a.New() = 3 // usable again
	if a.Chunks() != 1 {
		t.Fatalf("after Release growth did not restart: %d chunks", a.Chunks())
	}
}

func TestZeroSizeType(t *testing.T) {
	a := MustNew[struct{}](Options{})
	for range 100 {
		a.New()
	}
	if a.Len() != 100 {
		t.Fatalf("Len = %d", a.Len())
	}
}
