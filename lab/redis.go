package lab

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/zerogc/zerogc/resp"
	"github.com/zerogc/zerogc/resp/redisproc"
	"github.com/zerogc/zerogc/vtask"
)

// Route names the sample API's route that a run loads.
type Route string

const (
	// RouteValues is the seed's GET /api/values.
	RouteValues Route = "values"
	// RouteRedis is GET /api/values/{key}, the value read from Redis: the
	// zero flavor with this project's resp client, the nethttp flavor
	// with go-redis.
	RouteRedis Route = "redis"
)

// ParseRoute parses a route name, "values" or "redis".
func ParseRoute(s string) (Route, error) {
	switch Route(s) {
	case RouteValues, RouteRedis:
		return Route(s), nil
	}
	return "", fmt.Errorf("lab: unknown route %q: use %q (GET /api/values) or %q (GET /api/values/{key}, read from Redis)", s, RouteValues, RouteRedis)
}

// The bounds of Config.ValueSize: room for the key in the value, and at
// most what the zero flavor's buffers hold without allocating.
const (
	minValueSize = 16
	maxValueSize = 4 << 10
)

// RedisKey returns the i-th key of the Redis route, "key:0042".
func RedisKey(i int) string {
	s := strconv.Itoa(i)
	for len(s) < 4 {
		s = "0" + s
	}
	return "key:" + s
}

// RedisValue returns the value that PopulateRedis stores at RedisKey(i):
// size bytes that begin with the key, so that a response shows which key
// it was read from.
func RedisValue(i, size int) []byte {
	v := make([]byte, 0, size)
	v = append(v, RedisKey(i)...)
	v = append(v, ' ')
	for len(v) < size {
		v = append(v, byte('a'+len(v)%26))
	}
	return v[:size]
}

// PopulateRedis stores keys keys of size bytes each (RedisKey(i) →
// RedisValue(i, size)) in the Redis server at addr, 100 SETs in flight at
// a time, and reads the last one back.
func PopulateRedis(ctx context.Context, addr string, keys, size int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := redisproc.Ping(addr, 2*time.Second); err != nil {
		return fmt.Errorf("lab: cannot reach Redis at %s: %v (start redis-server there, or let zerogc load start one: --redis start)", addr, err)
	}
	c, err := resp.Dial(ctx, addr, resp.Options{})
	if err != nil {
		return fmt.Errorf("lab: %v", err)
	}
	defer c.Close()
	const batch = 100
	tasks := make([]vtask.Task[resp.Value], 0, batch)
	results := make([]resp.Value, batch)
	for lo := 0; lo < keys; lo += batch {
		tasks = tasks[:0]
		for i := lo; i < min(lo+batch, keys); i++ {
			tasks = append(tasks, c.Set(ctx, RedisKey(i), RedisValue(i, size), resp.SetOptions{}))
		}
		if _, err := vtask.WhenAll(tasks, results[:len(tasks)]).Await(); err != nil {
			return fmt.Errorf("lab: storing the Redis route's keys at %s: %v", addr, err)
		}
	}
	v, err := c.Get(ctx, RedisKey(keys-1)).AwaitContext(ctx)
	if err != nil || string(v.Str) != string(RedisValue(keys-1, size)) {
		return fmt.Errorf("lab: Redis at %s did not keep the value just stored at %s (got %q, %v)", addr, RedisKey(keys-1), v.Str, err)
	}
	return nil
}
