package arena

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// The benchmarks build a 1000-node linked list per operation, with new(T)
// (the baseline) and with an arena that is Reset after each list, once on a
// quiet heap and once under GC pressure: a 32 MiB live pointer graph that the
// collector must mark, with GOGC=25 so it runs often.
//
//	go test -run=^$ -bench=. -benchtime=200x ./arena

const listLen = 1000

var sink *node

func buildHeap() *node {
	var head *node
	for i := range listLen {
		head = &node{val: i, next: head}
	}
	return head
}

func buildArena(a *Arena[node]) *node {
	var head *node
	for i := range listLen {
		p := a.New()
		p.val, p.next = i, head
		head = p
	}
	return head
}

// pressure keeps a live pointer graph and a low GOGC for the duration of
// the benchmark.
func pressure(b *testing.B) {
	live := make([]*node, 0, 1<<20)
	for range cap(live) {
		live = append(live, &node{})
	}
	old := debug.SetGCPercent(25)
	b.Cleanup(func() {
		debug.SetGCPercent(old)
		runtime.KeepAlive(live)
	})
	runtime.GC()
}

func benchBoth(b *testing.B) {
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = buildHeap()
		}
	})
	b.Run("arena", func(b *testing.B) {
		a := MustNew[node](Options{})
		b.ReportAllocs()
		for b.Loop() {
			sink = buildArena(a)
			a.Reset()
		}
		sink = nil
	})
}

func BenchmarkList(b *testing.B) {
	b.Run("quiet", benchBoth)
	b.Run("gcpressure", func(b *testing.B) {
		pressure(b)
		benchBoth(b)
	})
}

func BenchmarkNewOne(b *testing.B) {
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			sink = &node{}
		}
	})
	b.Run("arena", func(b *testing.B) {
		a := MustNew[node](Options{})
		for i := 0; b.Loop(); i++ {
			sink = a.New()
			if i&4095 == 4095 {
				a.Reset()
			}
		}
		sink = nil
	})
}
