//go:build !race

package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/zerogc/zerogc/resp"
)

func TestZeroHandlerAllocatesNothing(t *testing.T) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI(ValuesPath)
	serve := func() {
		ctx.Response.Reset()
		ZeroHandler(&ctx)
	}
	serve()
	if !bodyRE.Match(ctx.Response.Body()) {
		t.Fatalf("body %q", ctx.Response.Body())
	}
	if n := testing.AllocsPerRun(1000, serve); n != 0 {
		t.Fatalf("ZeroHandler allocates %v times per request, want 0", n)
	}
}

func TestAppendValuesAllocatesNothing(t *testing.T) {
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(1000, func() { buf = AppendValues(buf[:0], time.Now()) }); n != 0 {
		t.Fatalf("AppendValues allocates %v times, want 0", n)
	}
}

func TestControlMetricsAllocatesNothing(t *testing.T) {
	r := newMetricsReader()
	r.read()
	if n := testing.AllocsPerRun(1000, func() { r.read() }); n != 0 {
		t.Fatalf("metrics read allocates %v times, want 0", n)
	}
}

// The control channel must not disturb what it measures: answering a
// metrics request allocates nothing in the child.
func TestControlChannelAllocatesNothingInChild(t *testing.T) {
	c, err := Start(Options{Flavor: Zero, GC: GCMode{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	m0, err := c.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for range n {
		if _, err := c.Metrics(); err != nil {
			t.Fatal(err)
		}
	}
	m1, err := c.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	// The allocation counters advance per span refill, and the child's
	// background (fasthttp's once-a-second date refresh) may add a few
	// hundred bytes; 2000 samples that allocated would add tens of kB.
	if d := m1.AllocBytes - m0.AllocBytes; d > 2048 {
		t.Fatalf("%d metric reads made the child allocate %d bytes", n, d)
	}
}

// TestZeroRedisHandlerAllocatesNothing: against a real redis-server, the
// zero flavor's GET /api/values/{key} allocates nothing per request once
// its buffers exist, for a short key and for one longer than the 32 bytes
// that a non-escaping string conversion may keep on the stack.
func TestZeroRedisHandlerAllocatesNothing(t *testing.T) {
	value := []byte(strings.Repeat("v", 100))
	long := "key:" + strings.Repeat("L", 60)
	c := redisClient(t, "key:0001", value)
	if _, err := c.Set(context.Background(), long, value, resp.SetOptions{}).Await(); err != nil {
		t.Fatal(err)
	}
	h := ZeroRedisHandler(c)
	for _, key := range []string{"key:0001", long} {
		var ctx fasthttp.RequestCtx
		get(h, &ctx, RedisPath+key)
		serve := func() {
			ctx.Response.Reset()
			h(&ctx)
		}
		for range 100 {
			serve()
		}
		if string(ctx.Response.Body()) != string(value) {
			t.Fatalf("%s: body %q", key, ctx.Response.Body())
		}
		if n := testing.AllocsPerRun(1000, serve); n != 0 {
			t.Fatalf("the zero Redis handler allocates %v times per request for key %q, want 0", n, key)
		}
	}
}
