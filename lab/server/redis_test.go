package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/zerogc/zerogc/resp"
	"github.com/zerogc/zerogc/resp/redistest"
)

// redisClient starts a real redis-server (skipped without one, unless
// CI=true) and returns a zero-flavor client of it with key set to value.
func redisClient(t *testing.T, key string, value []byte) *resp.Client {
	t.Helper()
	srv := redistest.Start(t)
	ctx := context.Background()
	c, err := DialRedis(ctx, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Set(ctx, key, value, resp.SetOptions{}).Await(); err != nil {
		t.Fatal(err)
	}
	return c
}

// get serves GET path with h on ctx, attached to no server (RequestCtx's
// Init gives it the fake server that its Done method needs).
func get(h fasthttp.RequestHandler, ctx *fasthttp.RequestCtx, path string) {
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI(path)
	ctx.Init(&req, nil, nil)
	ctx.Response.Reset()
	h(ctx)
}

func TestZeroRedisHandlerReturnsTheValue(t *testing.T) {
	value := []byte("the value of k1, " + strings.Repeat("x", 80))
	h := ZeroRedisHandler(redisClient(t, "k1", value))
	var ctx fasthttp.RequestCtx
	get(h, &ctx, RedisPath+"k1")
	if sc := ctx.Response.StatusCode(); sc != 200 || string(ctx.Response.Body()) != string(value) {
		t.Fatalf("GET %sk1: %d %q, want 200 %q", RedisPath, sc, ctx.Response.Body(), value)
	}
	if ct := string(ctx.Response.Header.ContentType()); ct != valueContentType {
		t.Fatalf("Content-Type %q, want %q", ct, valueContentType)
	}
	get(h, &ctx, RedisPath+"missing")
	if sc := ctx.Response.StatusCode(); sc != 404 {
		t.Fatalf("a missing key: status %d, want 404", sc)
	}
	get(h, &ctx, ValuesPath) // the seed's route is still served
	if sc := ctx.Response.StatusCode(); sc != 200 || !bodyRE.Match(ctx.Response.Body()) {
		t.Fatalf("GET %s: %d %q", ValuesPath, sc, ctx.Response.Body())
	}
	// A value larger than the handler's buffers is served whole.
	big := []byte(strings.Repeat("b", 3*valueBufSize))
	c := redisClient(t, "big", big)
	get(ZeroRedisHandler(c), &ctx, RedisPath+"big")
	if string(ctx.Response.Body()) != string(big) {
		t.Fatalf("a %d-byte value came back as %d bytes", len(big), len(ctx.Response.Body()))
	}
}

func TestZeroRedisHandlerRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	c, err := DialRedis(context.Background(), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv.Kill()
	var ctx fasthttp.RequestCtx
	get(ZeroRedisHandler(c), &ctx, RedisPath+"k")
	if sc := ctx.Response.StatusCode(); sc != fasthttp.StatusBadGateway || !strings.HasPrefix(string(ctx.Response.Body()), "redis: ") {
		t.Fatalf("Redis killed: %d %q, want 502 with the Redis error", sc, ctx.Response.Body())
	}
}

func TestServeRedis(t *testing.T) {
	value := []byte("served over HTTP")
	srv := redistest.Start(t)
	c, err := DialRedis(context.Background(), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(context.Background(), "k", value, resp.SetOptions{}).Await(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeRedis(ctx, ln, Zero, srv.Addr) }()
	r, err := http.Get("http://" + ln.Addr().String() + RedisPath + "k")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || string(body) != string(value) {
		t.Fatalf("GET: %s %q", r.Status, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeRedis did not return after cancel")
	}
}

func TestRedisRouteBadInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	err = ServeRedis(context.Background(), ln, Zero, closed)
	if err == nil || !strings.Contains(err.Error(), "cannot reach Redis at "+closed) {
		t.Fatalf("unreachable Redis: err = %v", err)
	}
	err = ServeRedis(context.Background(), ln, NetHTTP, closed)
	if err == nil || !strings.Contains(err.Error(), "bench/cmd/labredis") {
		t.Fatalf("nethttp with Redis in this module: err = %v, want a pointer to bench/cmd/labredis", err)
	}
	_, err = Start(Options{Flavor: Zero, Redis: closed})
	if err == nil || !strings.Contains(err.Error(), "cannot reach Redis") {
		t.Fatalf("child with an unreachable Redis: err = %v", err)
	}
}

// TestZeroRedisHandlerConcurrent: many clients at once on one server and
// one pipelined Redis connection; every response carries its own key's
// value, so a buffer shared between two requests in flight would show.
// Run it with -race.
func TestZeroRedisHandlerConcurrent(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c, err := DialRedis(ctx, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	const keys = 50
	value := func(i int) string { return fmt.Sprintf("value %d ", i) + strings.Repeat(string(rune('a'+i%26)), 60+i) }
	for i := range keys {
		if _, err := c.Set(ctx, fmt.Sprint("k", i), []byte(value(i)), resp.SetOptions{}).Await(); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ServeRedis(sctx, ln, Zero, srv.Addr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + ln.Addr().String() + RedisPath
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for n := range 150 {
				i := (g*7 + n*13) % keys
				r, err := client.Get(base + fmt.Sprint("k", i))
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if r.StatusCode != 200 || string(b) != value(i) {
					errs <- fmt.Errorf("k%d: %d %q, want %q", i, r.StatusCode, b, value(i))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
