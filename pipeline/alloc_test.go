//go:build !race

package pipeline_test

import (
	"context"
	"testing"

	"github.com/zerogc/zerogc/pipeline"
	"github.com/zerogc/zerogc/vtask"
)

var payload = []byte("steady-state")

// TestAllocsPerCall: a call with a caller-owned buffer allocates nothing
// in steady state, awaited alone or in a WhenAll.
func TestAllocsPerCall(t *testing.T) {
	for _, tagged := range []bool{false, true} {
		s := startLineServer(t, nil)
		c := dialLine(t, s, pipeline.Options{Tagged: tagged})
		buf := make([]byte, 0, 64)
		ctx := context.Background()
		one := func() {
			v, err := call(ctx, c, payload, buf).Await()
			if err != nil || string(v) != string(payload) {
				t.Fatalf("%q, %v", v, err)
			}
		}
		for range 100 {
			one()
		}
		if a := testing.AllocsPerRun(1000, one); a != 0 {
			t.Errorf("tagged=%v: %v allocs per call, want 0", tagged, a)
		}
		tctx, cancel := context.WithCancel(ctx)
		withCtx := func() {
			if _, err := call(tctx, c, payload, buf).AwaitContext(tctx); err != nil {
				t.Fatal(err)
			}
		}
		for range 100 {
			withCtx()
		}
		if a := testing.AllocsPerRun(1000, withCtx); a != 0 {
			t.Errorf("tagged=%v: %v allocs per call with AwaitContext, want 0", tagged, a)
		}
		cancel()
		const n = 16
		tasks := make([]vtask.Task[[]byte], n)
		bufs := make([][]byte, n)
		results := make([][]byte, n)
		for i := range bufs {
			bufs[i] = make([]byte, 0, 64)
		}
		batch := func() {
			for i := range tasks {
				tasks[i] = call(ctx, c, payload, bufs[i])
			}
			if _, err := vtask.WhenAll(tasks, results).Await(); err != nil {
				t.Fatal(err)
			}
		}
		for range 50 {
			batch()
		}
		if a := testing.AllocsPerRun(200, batch); a != 0 {
			t.Errorf("tagged=%v: %v allocs per WhenAll of %d calls, want 0", tagged, a, n)
		}
	}
}
