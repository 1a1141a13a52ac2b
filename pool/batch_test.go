package pool_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zerogc/zerogc/pool"
)

// TestStressBatchRingNeverLosesOrDuplicates has producers and consumers
// move batches of objects through a small batch queue at once (it runs
// under -race too, unlike the per-P caches that use it): at the end every
// object must have been taken exactly as often as it was put.
func TestStressBatchRingNeverLosesOrDuplicates(t *testing.T) {
	r := pool.NewBatchRing[obj](4)
	const goroutines, rounds = 4, 3000
	objs := make([]obj, goroutines*pool.BatchSize)
	var held [goroutines * pool.BatchSize]atomic.Int32
	index := func(o *obj) int { return int(o.id) }
	for i := range objs {
		objs[i].id = i
		held[i].Store(1) // held by the goroutine that starts with it
	}
	var wg sync.WaitGroup
	var bad atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			// Each goroutine starts with its own batch of objects
			// and trades batches through r.
			mine := make([]*obj, 0, pool.BatchSize)
			for i := range pool.BatchSize {
				mine = append(mine, &objs[g*pool.BatchSize+i])
			}
			buf := make([]*obj, pool.BatchSize)
			for i := range rounds {
				n := 1 + (i+g)%pool.BatchSize
				if n > len(mine) {
					n = len(mine)
				}
				if n > 0 {
					out := mine[len(mine)-n:]
					for _, o := range out {
						if held[index(o)].Add(-1) != 0 {
							bad.Add(1)
						}
					}
					if r.Put(out) {
						mine = mine[:len(mine)-n]
					} else {
						for _, o := range out {
							held[index(o)].Add(1)
						}
					}
				}
				if i%3 == 0 {
					runtime.Gosched()
				}
				if len(mine) == 0 { // room for a whole batch
					if k := r.Get(buf); k > 0 {
						for _, o := range buf[:k] {
							if held[index(o)].Add(1) != 1 {
								bad.Add(1) // taken while someone holds it
							}
							mine = append(mine, o)
						}
						clear(buf)
					}
				}
			}
		})
	}
	wg.Wait()
	// Drain: every object not held by a goroutine at the end (those gave
	// theirs up above) is in r, exactly once; afterwards each is held once.
	buf := make([]*obj, pool.BatchSize)
	for k := r.Get(buf); k > 0; k = r.Get(buf) {
		for _, o := range buf[:k] {
			held[index(o)].Add(1)
		}
	}
	if b := bad.Load(); b != 0 {
		t.Fatalf("%d times an object was put twice or taken while held", b)
	}
	for i := range held {
		if got := held[i].Load(); got != 1 {
			t.Fatalf("object %d: balance %d after draining, want 1 (lost or duplicated)", i, got)
		}
	}
}

func TestPerPCacheCap(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(2*runtime.GOMAXPROCS(0)+64), pool.PerPCache(16))
	want := 2*runtime.GOMAXPROCS(0) + 64
	if pool.PerPActive {
		want = 2*runtime.GOMAXPROCS(0) + 64 + 16*runtime.GOMAXPROCS(0) // the batches: 64 in 8 cells of 8
	}
	if got := p.Cap(); got != want {
		t.Fatalf("Cap() = %d, want %d", got, want)
	}
}

// TestStressPerPCacheNeverTwoHolders runs goroutines that rent up to 40
// objects at once from a pool with per-P caches of 16 and batches, moving
// between Ps, and checks that no object is ever held twice.
func TestStressPerPCacheNeverTwoHolders(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(256), pool.PerPCache(16))
	stressHolders(t, p, 4*runtime.GOMAXPROCS(0), 4000, 40, true)
}

// TestPerPCacheRentHereReturnThere rents batches of objects on one
// goroutine and returns them on another, as a fan-out does, and checks
// that the pool makes no more objects than the round holds plus what the
// caches of the other Ps can keep: an object in a P's cache is found only
// on that P (see PerP), so when the renting goroutine moves to another P
// it may make up to a cache's worth anew, once, but a pool that lost
// objects on the way back would make more with every round.
func TestPerPCacheRentHereReturnThere(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.Size(4096), pool.PerPCache(16))
	batch := make([]*obj, 1000)
	back := make(chan []*obj)
	done := make(chan struct{})
	go func() {
		for b := range back {
			for _, o := range b {
				p.Put(o)
			}
			done <- struct{}{}
		}
	}()
	defer close(back)
	round := func() {
		for i := range batch {
			batch[i] = p.Get()
		}
		back <- batch
		<-done
	}
	const rounds = 200
	for range rounds {
		round()
	}
	// When a Get makes an object, its P's cache, the batches and the
	// shared slots are empty: every other object is held by the round
	// (fewer than len(batch)) or in another P's cache.
	bound := uint64(len(batch) + cacheCap()*(runtime.GOMAXPROCS(0)-1))
	if n := p.Stats().New; n > bound {
		t.Fatalf("%d objects made in %d rounds of %d, want at most %d (a round's worth and the other Ps' caches)", n, rounds, len(batch), bound)
	}
}

// cacheCap is how many objects one P's cache holds: 16 with
// PerPCache(16), or 0 where the caches are off (the race detector).
func cacheCap() int {
	if !pool.PerPActive {
		return 0
	}
	return 16
}
