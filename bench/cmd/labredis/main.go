// Command labredis is the nethttp flavor of the lab's Redis route: the
// sample API of "zerogc load" with GET /api/values/{key} read from Redis
// by go-redis, written the way most Go services are (redis.NewClient,
// client.Get(ctx, key).Bytes(), net/http's ServeMux). It lives in the bench
// module because the library module links no third-party Redis client;
// the zero flavor's Redis route (package resp) is in lab/server.
//
// "zerogc load --route redis" and "zerogc serve --route redis --flavor
// nethttp" build it with go build from this module and start it. Started
// by zerogc load, it is the lab's child server (server.RunHTTPChildIfRequested):
// its runtime metrics are read over the lab's control channel. Started by
// hand, it serves alone:
//
//	cd bench && go run ./cmd/labredis --redis 127.0.0.1:6379 --addr 127.0.0.1:8080 --gc off
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zerogc/zerogc/lab/server"
)

func main() {
	server.RunHTTPChildIfRequested(newHandler) // returns unless started by zerogc load
	os.Exit(serveAlone(os.Args[1:]))
}

// newHandler is the nethttp flavor's API: the seed's GET /api/values and
// GET /api/values/{key} from Redis at redisAddr through go-redis.
func newHandler(redisAddr string) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle("GET "+server.ValuesPath, server.NetHTTPHandler())
	if redisAddr == "" {
		return mux, nil
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s: %v (is redis-server running there?)", redisAddr, err)
	}
	mux.HandleFunc("GET "+server.RedisPath+"{key}", func(w http.ResponseWriter, r *http.Request) {
		val, err := rdb.Get(r.Context(), r.PathValue("key")).Bytes()
		if errors.Is(err, redis.Nil) {
			http.Error(w, "no such key", http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, "redis: "+err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(val) //nolint:errcheck // the client went away
	})
	return mux, nil
}

// serveAlone serves the API on --addr until SIGINT or SIGTERM.
func serveAlone(args []string) int {
	fs := flag.NewFlagSet("labredis", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	redisAddr := fs.String("redis", "", "address of the Redis server (required)")
	gc := fs.String("gc", "on", "the garbage collector: on, off, or limit=SIZE")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	mode, err := server.ParseGC(*gc)
	if err != nil || *redisAddr == "" || fs.NArg() > 0 {
		if err == nil {
			err = errors.New("--redis HOST:PORT is required (and no arguments besides the flags)")
		}
		fmt.Fprintln(os.Stderr, "labredis:", err)
		return 2
	}
	h, err := newHandler(*redisAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "labredis:", err)
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "labredis: cannot listen on %s: %v\n", *addr, err)
		return 1
	}
	mode.Apply()
	fmt.Printf("zerogc serve: nethttp redis gc=%s listening on http://%s%s{key} (pid %d); stop with Ctrl-C or SIGTERM\n",
		mode, ln.Addr(), server.RedisPath, os.Getpid())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := server.ServeHandler(ctx, ln, h); err != nil {
		fmt.Fprintln(os.Stderr, "labredis:", err)
		return 1
	}
	fmt.Println("zerogc serve: stopped")
	return 0
}
