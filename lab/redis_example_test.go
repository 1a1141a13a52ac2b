package lab_test

import (
	"context"
	"fmt"
	"os"

	"github.com/zerogc/zerogc/lab"
	"github.com/zerogc/zerogc/lab/report"
	"github.com/zerogc/zerogc/lab/server"
	"github.com/zerogc/zerogc/resp/redisproc"
)

// The keys and values of the Redis route.
func ExampleRedisKey() {
	fmt.Println(lab.RedisKey(7))
	fmt.Printf("%s\n", lab.RedisValue(7, 20))
	// Output:
	// key:0007
	// key:0007 jklmnopqrst
}

func ExampleParseRoute() {
	r, err := lab.ParseRoute("redis")
	fmt.Println(r, err)
	_, err = lab.ParseRoute("db")
	fmt.Println(err)
	// Output:
	// redis <nil>
	// lab: unknown route "db": use "values" (GET /api/values) or "redis" (GET /api/values/{key}, read from Redis)
}

// Load the zero flavor's Redis route, reading from a redis-server started
// for the run. (Not run by go test: it needs redis-server on PATH.)
func ExampleRun_redis() {
	rs, err := redisproc.Start(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rs.Stop()
	r, err := lab.Run(context.Background(), lab.Config{
		Flavor: server.Zero, GC: server.GCMode{Off: true},
		Route: lab.RouteRedis, Redis: rs.Addr, Requests: 5000, Warmup: 500,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = report.WriteText(os.Stdout, r)
}
