package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/zerogc/zerogc/lab/server"
)

func ExampleAppendValues() {
	var buf [64]byte // on the stack: no allocation
	b := server.AppendValues(buf[:0], time.Date(2018, 1, 30, 21, 4, 5, 678e6, time.UTC))
	fmt.Print(string(b))
	// Output: ["2018-01-30T21:04:05.678Z","value2"]
}

func ExampleParseGC() {
	for _, s := range []string{"on", "off", "limit=512MiB"} {
		m, _ := server.ParseGC(s)
		fmt.Println(m, m.Env())
	}
	// Output:
	// on [GOGC=100 GOMEMLIMIT=off]
	// off [GOGC=off GOMEMLIMIT=off]
	// limit=512MiB [GOGC=off GOMEMLIMIT=536870912]
}

// Serve the zero flavor on a free loopback port, ask it once, and stop it.
func ExampleServe() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, server.Zero) }()
	resp, err := http.Get("http://" + ln.Addr().String() + server.ValuesPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	stop()
	fmt.Println(<-done)
	// Output:
	// 200 OK application/json; charset=utf-8
	// <nil>
}

// Turn this program's collector off, as "zerogc serve --gc off" does.
func ExampleGCMode_Apply() {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	server.GCMode{Off: true}.Apply()
	fmt.Println(debug.SetGCPercent(100))
	// Output: -1
}

// The zero flavor's Redis route on a fasthttp server of your own. (Not run
// by go test: it needs a Redis server at 127.0.0.1:6379.)
func ExampleZeroRedisHandler() {
	ctx := context.Background()
	c, err := server.DialRedis(ctx, "127.0.0.1:6379")
	if err != nil {
		fmt.Println(err) // says whether redis-server runs there
		return
	}
	defer c.Close()
	srv := &fasthttp.Server{Handler: server.ZeroRedisHandler(c)}
	_ = srv.ListenAndServe("127.0.0.1:8080") // GET /api/values/{key}
}

// A program of its own as the lab's child server: a net/http handler,
// here with the Redis route left out. zerogc load starts it through
// Options.Program; started otherwise, RunHTTPChildIfRequested returns.
func ExampleRunHTTPChildIfRequested() {
	server.RunHTTPChildIfRequested(func(redisAddr string) (http.Handler, error) {
		return server.NetHTTPHandler(), nil
	})
	fmt.Println("not started by zerogc load")
}
