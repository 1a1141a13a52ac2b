package pool_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zerogc/zerogc/pool"
)

// batchPoolKinds are the pools the batch tests run on: one of every kind.
var batchPoolKinds = [][]pool.Option{
	{pool.Size(64)},
	{pool.Size(64), pool.PerP()},
	{pool.Size(64), pool.PerPCache(16)},
	{pool.Size(64), pool.PerPCache(16), pool.Debug()},
}

// TestPutBatchReturnsEveryObject returns a batch larger than the per-P
// caches, with nil holes, and checks that every element is cleared and that
// the pool hands all the objects back without calling New.
func TestPutBatchReturnsEveryObject(t *testing.T) {
	for _, opts := range batchPoolKinds {
		p := pool.New(func() *obj { return new(obj) }, opts...)
		xs := make([]*obj, 40)
		want := map[*obj]bool{}
		for i := range xs {
			if i%7 == 3 {
				continue // a nil hole
			}
			xs[i] = p.Get()
			want[xs[i]] = true
		}
		news := p.Stats().New
		p.PutBatch(xs)
		for i, x := range xs {
			if x != nil {
				t.Fatalf("PutBatch left element %d set", i)
			}
		}
		if err := p.CheckLeaks(); err != nil {
			t.Fatal(err)
		}
		for range len(want) {
			o := p.Get()
			if !want[o] {
				t.Fatalf("Get returned an object that was not put back (or twice)")
			}
			delete(want, o)
		}
		if got := p.Stats().New - news; got != 0 {
			t.Fatalf("after PutBatch, Get called New %d times; want 0", got)
		}
	}
}

// TestStressPutBatchNeverTwoHolders has goroutines on every P rent objects
// one at a time and return them with PutBatch, in batches that overflow the
// per-P caches, and checks that no object is ever held by two of them.
func TestStressPutBatchNeverTwoHolders(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(256), pool.PerPCache(16))
	var wg sync.WaitGroup
	var violations atomic.Int64
	for g := range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			held := make([]*obj, 0, 40)
			for i := range 3000 {
				for range 1 + (i+g)%40 {
					o := p.Get()
					if o.held.Add(1) != 1 {
						violations.Add(1)
					}
					held = append(held, o)
				}
				if i%64 == 0 {
					runtime.Gosched()
				}
				for _, o := range held {
					if o.held.Add(-1) != 0 {
						violations.Add(1)
					}
				}
				p.PutBatch(held)
				held = held[:0]
			}
		})
	}
	wg.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d times an object was held by two goroutines", v)
	}
}

// TestGetBatchFillsWithDistinctObjects rents batches larger than the per-P
// caches from pools of every kind, warm and cold, and checks that every
// element is set, that no object is handed out twice, and that a warm pool
// serves them without calling New.
func TestGetBatchFillsWithDistinctObjects(t *testing.T) {
	for _, opts := range batchPoolKinds {
		p := pool.New(func() *obj { return new(obj) }, opts...)
		xs := make([]*obj, 40)
		p.GetBatch(xs) // cold: New for each
		seen := map[*obj]bool{}
		for i, x := range xs {
			if x == nil || seen[x] {
				t.Fatalf("cold GetBatch: element %d is nil or a duplicate", i)
			}
			seen[x] = true
		}
		p.PutBatch(xs)
		news := p.Stats().New
		p.GetBatch(xs)
		for i, x := range xs {
			if !seen[x] {
				t.Fatalf("warm GetBatch: element %d is not one of the objects put back, or a duplicate", i)
			}
			delete(seen, x)
		}
		if got := p.Stats().New - news; got != 0 {
			t.Fatalf("warm GetBatch called New %d times; want 0", got)
		}
		p.PutBatch(xs)
		if err := p.CheckLeaks(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStressGetBatchNeverTwoHolders has goroutines on every P rent objects
// with GetBatch and with Get, and return them with PutBatch and Put, in
// batches that overflow the per-P caches: no object may ever be held by two
// of them. Run it with -race.
func TestStressGetBatchNeverTwoHolders(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(256), pool.PerPCache(16))
	var wg sync.WaitGroup
	var violations atomic.Int64
	for g := range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			buf := make([]*obj, 40)
			for i := range 3000 {
				held := buf[:1+(i+g)%40]
				if i%3 == 0 {
					for j := range held {
						held[j] = p.Get()
					}
				} else {
					p.GetBatch(held)
				}
				for _, o := range held {
					if o.held.Add(1) != 1 {
						violations.Add(1)
					}
				}
				if i%64 == 0 {
					runtime.Gosched()
				}
				for _, o := range held {
					if o.held.Add(-1) != 0 {
						violations.Add(1)
					}
				}
				if i%5 == 0 {
					for j, o := range held {
						held[j] = nil
						p.Put(o)
					}
				} else {
					p.PutBatch(held)
				}
			}
		})
	}
	wg.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d times an object was held by two goroutines", v)
	}
}
