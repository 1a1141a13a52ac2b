package lab

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zerogc/zerogc/lab/report"
	"github.com/zerogc/zerogc/lab/server"
	"github.com/zerogc/zerogc/resp"
	"github.com/zerogc/zerogc/resp/redistest"
)

func TestRedisKeysAndValues(t *testing.T) {
	if k := RedisKey(42); k != "key:0042" {
		t.Fatalf("RedisKey(42) = %q", k)
	}
	if k := RedisKey(12345); k != "key:12345" {
		t.Fatalf("RedisKey(12345) = %q", k)
	}
	v := RedisValue(7, 100)
	if len(v) != 100 || !strings.HasPrefix(string(v), "key:0007 ") {
		t.Fatalf("RedisValue(7, 100) = %q (%d bytes)", v, len(v))
	}
	for _, bad := range []string{"", "Redis", "values/redis"} {
		if _, err := ParseRoute(bad); err == nil {
			t.Errorf("ParseRoute(%q) accepted", bad)
		}
	}
}

func TestPopulateRedis(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := PopulateRedis(ctx, srv.Addr, 250, 64); err != nil {
		t.Fatal(err)
	}
	c, err := resp.Dial(ctx, srv.Addr, resp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, i := range []int{0, 99, 100, 249} {
		v, err := c.Get(ctx, RedisKey(i)).Await()
		if err != nil || string(v.Str) != string(RedisValue(i, 64)) {
			t.Fatalf("%s = %q, %v; want %q", RedisKey(i), v.Str, err, RedisValue(i, 64))
		}
	}
	if v, _ := c.Get(ctx, RedisKey(250)).Await(); !v.IsNull() {
		t.Fatalf("%s exists: %q", RedisKey(250), v.Str)
	}
	srv.Kill()
	err = PopulateRedis(ctx, srv.Addr, 10, 64)
	if err == nil || !strings.Contains(err.Error(), "cannot reach Redis at "+srv.Addr) {
		t.Fatalf("a dead Redis: %v", err)
	}
}

// TestRunRedisRoute: a short run of the zero flavor on the Redis route
// reads the stored keys: every response is a 200.
func TestRunRedisRoute(t *testing.T) {
	r := runRedisRoute(t)
	if r.OK != 2000 || r.ErrorCount != 0 || r.Name != "zero redis gc=off" || r.Route != "redis" {
		t.Fatalf("%s (route %q): %d ok, %d errors (%v)", r.Name, r.Route, r.OK, r.ErrorCount, r.Errors)
	}
}

func runRedisRoute(t *testing.T) *report.Report {
	t.Helper()
	srv := redistest.Start(t)
	r, err := Run(context.Background(), Config{Flavor: server.Zero, GC: server.GCMode{Off: true}, Route: RouteRedis,
		Redis: srv.Addr, Keys: 50, Users: 4, Requests: 2000, Warmup: 500, SampleEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRedisRouteBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Flavor: server.Zero, Route: RouteRedis, Requests: 1}, "needs the address of a Redis server"},
		{Config{URL: "http://127.0.0.1:1/", PID: 1, Route: RouteRedis, Requests: 1}, "does not apply to a server of your own"},
		{Config{Flavor: server.Zero, Route: RouteRedis, Redis: "127.0.0.1:1", ValueSize: 8, Requests: 1}, "value size must be"},
		{Config{Flavor: server.Zero, Route: RouteRedis, Redis: "127.0.0.1:1", Keys: -1, Requests: 1}, "keys must be at least 1"},
		{Config{Flavor: server.Zero, Route: "db", Requests: 1}, "unknown route"},
		{Config{Flavor: server.Zero, Route: RouteRedis, Redis: "127.0.0.1:1", Requests: 1}, "cannot reach Redis at 127.0.0.1:1"},
	} {
		_, err := Run(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
