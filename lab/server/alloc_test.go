//go:build !race

package server

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
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
