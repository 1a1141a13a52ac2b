//go:build !race

package resp_test

import (
	"context"
	"testing"

	"github.com/zerogc/zerogc/resp"
	"github.com/zerogc/zerogc/vtask"
)

// TestAllocsSteadyState: against a real redis-server (a separate process,
// so that only the client's allocations are counted), GetInto, Set, Incr,
// Ping, MGetInto and a WhenAll of 100 GetIntos allocate nothing per call
// in steady state.
func TestAllocsSteadyState(t *testing.T) {
	_, c := realClient(t, resp.Options{})
	ctx := context.Background()
	value := []byte("a value of some length, 48 bytes long, or so...")
	buf := make([]byte, 0, 128)
	elems := make([]resp.Value, 0, 4)
	must(t, c.Set(ctx, "alloc:k", value, resp.SetOptions{}))
	const n = 100
	tasks := make([]vtask.Task[resp.Value], n)
	results := make([]resp.Value, n)
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, 0, 64)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cases := []struct {
		name string
		fn   func()
	}{
		{"GetInto", func() {
			if v := must(t, c.GetInto(ctx, "alloc:k", buf)); len(v.Str) != len(value) {
				t.Fatalf("GetInto = %q", v.Str)
			}
		}},
		{"GetInto+AwaitContext", func() {
			if _, err := c.GetInto(cctx, "alloc:k", buf).AwaitContext(cctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"Set", func() { must(t, c.Set(ctx, "alloc:k", value, resp.SetOptions{})) }},
		{"Set EX", func() { must(t, c.Set(ctx, "alloc:k", value, resp.SetOptions{EX: 100e9})) }},
		{"Incr", func() { must(t, c.Incr(ctx, "alloc:n")) }},
		{"Ping", func() { must(t, c.Ping(ctx)) }},
		{"MGetInto", func() { must(t, c.MGetInto(ctx, buf, elems, "alloc:k", "alloc:missing")) }},
		{"WhenAll of 100 GetInto", func() {
			for i := range tasks {
				tasks[i] = c.GetInto(ctx, "alloc:k", bufs[i])
			}
			if _, err := vtask.WhenAll(tasks, results).Await(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		for range 50 {
			tc.fn()
		}
		if a := testing.AllocsPerRun(500, tc.fn); a != 0 {
			t.Errorf("%s: %v allocs per call, want 0", tc.name, a)
		}
	}
}
