package pool_test

import (
	"runtime"
	"testing"

	"github.com/zerogc/zerogc/pool"
)

func TestPerPCapCountsThePrivateSlots(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(4), pool.PerP())
	want := 4
	if pool.PerPActive {
		want += runtime.GOMAXPROCS(0)
	}
	if got := p.Cap(); got != want {
		t.Fatalf("Cap() = %d, want %d", got, want)
	}
	// Debug mode turns the private slots off, so that every object is
	// tracked through the shared path.
	if got := pool.New(func() *obj { return new(obj) }, pool.Size(4), pool.PerP(), pool.Debug()).Cap(); got != 4 {
		t.Fatalf("Cap() of a debug PerP pool = %d, want 4", got)
	}
}

func TestPerPKeepsObjectsThroughGC(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(2), pool.PerP())
	objs := []*obj{p.Get(), p.Get(), p.Get()}
	for _, o := range objs {
		p.Put(o)
	}
	runtime.GC()
	runtime.GC()
	// Three objects fit (one private slot, two shared slots) as long as
	// the goroutine stays on one P; whichever P it is on, the Gets must
	// find at least the two shared ones without calling New.
	before := p.Stats().New
	p.Get()
	p.Get()
	if got := p.Stats().New - before; got != 0 {
		t.Fatalf("after two GCs, Get called New %d times; the pool must survive collection", got)
	}
}

// TestStressPerPNeverTwoHolders has goroutines on every P rent and return
// objects of a PerP pool, each holding a few at once, and checks that no
// object is ever held by two of them. Under -race the private slots are
// off, and the test covers the shared path.
func TestStressPerPNeverTwoHolders(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(8), pool.PerP())
	stressHolders(t, p, 4*runtime.GOMAXPROCS(0), 20000, 3, true)
}
