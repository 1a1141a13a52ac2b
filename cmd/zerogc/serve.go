package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/zerogc/zerogc/lab"
	"github.com/zerogc/zerogc/lab/server"
)

func init() {
	register(&command{name: "serve", summary: "run the lab's sample API alone, for wrk, hey, k6 or your own load tool", run: runServe})
}

// runServe serves the sample API in this process until SIGINT or SIGTERM.
func runServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "[--flavor zero|nethttp] [--gc on|off|limit=SIZE] [--addr HOST:PORT] [--route values|redis [--redis start|HOST:PORT]]", stderr)
	flavor := fs.String("flavor", string(server.Zero), "the sample API's flavor: zero (fasthttp, no allocation per request) or nethttp (net/http, idiomatic)")
	gc := fs.String("gc", "on", "the garbage collector: on, off, or limit=SIZE (GOMEMLIMIT=SIZE with GOGC=off)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on; loopback unless you give another host (port 0: any free port)")
	route := fs.String("route", string(lab.RouteValues), "values (GET /api/values) or redis (also GET /api/values/{key}, read from Redis; keys key:0000..key:0999 of 100 B are stored first)")
	redisSpec := fs.String("redis", "start", redisFlagHelp)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := lab.ParseRoute(*route)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	redisSet := false
	fs.Visit(func(fl *flag.Flag) { redisSet = redisSet || fl.Name == "redis" })
	if redisSet && r != lab.RouteRedis {
		return fmt.Errorf("%w: --redis applies only to --route redis", errUsage)
	}
	f, err := server.ParseFlavor(*flavor)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	mode, err := server.ParseGC(*gc)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("%w: --addr %q: %v (give host:port, e.g. 127.0.0.1:8080)", errUsage, *addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(stderr, "zerogc serve: warning: %s is not a loopback address: other machines can reach the sample API\n", *addr)
	}
	var redisAddr string
	if r == lab.RouteRedis {
		var stopRedis func()
		if redisAddr, stopRedis, err = startRedis(*redisSpec, "serve", stderr); err != nil {
			return err
		}
		defer stopRedis()
		const keys, size = 1000, 100
		if err := lab.PopulateRedis(ctx, redisAddr, keys, size); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "zerogc serve: stored %s..%s (%d B each) in Redis at %s\n", lab.RedisKey(0), lab.RedisKey(keys-1), size, redisAddr)
		if f == server.NetHTTP {
			return serveLabRedis(ctx, *addr, redisAddr, mode, stdout, stderr)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v (choose another --addr; port 0 picks a free one)", *addr, err)
	}
	mode.Apply()
	url, name := "http://"+ln.Addr().String()+server.ValuesPath, string(f)
	if r == lab.RouteRedis {
		url, name = "http://"+ln.Addr().String()+server.RedisPath+"{key}", name+" redis"
	}
	fmt.Fprintf(stdout, "zerogc serve: %s gc=%s listening on %s (pid %d); stop with Ctrl-C or SIGTERM\n", name, mode, url, os.Getpid())
	if err := server.ServeRedis(ctx, ln, f, redisAddr); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintln(stdout, "zerogc serve: stopped")
	return nil
}

// serveLabRedis serves the nethttp flavor of the Redis route: it builds
// the bench module's go-redis program and runs it until ctx is done, then
// stops it with SIGTERM. The program prints the listening line itself, with
// its own pid: that is the server's process.
func serveLabRedis(ctx context.Context, addr, redisAddr string, mode server.GCMode, stdout, stderr io.Writer) error {
	prog, err := buildLabRedis()
	if err != nil {
		return err
	}
	cmd := exec.Command(prog, "--addr", addr, "--redis", redisAddr, "--gc", mode.String())
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the nethttp flavor's Redis program: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil && ctx.Err() != nil {
			return nil // Ctrl-C on the terminal reached it too
		}
		return fmt.Errorf("the nethttp flavor's Redis program ended: %v", err)
	case <-ctx.Done():
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("the nethttp flavor's Redis program: %v", err)
		}
		return nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("the nethttp flavor's Redis program did not stop within 10s of SIGTERM and was killed")
	}
}
