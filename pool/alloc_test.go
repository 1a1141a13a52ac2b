//go:build !race

package pool_test

import (
	"testing"

	"github.com/zerogc/zerogc/pool"
)

func TestGetPutAllocatesNothingInSteadyState(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) })
	p.Put(p.Get())
	if n := testing.AllocsPerRun(1000, func() { p.Put(p.Get()) }); n != 0 {
		t.Fatalf("Get+Put allocated %v times per run, want 0", n)
	}
}

func TestPerPGetPutAllocatesNothingInSteadyState(t *testing.T) {
	p := pool.New(func() *obj { return new(obj) }, pool.PerP())
	p.Put(p.Get())
	if n := testing.AllocsPerRun(1000, func() { p.Put(p.Get()) }); n != 0 {
		t.Fatalf("Get+Put on a PerP pool allocated %v times per run, want 0", n)
	}
}
