package pool_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/zerogc/zerogc/pool"
)

type payload struct{ buf [64]byte }

// BenchmarkGetPut compares a Get followed by a Put on pool.Pool, on a
// pool.Pool with PerP and on sync.Pool, from one goroutine and from two goroutines at once (b.N pairs
// in total, split between them).
func BenchmarkGetPut(b *testing.B) {
	for _, g := range []int{1, 2} {
		b.Run(name("pool", g), func(b *testing.B) {
			p := pool.New(func() *payload { return new(payload) })
			run(b, g, func() { x := p.Get(); x.buf[0]++; p.Put(x) })
		})
		b.Run(name("pool.PerP", g), func(b *testing.B) {
			p := pool.New(func() *payload { return new(payload) }, pool.PerP())
			run(b, g, func() { x := p.Get(); x.buf[0]++; p.Put(x) })
		})
		b.Run(name("sync.Pool", g), func(b *testing.B) {
			p := sync.Pool{New: func() any { return new(payload) }}
			run(b, g, func() { x := p.Get().(*payload); x.buf[0]++; p.Put(x) })
		})
	}
}

func name(kind string, g int) string {
	if g == 1 {
		return kind + "/goroutines=1"
	}
	return kind + "/goroutines=2"
}

func run(b *testing.B, goroutines int, op func()) {
	b.ReportAllocs()
	var wg sync.WaitGroup
	per := b.N / goroutines
	b.ResetTimer()
	for i := range goroutines {
		n := per
		if i == 0 {
			n += b.N % goroutines
		}
		wg.Go(func() {
			for range n {
				op()
			}
		})
	}
	wg.Wait()
}

// BenchmarkRefillAfterGC measures what a burst of 64 objects costs when two
// garbage collections have passed since the last burst: one op is 64 Gets,
// 64 Puts and two runtime.GC calls. sync.Pool drops idle objects at each
// collection (after one cycle in its victim cache), so each burst allocates
// them again; pool.Pool keeps them.
func BenchmarkRefillAfterGC(b *testing.B) {
	const burst = 64
	held := make([]*payload, burst)
	b.Run("pool", func(b *testing.B) {
		p := pool.New(func() *payload { return new(payload) }, pool.Size(burst))
		b.ReportAllocs()
		for b.Loop() {
			for i := range held {
				held[i] = p.Get()
			}
			for _, x := range held {
				p.Put(x)
			}
			runtime.GC()
			runtime.GC()
		}
	})
	b.Run("sync.Pool", func(b *testing.B) {
		p := sync.Pool{New: func() any { return new(payload) }}
		b.ReportAllocs()
		for b.Loop() {
			for i := range held {
				held[i] = p.Get().(*payload)
			}
			for _, x := range held {
				p.Put(x)
			}
			runtime.GC()
			runtime.GC()
		}
	})
}
