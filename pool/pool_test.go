package pool_test

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zerogc/zerogc/pool"
)

type obj struct {
	id   int
	held atomic.Int32 // number of current holders; must never exceed 1
}

func TestDefaultSizeIsTwiceGOMAXPROCS(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) })
	if got, want := p.Cap(), 2*runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("Cap() = %d, want 2*GOMAXPROCS = %d", got, want)
	}
	if got := pool.New(func() *obj { return new(obj) }, pool.Size(5)).Cap(); got != 5 {
		t.Fatalf("Cap() with Size(5) = %d, want 5", got)
	}
}

func TestGetReturnsWhatPutStored(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(3))
	a, b, c := p.Get(), p.Get(), p.Get()
	if p.Stats().New != 3 {
		t.Fatalf("New = %d after three Gets from an empty pool, want 3", p.Stats().New)
	}
	p.Put(a)
	p.Put(b)
	p.Put(c)
	seen := map[*obj]bool{}
	for range 3 {
		seen[p.Get()] = true
	}
	if !seen[a] || !seen[b] || !seen[c] {
		t.Fatalf("Gets after Puts did not return the pooled objects")
	}
	if got := p.Stats().New; got != 3 {
		t.Fatalf("New = %d, want 3 (the second round must be served from the pool)", got)
	}
}

func TestBoundedDropsWhenFull(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(2))
	objs := []*obj{p.Get(), p.Get(), p.Get(), p.Get()}
	for _, o := range objs {
		p.Put(o)
	}
	if got := p.Stats().Dropped; got != 2 {
		t.Fatalf("Dropped = %d, want 2 (pool of 2 given 4 objects)", got)
	}
}

func TestNotEmptiedByGC(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(4))
	o := p.Get()
	p.Put(o)
	runtime.GC()
	runtime.GC()
	if got := p.Get(); got != o {
		t.Fatalf("after two GCs Get returned a new object; the pool must survive collection")
	}
}

func TestPutNilIsNoop(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(1))
	p.Put(nil)
	if p.Get() == nil {
		t.Fatal("Get returned nil after Put(nil)")
	}
}

func TestNewWithNilFuncPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(nil) did not panic")
		}
	}()
	pool.New[obj](nil)
}

func TestDebugDetectsDoubleReturn(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Debug())
	o := p.Get()
	p.Put(o)
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("second Put of the same object did not panic in debug mode")
		}
		if !strings.Contains(r.(string), "not rented") {
			t.Fatalf("panic message %q does not say the object is not rented", r)
		}
	}()
	p.Put(o)
}

func TestDebugDetectsForeignObject(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Debug())
	defer func() {
		if recover() == nil {
			t.Fatal("Put of an object never rented did not panic in debug mode")
		}
	}()
	p.Put(new(obj))
}

func TestDebugReportsNeverReturned(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Debug())
	kept := p.Get()
	returned := p.Get()
	p.Put(returned)
	leaks := p.Outstanding()
	if len(leaks) != 1 || leaks[0].Object.(*obj) != kept {
		t.Fatalf("Outstanding() = %v, want exactly the kept object", leaks)
	}
	if !strings.Contains(leaks[0].Stack, "TestDebugReportsNeverReturned") {
		t.Fatalf("leak stack does not name the renting function:\n%s", leaks[0].Stack)
	}
	if err := p.CheckLeaks(); err == nil || !strings.Contains(err.Error(), "1 object(s)") {
		t.Fatalf("CheckLeaks() = %v, want an error about 1 object", err)
	}
	p.Put(kept)
	if err := p.CheckLeaks(); err != nil {
		t.Fatalf("CheckLeaks() after returning everything = %v", err)
	}
}

func TestNonDebugPoolReportsNothing(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) })
	p.Get()
	if p.Outstanding() != nil || p.CheckLeaks() != nil {
		t.Fatal("a pool without debug mode must not track objects")
	}
}

// TestStressNeverTwoHolders hammers a small pool from many goroutines and
// checks that no object is ever held by two of them at once.
func TestStressNeverTwoHolders(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(4), pool.Debug())
	const goroutines, iters = 8, 20000
	var wg sync.WaitGroup
	var violations atomic.Int64
	for range goroutines {
		wg.Go(func() {
			for range iters {
				o := p.Get()
				if o.held.Add(1) != 1 {
					violations.Add(1)
				}
				o.id++
				if o.held.Add(-1) != 0 {
					violations.Add(1)
				}
				p.Put(o)
			}
		})
	}
	wg.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d times an object was held by two goroutines", v)
	}
	if err := p.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
}

func TestLargePoolKeepsEverythingInItsOverflow(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(1000))
	if p.Cap() < 1000 {
		t.Fatalf("Cap() = %d, want at least 1000", p.Cap())
	}
	objs := make([]*obj, 1000)
	for i := range objs {
		objs[i] = p.Get()
	}
	for _, o := range objs {
		p.Put(o)
	}
	if d := p.Stats().Dropped; d != 0 {
		t.Fatalf("Dropped = %d, want 0: a pool of 1000 must hold 1000", d)
	}
	seen := map[*obj]bool{}
	for range 1000 {
		o := p.Get()
		if seen[o] {
			t.Fatalf("Get returned %p twice", o)
		}
		seen[o] = true
	}
	if n := p.Stats().New; n != 1000 {
		t.Fatalf("New = %d, want 1000: the second thousand must come from the pool", n)
	}
}

func TestOverflowFullDrops(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(2*runtime.GOMAXPROCS(0)+3))
	c := p.Cap()
	objs := make([]*obj, c+5)
	for i := range objs {
		objs[i] = p.Get()
	}
	for _, o := range objs {
		p.Put(o)
	}
	if d := p.Stats().Dropped; d != 5 {
		t.Fatalf("Dropped = %d, want 5 (Cap %d, %d returned)", d, c, len(objs))
	}
}

// TestStressOverflowNeverTwoHolders runs many goroutines that each hold
// several objects at once, so that the overflow queue is used, and checks
// that no object is held twice.
func TestStressOverflowNeverTwoHolders(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(64))
	stressHolders(t, p, 8, 5000, 16, false)
}

// stressHolders runs goroutines that each rent between 1 and maxHeld
// objects from p at once and then return them, rounds times, and fails t
// if an object was ever held by two of them. With yield, each goroutine
// calls runtime.Gosched every 64 rounds, so that it moves between Ps.
func stressHolders(t *testing.T, p *pool.Pool[obj], goroutines, rounds, maxHeld int, yield bool) {
	t.Helper()
	var wg sync.WaitGroup
	var violations atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			held := make([]*obj, 0, maxHeld)
			for i := range rounds {
				for range 1 + (i+g)%maxHeld {
					o := p.Get()
					if o.held.Add(1) != 1 {
						violations.Add(1)
					}
					held = append(held, o)
				}
				if yield && i%64 == 0 {
					runtime.Gosched()
				}
				for _, o := range held {
					if o.held.Add(-1) != 0 {
						violations.Add(1)
					}
					p.Put(o)
				}
				held = held[:0]
			}
		})
	}
	wg.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d times an object was held by two goroutines", v)
	}
}
